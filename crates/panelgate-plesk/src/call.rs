//! What a packet asks for, decoded before anything runs: one [`Call`] per operation of an
//! operator, from the one list of served operations ([`Call::ALL`]). Operations of the schema
//! that panelgate does not serve decode to nothing and are answered 1017.

/// Declares an operation enum with its wire names, `ALL`, `wire()` and `parse()`.
macro_rules! operations {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($variant),*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The operation's element name.
            pub fn wire(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),*
                }
            }

            /// The operation named `name`, if panelgate serves it.
            pub fn parse(name: &str) -> Option<$name> {
                match name {
                    $($wire => Some($name::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

operations!(
    /// `server`.
    ServerOp { GetProtos = "get_protos", Get = "get" }
);
operations!(
    /// `customer` and `reseller`.
    AccountOp { Add = "add", Get = "get", Set = "set", Del = "del" }
);
operations!(
    /// `secret_key`.
    SecretKeyOp { Create = "create", GetInfo = "get_info", Delete = "delete" }
);
operations!(
    /// `webspace`.
    WebspaceOp { Add = "add", Get = "get", Del = "del" }
);
operations!(
    /// `site`.
    SiteOp { Get = "get" }
);
operations!(
    /// `backup-manager`.
    BackupOp {
        GetRemoteStorageSettings = "get-remote-storage-settings",
        SetRemoteStorageSettings = "set-remote-storage-settings",
        BackupServer = "backup-server",
        BackupReseller = "backup-reseller",
        BackupWebspace = "backup-webspace",
        BackupCustomer = "backup-customer",
        GetTasksInfo = "get-tasks-info",
        GetLocalBackupList = "get-local-backup-list",
        ImportFile = "import-file",
        DownloadFile = "download-file",
        GetSupportedProtocols = "get-supported-protocols",
        StopBackup = "stop-backup",
        RemoveFile = "remove-file",
        GetServerWideSettings = "get-server-wide-settings",
        SetServerWideSettings = "set-server-wide-settings",
    }
);

/// One served operation of one operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Server(ServerOp),
    Customer(AccountOp),
    Reseller(AccountOp),
    SecretKey(SecretKeyOp),
    Webspace(WebspaceOp),
    Site(SiteOp),
    Backup(BackupOp),
}

impl Call {
    /// Every served call.
    pub fn all() -> Vec<Call> {
        let mut out: Vec<Call> = ServerOp::ALL.iter().map(|o| Call::Server(*o)).collect();
        out.extend(AccountOp::ALL.iter().map(|o| Call::Customer(*o)));
        out.extend(AccountOp::ALL.iter().map(|o| Call::Reseller(*o)));
        out.extend(SecretKeyOp::ALL.iter().map(|o| Call::SecretKey(*o)));
        out.extend(WebspaceOp::ALL.iter().map(|o| Call::Webspace(*o)));
        out.extend(SiteOp::ALL.iter().map(|o| Call::Site(*o)));
        out.extend(BackupOp::ALL.iter().map(|o| Call::Backup(*o)));
        out
    }

    /// The operator element's name.
    pub fn operator(self) -> &'static str {
        match self {
            Call::Server(_) => "server",
            Call::Customer(_) => "customer",
            Call::Reseller(_) => "reseller",
            Call::SecretKey(_) => "secret_key",
            Call::Webspace(_) => "webspace",
            Call::Site(_) => "site",
            Call::Backup(_) => "backup-manager",
        }
    }

    /// The operation element's name.
    pub fn operation(self) -> &'static str {
        match self {
            Call::Server(o) => o.wire(),
            Call::Customer(o) | Call::Reseller(o) => o.wire(),
            Call::SecretKey(o) => o.wire(),
            Call::Webspace(o) => o.wire(),
            Call::Site(o) => o.wire(),
            Call::Backup(o) => o.wire(),
        }
    }

    /// The served call of `operator`/`operation`.
    pub fn parse(operator: &str, operation: &str) -> Option<Call> {
        Some(match operator {
            "server" => Call::Server(ServerOp::parse(operation)?),
            "customer" => Call::Customer(AccountOp::parse(operation)?),
            "reseller" => Call::Reseller(AccountOp::parse(operation)?),
            "secret_key" => Call::SecretKey(SecretKeyOp::parse(operation)?),
            "webspace" => Call::Webspace(WebspaceOp::parse(operation)?),
            "site" => Call::Site(SiteOp::parse(operation)?),
            "backup-manager" => Call::Backup(BackupOp::parse(operation)?),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Source: protocols/plesk.md §3 (the operations served) and the schema's names.
    #[test]
    fn parse_table() {
        let rows = [
            (
                "server",
                "get_protos",
                Some(Call::Server(ServerOp::GetProtos)),
            ),
            ("customer", "add", Some(Call::Customer(AccountOp::Add))),
            ("reseller", "del", Some(Call::Reseller(AccountOp::Del))),
            (
                "secret_key",
                "get_info",
                Some(Call::SecretKey(SecretKeyOp::GetInfo)),
            ),
            ("webspace", "get", Some(Call::Webspace(WebspaceOp::Get))),
            ("site", "get", Some(Call::Site(SiteOp::Get))),
            (
                "backup-manager",
                "download-file",
                Some(Call::Backup(BackupOp::DownloadFile)),
            ),
            ("customer", "convert-to-reseller", None),
            ("site", "add", None),
            ("dns", "get_rec", None),
        ];
        for (operator, operation, want) in rows {
            assert_eq!(
                Call::parse(operator, operation),
                want,
                "{operator}/{operation}"
            );
        }
        for call in Call::all() {
            assert_eq!(Call::parse(call.operator(), call.operation()), Some(call));
        }
        assert_eq!(BackupOp::ALL.len(), 15);
    }
}
