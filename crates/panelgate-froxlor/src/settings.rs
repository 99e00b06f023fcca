//! Froxlor's settings as the Froxlor API reads them: the stored values, else Froxlor's defaults
//! (which belong to this frontend, not to the core), else the core's.

use std::sync::Arc;

use panelgate_core::SettingsSnapshot;

/// Defaults of the Froxlor settings only this frontend reads. Where panelgate differs from a
/// fresh Froxlor install it says why.
const DEFAULTS: &[(&str, &str)] = &[
    // Froxlor ships 0; an emulator whose API is off by default would be useless.
    ("api.enabled", "1"),
    ("api.customer_default", "1"),
    ("system.backupenabled", "0"),
    ("system.exportenabled", "0"),
    ("system.createstdsubdom_default", "1"),
    ("system.mail_quota", "100"),
    ("system.allow_customer_shell", "0"),
    ("panel.password_min_length", "0"),
    ("panel.password_regex", ""),
    ("panel.password_alpha_lower", "1"),
    ("panel.password_alpha_upper", "1"),
    ("panel.password_numeric", "0"),
    ("panel.password_special_char_required", "0"),
    ("panel.standardlanguage", "en"),
    ("panel.customer_hide_options", ""),
    ("panel.natsorting", "1"),
    ("panel.unix_names", "1"),
    ("system.req_limit_per_interval", "60"),
    ("system.req_limit_interval", "60"),
];

/// The settings of one request.
#[derive(Clone, Debug)]
pub struct Settings(Arc<SettingsSnapshot>);

impl Settings {
    pub fn new(snapshot: Arc<SettingsSnapshot>) -> Settings {
        Settings(snapshot)
    }

    pub fn get(&self, name: &str) -> &str {
        let default = DEFAULTS
            .iter()
            .find(|(k, _)| *k == name)
            .map_or("", |(_, v)| *v);
        self.0.get_or(name, default)
    }

    pub fn int(&self, name: &str) -> i64 {
        self.get(name).trim().parse().unwrap_or(0)
    }

    pub fn flag(&self, name: &str) -> bool {
        self.int(name) == 1
    }
}
