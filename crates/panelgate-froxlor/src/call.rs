//! Decoding a request into a command: pure, no I/O (protocols/froxlor.md §1.1, §1.4, §1.5).

use serde_json::Value;

use crate::params::Params;
use crate::FroxlorVersion;

/// The modules panelgate serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Module {
    Admins,
    Customers,
    CustomerBackups,
    DataDump,
    Froxlor,
}

impl Module {
    pub fn name(self) -> &'static str {
        match self {
            Module::Admins => "Admins",
            Module::Customers => "Customers",
            Module::CustomerBackups => "CustomerBackups",
            Module::DataDump => "DataDump",
            Module::Froxlor => "Froxlor",
        }
    }

    /// Resolve a module name exactly (the real autoloader is case-sensitive).
    pub fn parse(name: &str, version: FroxlorVersion) -> Option<Module> {
        Some(match name {
            "Admins" => Module::Admins,
            "Customers" => Module::Customers,
            "CustomerBackups" if version == FroxlorVersion::V2_0 => Module::CustomerBackups,
            "DataDump" => Module::DataDump,
            "Froxlor" => Module::Froxlor,
            _ => return None,
        })
    }

    /// The public methods of the module, in Froxlor's spelling (derived from [`Call::ALL`]).
    pub fn methods(self) -> impl Iterator<Item = &'static str> {
        Call::ALL
            .iter()
            .filter(move |c| c.module() == self)
            .map(|c| c.method())
    }
}

/// `Customers.*` operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomersOp {
    Listing,
    ListingCount,
    Add,
    Get,
    Update,
    Delete,
    Unlock,
    Move,
}

/// `CustomerBackups.*` / `DataDump.*` operations (planned backup jobs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobsOp {
    Add,
    Get,
    Update,
    Listing,
    ListingCount,
    Delete,
}

/// `Admins.*` operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminsOp {
    Get,
    Listing,
    ListingCount,
}

/// `Froxlor.*` operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FroxlorOp {
    ListFunctions,
    GetApiVersion,
}

/// Every command panelgate serves: the one list of served operations. The README's Froxlor
/// table and `Froxlor.listFunctions` are checked against it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Customers(CustomersOp),
    /// `CustomerBackups.*` (2.0) or `DataDump.*`.
    Jobs(Module, JobsOp),
    Admins(AdminsOp),
    Froxlor(FroxlorOp),
}

impl Call {
    /// Every served call, in Froxlor's module order.
    pub const ALL: [Call; 25] = [
        Call::Admins(AdminsOp::Get),
        Call::Admins(AdminsOp::Listing),
        Call::Admins(AdminsOp::ListingCount),
        Call::Customers(CustomersOp::Listing),
        Call::Customers(CustomersOp::ListingCount),
        Call::Customers(CustomersOp::Add),
        Call::Customers(CustomersOp::Get),
        Call::Customers(CustomersOp::Update),
        Call::Customers(CustomersOp::Delete),
        Call::Customers(CustomersOp::Unlock),
        Call::Customers(CustomersOp::Move),
        Call::Jobs(Module::CustomerBackups, JobsOp::Add),
        Call::Jobs(Module::CustomerBackups, JobsOp::Get),
        Call::Jobs(Module::CustomerBackups, JobsOp::Update),
        Call::Jobs(Module::CustomerBackups, JobsOp::Listing),
        Call::Jobs(Module::CustomerBackups, JobsOp::ListingCount),
        Call::Jobs(Module::CustomerBackups, JobsOp::Delete),
        Call::Jobs(Module::DataDump, JobsOp::Add),
        Call::Jobs(Module::DataDump, JobsOp::Get),
        Call::Jobs(Module::DataDump, JobsOp::Update),
        Call::Jobs(Module::DataDump, JobsOp::Listing),
        Call::Jobs(Module::DataDump, JobsOp::ListingCount),
        Call::Jobs(Module::DataDump, JobsOp::Delete),
        Call::Froxlor(FroxlorOp::ListFunctions),
        Call::Froxlor(FroxlorOp::GetApiVersion),
    ];

