//! Converting customer rows to domain types and back.

use sea_orm::Set;

use crate::entity::customers;
use crate::model::{Customer, Features, Profile, Resources};

pub(crate) fn row_limits(row: &customers::Model) -> Resources {
    Resources {
        diskspace: row.diskspace,
        traffic: row.traffic,
        mysqls: row.mysqls,
        emails: row.emails,
        email_accounts: row.email_accounts,
        email_forwarders: row.email_forwarders,
        email_quota: row.email_quota,
        ftps: row.ftps,
        subdomains: row.subdomains,
    }
}

pub(crate) fn row_to_customer(row: customers::Model, admin_loginname: String) -> Customer {
    let limits = row_limits(&row);
    Customer {
        id: row.id,
        admin_id: row.admin_id,
        admin_loginname,
        profile: Profile {
            name: row.name,
            firstname: row.firstname,
            gender: row.gender,
            company: row.company,
            street: row.street,
            zipcode: row.zipcode,
            city: row.city,
            state: row.state,
            country: row.country,
            phone: row.phone,
            fax: row.fax,
            email: row.email,
            customernumber: row.customernumber,
            def_language: row.def_language,
        },
        limits,
        used: Resources {
            diskspace: row.diskspace_used,
            traffic: row.traffic_used,
            mysqls: row.mysqls_used,
            emails: row.emails_used,
            email_accounts: row.email_accounts_used,
            email_forwarders: row.email_forwarders_used,
            email_quota: row.email_quota_used,
            ftps: row.ftps_used,
            subdomains: row.subdomains_used,
        },
        documentroot: row.documentroot,
        standardsubdomain: row.standardsubdomain,
        guid: row.guid,
        features: Features {
            phpenabled: row.phpenabled,
            perlenabled: row.perlenabled,
            dnsenabled: row.dnsenabled,
            logviewenabled: row.logviewenabled,
            pop3: row.pop3,
            imap: row.imap,
            api_allowed: row.api_allowed,
            shell_allowed: row.shell_allowed,
            gui_access: row.gui_access,
        },
        deactivated: row.deactivated,
        lastlogin_succ: row.lastlogin_succ,
        lastlogin_fail: row.lastlogin_fail,
        loginfail_count: row.loginfail_count,
        theme: row.theme,
        custom_notes: row.custom_notes,
        custom_notes_show: row.custom_notes_show,
        allowed_phpconfigs: row.allowed_phpconfigs,
        allowed_mysqlserver: row.allowed_mysqlserver,
        uuid: row.uuid,
        external_id: row.external_id,
        description: row.description,
        created_at: row.created_at,
        created_via: row.created_via,
        loginname: row.loginname,
    }
}

pub(crate) fn set_profile(am: &mut customers::ActiveModel, p: &Profile) {
    am.name = Set(p.name.clone());
    am.firstname = Set(p.firstname.clone());
    am.gender = Set(p.gender);
    am.company = Set(p.company.clone());
    am.street = Set(p.street.clone());
    am.zipcode = Set(p.zipcode.clone());
    am.city = Set(p.city.clone());
    am.state = Set(p.state.clone());
    am.country = Set(p.country.clone());
    am.phone = Set(p.phone.clone());
    am.fax = Set(p.fax.clone());
    am.email = Set(p.email.clone());
    am.customernumber = Set(p.customernumber.clone());
    am.def_language = Set(p.def_language.clone());
}

pub(crate) fn set_limits(am: &mut customers::ActiveModel, l: &Resources) {
    am.diskspace = Set(l.diskspace);
    am.traffic = Set(l.traffic);
    am.mysqls = Set(l.mysqls);
    am.emails = Set(l.emails);
    am.email_accounts = Set(l.email_accounts);
    am.email_forwarders = Set(l.email_forwarders);
    am.email_quota = Set(l.email_quota);
    am.ftps = Set(l.ftps);
    am.subdomains = Set(l.subdomains);
}

pub(crate) fn set_features(am: &mut customers::ActiveModel, f: &Features) {
    am.phpenabled = Set(f.phpenabled);
    am.perlenabled = Set(f.perlenabled);
    am.dnsenabled = Set(f.dnsenabled);
    am.logviewenabled = Set(f.logviewenabled);
    am.pop3 = Set(f.pop3);
    am.imap = Set(f.imap);
    am.api_allowed = Set(f.api_allowed);
    am.shell_allowed = Set(f.shell_allowed);
    am.gui_access = Set(f.gui_access);
}
