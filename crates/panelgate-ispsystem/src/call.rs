//! Decoding a request into a typed call: pure, no I/O (protocols/ispsystem.md §1.3, §2, §4).

use panelgate_http::Params;

/// The ids of a group action: `elid` split on `", "` only (ids may hold spaces and dots).
pub fn elids(elid: Option<&str>) -> Vec<String> {
    elid.unwrap_or("")
        .split(", ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Is `sok` set (any non-empty value, or the UI's `clicked_button=ok`)?
pub fn submitted(p: &Params) -> bool {
    p.get("sok").is_some_and(|v| !v.is_empty()) || p.get("clicked_button") == Some("ok")
}

/// Is a check box set (`on`, as forms send it, or `yes`/`1`/`true`)?
pub fn on(v: &str) -> bool {
    matches!(v, "on" | "yes" | "1" | "true")
}

/// The fields of a client account form (`account.edit`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountFields {
    pub name: Option<String>,
    pub email: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub country: Option<String>,
    pub state: Option<String>,
    pub city: Option<String>,
    pub phone: Option<String>,
    pub note: Option<String>,
}

impl AccountFields {
    fn from(p: &Params) -> AccountFields {
        let get = |k: &str| p.get(k).map(str::to_owned);
        AccountFields {
            name: get("name"),
            email: get("email"),
            username: get("username"),
            password: get("passwd").or_else(|| get("password")),
            country: get("country"),
            state: get("state"),
            city: get("city"),
            phone: get("phone"),
            note: get("note"),
        }
    }
}

/// A group action on accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupOp {
    Delete,
    Suspend,
    Resume,
}

/// One served function, with its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// `func=auth` with a password.
    Auth { username: String, password: String },
    /// `func=auth` with a one-time key.
    AuthKey {
        username: Option<String>,
        key: String,
    },
    /// `func=session.newkey`.
    SessionNewKey { username: String, key: String },
    /// `func=session.delete` (logout; `elid` or the caller's own session).
    SessionDelete { elid: Option<String> },
    /// `func=account`: the client accounts the caller sees.
    AccountList,
    /// `func=account.edit`: the form (view), create (`sok`), change (`sok` + `elid`).
    AccountEdit {
        elid: Option<String>,
        submit: bool,
        fields: AccountFields,
    },
    /// `func=account.delete|suspend|resume` on every id of `elid`.
    AccountGroup { op: GroupOp, elids: Vec<String> },
    /// `func=user`: the login users (one per account here).
    UserList,
    /// `func=user.edit`: a login user is its account (`name` is the login, `realname` the
    /// contact name), so this is `account.edit` with the user form's field names.
    UserEdit {
        elid: Option<String>,
        submit: bool,
        fields: AccountFields,
    },
    /// `func=billmgr.backup`: the archives the caller sees.
    BackupList,
    /// `func=billmgr.backup.create`: the form, or (`sok`) a new server backup task.
    BackupCreate { submit: bool, description: String },
    /// `func=billmgr.backup.settings`: the server-wide settings; `sok` changes them,
    /// `dropsettings=on` resets them.
    BackupSettings {
        submit: bool,
        drop: bool,
        backup_count: Option<String>,
        processes: Option<String>,
        compress: Option<String>,
        low_priority: Option<String>,
    },
    /// `func=billmgr.backup.setup`: where server backups go (`storage=local|ftp`, FTP fields).
    BackupSetup {
        submit: bool,
        storage: Option<String>,
        ftp: [Option<String>; 5],
    },
    /// `func=backups.upload`: the form, or (`sok`) import the uploaded archive (multipart
    /// file part), or the archive at `url`.
    BackupUpload {
        submit: bool,
        url: Option<String>,
        description: String,
    },
    /// `func=backupdata`: the kinds of data in the archives the caller sees.
    DataTypes,
    /// `func=backupdata.names&elid=TYPE`: the items of one kind (name, owner).
    DataNames { kind: Option<String> },
    /// `func=backupdata.restore&plid=TYPE&elid=NAME`: the form (versions), or (`sok`) restore
    /// the item from `version` (an archive id; the newest holding it by default).
    DataRestore {
        kind: Option<String>,
        name: Option<String>,
        submit: bool,
        version: Option<String>,
        behavior: Option<String>,
    },
    /// `func=backupdata.files&elid=LOGIN`: the files of a customer's home in the newest
    /// archive holding them (or `version`).
    DataFiles {
        login: Option<String>,
        version: Option<String>,
    },
    /// `func=backupdata.files.restore&plid=LOGIN&elid=PATHS`: the form, or (`sok`) restore
    /// those files from `version`.
    DataFilesRestore {
        login: Option<String>,
        paths: Vec<String>,
        submit: bool,
        version: Option<String>,
        behavior: Option<String>,
    },
    /// `func=backups.download&elid=ID`: the archive's bytes.
    BackupDownload { elid: Option<String> },
    /// `func=backups.delete&elid=IDS`: forget archives (`clean_storages=on`: and their files).
    BackupDelete {
        elids: Vec<String>,
        clean_storages: bool,
    },
    /// `func=backups.restore&elid=ID`: the form, or (`sok`) restore with `behavior`.
    BackupRestore {
        elid: Option<String>,
        submit: bool,
        behavior: Option<String>,
    },
    /// A function panelgate does not serve (answered `missed`).
    Unknown(String),
}