    pub fn module(self) -> Module {
        match self {
            Call::Customers(_) => Module::Customers,
            Call::Jobs(module, _) => module,
            Call::Admins(_) => Module::Admins,
            Call::Froxlor(_) => Module::Froxlor,
        }
    }

    /// The method in Froxlor's spelling.
    pub fn method(self) -> &'static str {
        match self {
            Call::Customers(op) => match op {
                CustomersOp::Listing => "listing",
                CustomersOp::ListingCount => "listingCount",
                CustomersOp::Add => "add",
                CustomersOp::Get => "get",
                CustomersOp::Update => "update",
                CustomersOp::Delete => "delete",
                CustomersOp::Unlock => "unlock",
                CustomersOp::Move => "move",
            },
            Call::Jobs(_, op) => match op {
                JobsOp::Add => "add",
                JobsOp::Get => "get",
                JobsOp::Update => "update",
                JobsOp::Listing => "listing",
                JobsOp::ListingCount => "listingCount",
                JobsOp::Delete => "delete",
            },
            Call::Admins(op) => match op {
                AdminsOp::Get => "get",
                AdminsOp::Listing => "listing",
                AdminsOp::ListingCount => "listingCount",
            },
            Call::Froxlor(op) => match op {
                FroxlorOp::ListFunctions => "listFunctions",
                FroxlorOp::GetApiVersion => "getApiVersion",
            },
        }
    }

    /// `Module.method`, as the log line and the README name it.
    pub fn name(self) -> String {
        format!("{}.{}", self.module().name(), self.method())
    }

    /// The call of `module` named `method` (any case, as PHP's method lookup).
    pub fn find(module: Module, method: &str) -> Option<Call> {
        Call::ALL
            .into_iter()
            .find(|c| c.module() == module && c.method().eq_ignore_ascii_case(method))
    }
}

/// Methods every Froxlor command class inherits but that are not API commands: calling them made
/// PHP die with a fatal error (an empty 500), which is reproduced.
const INTERNAL_METHODS: &[&str] = &[
    "getparam",
    "getboolparam",
    "getulparam",
    "getmodfunctionstring",
    "getuserdetail",
    "getuserdata",
    "response",
    "getsearchwhere",
    "getorderby",
    "getlimit",
    "isadmin",
    "getlogger",
    "apicall",
];

/// A decoded request: which call to run with which parameters. The parameters stay a
/// [`Params`] bag, read by each operation in Froxlor's own order (the error a client sees
/// depends on that order; see protocols/froxlor.md §1.6).
#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    pub call: Call,
    pub params: Params,
}

/// Why a body could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// 400 `Empty request body.`
    EmptyBody,
    /// 400 `Invalid JSON Format.`
    InvalidJson,
    /// 400 `Please provide a command.`
    NoCommand,
    /// 400 `The given command is invalid.`
    InvalidCommand,
    /// 400 `Unknown command`
    UnknownCommand,
    /// `params` that is neither an array nor absent: PHP's uncaught TypeError, an empty 500.
    Fatal,
}

/// `api.php?/module/method`: the query string names the command and the body is the params.
pub fn query_command(query: Option<&str>) -> Option<String> {
    let rest = query?.strip_prefix('/')?;
    let (module, rest) = rest.split_once('/')?;
    if module.is_empty() || !module.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let method: String = rest
        .chars()
        .take_while(|c| c.is_ascii_lowercase())
        .collect();
    if method.is_empty() {
        return None;
    }
    Some(format!(
        "{}{}.{}",
        module[..1].to_ascii_uppercase(),
        &module[1..],
        method
    ))
}

/// Decode the body (and the query-string command, if any).
pub fn decode(
    body: &[u8],
    query: Option<&str>,
    version: FroxlorVersion,
) -> Result<Command, DecodeError> {
    let routed = query_command(query);
    let request: Value = match &routed {
        Some(command) => {
            let params = if body.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(body).unwrap_or(Value::Null)
            };
            serde_json::json!({ "command": command, "params": params })
        }
        None => {
            if body.is_empty() || body == b"0" {
                return Err(DecodeError::EmptyBody);
            }
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Null) | Err(_) => return Err(DecodeError::InvalidJson),
                Ok(v) => v,
            }
        }
    };
    let command = match request.get("command") {
        Some(Value::String(s)) if !s.is_empty() && s != "0" => s.clone(),
        Some(Value::Number(n)) if n.as_f64() != Some(0.0) => n.to_string(),
        Some(Value::Bool(true)) => "1".to_owned(),
        _ => return Err(DecodeError::NoCommand),
    };
    let params = match request.get("params") {
        None | Some(Value::Null) | Some(Value::Array(_)) | Some(Value::Object(_)) => {
            Params::from_json(request.get("params"))
        }
        Some(_) => return Err(DecodeError::Fatal),
    };
    let parts: Vec<&str> = command.split('.').collect();
    let [module, method] = parts.as_slice() else {
        return Err(DecodeError::InvalidCommand);
    };
    let module = Module::parse(module, version).ok_or(DecodeError::UnknownCommand)?;
    if INTERNAL_METHODS.contains(&method.to_ascii_lowercase().as_str()) {
        return Err(DecodeError::Fatal);
    }
    let call = Call::find(module, method).ok_or(DecodeError::UnknownCommand)?;
    Ok(Command { call, params })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Source: protocols/froxlor.md §1.4/§1.5 and captures e03–e19, q01–q05.
    #[test]
    fn decode_table() {
        use DecodeError::*;
        let v = FroxlorVersion::V2_0;
        let err_rows: &[(&[u8], Option<&str>, DecodeError)] = &[
            (b"", None, EmptyBody),
            (b"0", None, EmptyBody),
            (b"{\"command\":", None, InvalidJson),
            (b"null", None, InvalidJson),
            (b"{\"params\":{}}", None, NoCommand),
            (b"[1,2]", None, NoCommand),
            (b"{\"command\":\"\"}", None, NoCommand),
            (b"{\"command\":\"Customers\"}", None, InvalidCommand),
            (b"{\"command\":\"Customers.get.x\"}", None, InvalidCommand),
            (b"{\"command\":5}", None, InvalidCommand),
            (b"{\"command\":\"Foo.bar\"}", None, UnknownCommand),
            (b"{\"command\":\"customers.listing\"}", None, UnknownCommand),
            (b"{\"command\":\" Customers.get\"}", None, UnknownCommand),
            (b"{\"command\":\"Customers.\"}", None, UnknownCommand),
            (b"{\"command\":\"Customers.getParam\"}", None, Fatal),
            (
                b"{\"command\":\"Customers.get\",\"params\":\"x\"}",
                None,
                Fatal,
            ),
            (b"", Some("/Customers/listingCount"), EmptyBody),
            (b"", Some("/customerbackups/listing"), UnknownCommand),
        ];
        for (body, query, want) in err_rows {
            assert_eq!(
                decode(body, *query, v).unwrap_err(),
                *want,
                "{:?} {query:?}",
                String::from_utf8_lossy(body)
            );
        }
        let ok_rows: &[(&[u8], Option<&str>, Module, &str)] = &[
            (
                b"{\"command\":\"Customers.LISTINGCOUNT\"}",
                None,
                Module::Customers,
                "listingCount",
            ),
            (
                b"{\"command\":\"Customers.listingCount\",\"params\":[]}",
                None,
                Module::Customers,
                "listingCount",
            ),
            (
                b"",
                Some("/customers/listingcount"),
                Module::Customers,
                "listingCount",
            ),
            (
                b"",
                Some("/customers/listingcount/extra"),
                Module::Customers,
                "listingCount",
            ),
            (
                b"{\"id\":1}",
                Some("/customers/get"),
                Module::Customers,
                "get",
            ),
            (
                b"{\"command\":\"DataDump.listing\"}",
                None,
                Module::DataDump,
                "listing",
            ),
        ];
        for (body, query, module, method) in ok_rows {
            let c = decode(body, *query, v).unwrap();
            assert_eq!((c.call.module(), c.call.method()), (*module, *method));
        }
        assert_eq!(
            decode(
                b"{\"command\":\"CustomerBackups.listing\"}",
                None,
                FroxlorVersion::V2_3
            )
            .unwrap_err(),
            UnknownCommand
        );
    }
}