impl Call {
    /// Every served function name, as the README and tests list them.
    pub const FUNCTIONS: &'static [&'static str] = &[
        "auth",
        "session.newkey",
        "session.delete",
        "account",
        "account.edit",
        "account.delete",
        "account.suspend",
        "account.resume",
        "user",
        "user.edit",
        "billmgr.backup",
        "billmgr.backup.create",
        "billmgr.backup.settings",
        "billmgr.backup.setup",
        "backups.upload",
        "backupdata",
        "backupdata.names",
        "backupdata.restore",
        "backupdata.files",
        "backupdata.files.restore",
        "backups.download",
        "backups.delete",
        "backups.restore",
    ];

    /// The call of a request's parameters.
    pub fn decode(p: &Params) -> Call {
        let func = p.get("func").unwrap_or("");
        let get = |k: &str| p.get(k).unwrap_or("").to_owned();
        let elid = p.get("elid").filter(|e| !e.is_empty()).map(str::to_owned);
        match func {
            "auth" => match p.get("key").filter(|k| !k.is_empty()) {
                Some(key) => Call::AuthKey {
                    username: p
                        .get("username")
                        .filter(|u| !u.is_empty())
                        .map(str::to_owned),
                    key: key.to_owned(),
                },
                None => Call::Auth {
                    username: get("username"),
                    password: get("password"),
                },
            },
            "session.newkey" => Call::SessionNewKey {
                username: get("username"),
                key: get("key"),
            },
            "session.delete" => Call::SessionDelete { elid },
            "account" => Call::AccountList,
            "account.edit" => Call::AccountEdit {
                elid,
                submit: submitted(p),
                fields: AccountFields::from(p),
            },
            "account.delete" | "account.suspend" | "account.resume" => Call::AccountGroup {
                op: match func {
                    "account.delete" => GroupOp::Delete,
                    "account.suspend" => GroupOp::Suspend,
                    _ => GroupOp::Resume,
                },
                elids: elids(p.get("elid")),
            },
            "user" => Call::UserList,
            "user.edit" => Call::UserEdit {
                elid,
                submit: submitted(p),
                fields: AccountFields {
                    username: p.get("name").map(str::to_owned),
                    name: p.get("realname").map(str::to_owned),
                    ..AccountFields::from(p)
                },
            },
            "billmgr.backup" => Call::BackupList,
            "billmgr.backup.create" => Call::BackupCreate {
                submit: submitted(p),
                description: get("description"),
            },
            "billmgr.backup.settings" => Call::BackupSettings {
                submit: submitted(p),
                drop: p.get("dropsettings").is_some_and(on),
                backup_count: p.get("backup_count").map(str::to_owned),
                processes: p.get("processes").map(str::to_owned),
                compress: p.get("compress").map(str::to_owned),
                low_priority: p.get("low_priority").map(str::to_owned),
            },
            "billmgr.backup.setup" => Call::BackupSetup {
                submit: submitted(p),
                storage: p.get("storage").map(str::to_owned),
                ftp: [
                    "ftp_host",
                    "ftp_port",
                    "ftp_dir",
                    "ftp_user",
                    "ftp_password",
                ]
                .map(|k| p.get(k).map(str::to_owned)),
            },
            "backups.upload" => Call::BackupUpload {
                submit: submitted(p),
                url: p.get("url").filter(|u| !u.is_empty()).map(str::to_owned),
                description: get("description"),
            },
            "backupdata" => Call::DataTypes,
            "backupdata.names" => Call::DataNames { kind: elid },
            "backupdata.restore" => Call::DataRestore {
                kind: p.get("plid").filter(|v| !v.is_empty()).map(str::to_owned),
                name: elid,
                submit: submitted(p),
                version: p
                    .get("version")
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned),
                behavior: p.get("behavior").map(str::to_owned),
            },
            "backupdata.files" => Call::DataFiles {
                login: elid,
                version: p
                    .get("version")
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned),
            },
            "backupdata.files.restore" => Call::DataFilesRestore {
                login: p.get("plid").filter(|v| !v.is_empty()).map(str::to_owned),
                paths: elids(p.get("elid")),
                submit: submitted(p),
                version: p
                    .get("version")
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned),
                behavior: p.get("behavior").map(str::to_owned),
            },
            "backups.download" => Call::BackupDownload { elid },
            "backups.delete" => Call::BackupDelete {
                elids: elids(p.get("elid")),
                clean_storages: p.get("clean_storages").is_some_and(on),
            },
            "backups.restore" => Call::BackupRestore {
                elid,
                submit: submitted(p),
                behavior: p.get("behavior").map(str::to_owned),
            },
            other => Call::Unknown(other.to_owned()),
        }
    }

    /// Does this call log in (and so need no session)?
    pub fn is_login(&self) -> bool {
        matches!(self, Call::Auth { .. } | Call::AuthKey { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(q: &str) -> Call {
        Call::decode(&Params::from_query(Some(q)))
    }

    // Source: protocols/ispsystem.md §1.3, §2.2, §2.3, §4.2, §4.3.
    #[test]
    fn decode_table() {
        assert_eq!(
            call("func=auth&username=u&password=p&out=xml"),
            Call::Auth {
                username: "u".into(),
                password: "p".into()
            }
        );
        assert_eq!(
            call("func=auth&key=0123456789abcdef&checkcookie=no"),
            Call::AuthKey {
                username: None,
                key: "0123456789abcdef".into()
            }
        );
        assert_eq!(call("func=account"), Call::AccountList);
        assert_eq!(call("func=billmgr.backup&out=json"), Call::BackupList);
        assert_eq!(
            call("func=billmgr.backup.create&sok=ok&description=nightly"),
            Call::BackupCreate {
                submit: true,
                description: "nightly".into()
            }
        );
        assert_eq!(
            call("func=backups.delete&elid=4,%205&clean_storages=on"),
            Call::BackupDelete {
                elids: vec!["4".into(), "5".into()],
                clean_storages: true
            }
        );
        assert_eq!(
            call("func=backups.restore&elid=7&behavior=overwrite&clicked_button=ok"),
            Call::BackupRestore {
                elid: Some("7".into()),
                submit: true,
                behavior: Some("overwrite".into())
            }
        );
        assert_eq!(
            call("func=backups.download&elid=7"),
            Call::BackupDownload {
                elid: Some("7".into())
            }
        );
        assert_eq!(
            call("func=account.suspend&elid=3, 4"),
            Call::AccountGroup {
                op: GroupOp::Suspend,
                elids: vec!["3".into(), "4".into()]
            }
        );
        assert!(matches!(
            call("func=account.edit&sok=ok&name=A&email=a%40example.com"),
            Call::AccountEdit {
                elid: None,
                submit: true,
                ..
            }
        ));
        assert!(matches!(
            call("func=account.edit&elid=7"),
            Call::AccountEdit { elid: Some(ref e), submit: false, .. } if e == "7"
        ));
        assert_eq!(call("func=domain"), Call::Unknown("domain".into()));
        assert_eq!(call(""), Call::Unknown(String::new()));
    }

    #[test]
    fn elid_lists_split_only_on_comma_space() {
        assert_eq!(
            elids(Some("pop.nev.is. A  185.9.147.250")),
            ["pop.nev.is. A  185.9.147.250"]
        );
        assert_eq!(elids(Some("a, b,c")), ["a", "b,c"]);
        assert!(elids(None).is_empty());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;

    proptest::proptest! {
        // Issue 9: arbitrary query strings decode to some call, without a panic.
        #[test]
        fn any_query_decodes(q in "\\PC{0,200}", f in "(auth|account|account\\.edit|account\\.delete|backups\\.restore|backups\\.delete|session\\.newkey|billmgr\\.backup\\.create|[a-z.]{0,12})") {
            let query = format!("func={f}&{q}");
            let call = Call::decode(&Params::from_query(Some(&query)));
            if let Call::AccountGroup { elids, .. } | Call::BackupDelete { elids, .. } = call {
                proptest::prop_assert!(elids.iter().all(|e| !e.is_empty()));
            }
        }
    }
}
