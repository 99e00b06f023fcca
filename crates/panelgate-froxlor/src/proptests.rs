//! Property tests: arbitrary bytes and arbitrary JSON never panic the decoder, the parameter
//! accessors or the listing engine; they end in a command or a protocol error.

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::call::{decode, DecodeError};
use crate::listing::{self, ColumnRef, Row, Schema, SqlValue};
use crate::params::Params;
use crate::FroxlorVersion;

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("<"),
            Just(">"),
            Just("="),
            Just("in"),
            Just("c.loginname"),
            Just("\\x41\\101\\")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((".{0,8}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

struct R(i64, String);

impl Row for R {
    fn column(&self, (_, col): ColumnRef) -> SqlValue {
        match col {
            "id" => SqlValue::Int(self.0),
            "name" => SqlValue::Str(self.1.clone()),
            _ => SqlValue::Null,
        }
    }
}

const SCHEMA: Schema = Schema {
    tables: &[("c", &["id", "name"]), ("a", &["name", "x"])],
    order_aliases: &["adminname"],
    natsort: &["c.name"],
};

fn exercise(params: &Params) {
    for name in [
        "id",
        "loginname",
        "email",
        "sql_limit",
        "show_usages",
        "diskspace",
    ] {
        let _ = params.required(name);
        let _ = params.str_or(name, "");
        let _ = params.int_or(name, 0);
        let _ = params.bool_or(name, false);
        let _ = params.ul_or(name, 0);
        let _ = params.list(name);
    }
    let rows = vec![
        R(1, "web10".into()),
        R(2, "Web2".into()),
        R(3, String::new()),
    ];
    let q = listing::Query {
        params,
        search: true,
        order_and_limit: true,
        natsorting: true,
    };
    let _ = listing::apply(&SCHEMA, &q, rows, |_, _| SqlValue::Null);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_decode_or_fail_cleanly(body in prop::collection::vec(any::<u8>(), 0..256), query in proptest::option::of(".{0,24}")) {
        for v in [FroxlorVersion::V2_0, FroxlorVersion::V2_3] {
            match decode(&body, query.as_deref(), v) {
                Ok(cmd) => exercise(&cmd.params),
                Err(DecodeError::EmptyBody | DecodeError::InvalidJson | DecodeError::NoCommand
                    | DecodeError::InvalidCommand | DecodeError::UnknownCommand | DecodeError::Fatal) => {}
            }
        }
    }

    #[test]
    fn arbitrary_json_decodes_or_fails_cleanly(value in arb_json(), command in prop_oneof![Just("Customers.listing"), Just("Customers.get"), Just("CustomerBackups.add"), Just("x.y")]) {
        let body = serde_json::to_vec(&value).unwrap();
        let _ = decode(&body, None, FroxlorVersion::V2_0);
        let wrapped = serde_json::to_vec(&json!({"command": command, "params": value})).unwrap();
        if let Ok(cmd) = decode(&wrapped, None, FroxlorVersion::V2_0) {
            exercise(&cmd.params);
        }
        let search = serde_json::to_vec(&json!({"command": "Customers.listing", "params": {"sql_search": value, "sql_orderby": value}})).unwrap();
        if let Ok(cmd) = decode(&search, None, FroxlorVersion::V2_0) {
            exercise(&cmd.params);
        }
    }

    #[test]
    fn pretty_printer_round_trips(value in arb_json()) {
        let text = crate::json::encode(&value);
        let back: Value = serde_json::from_str(&text).unwrap();
        // PHP writes an empty object as `[]`; everything else survives the round trip.
        fn norm(v: &Value) -> Value {
            match v {
                Value::Object(m) if m.is_empty() => Value::Array(vec![]),
                Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), norm(v))).collect()),
                Value::Array(a) => Value::Array(a.iter().map(norm).collect()),
                other => other.clone(),
            }
        }
        // Numbers agree to a relative 1e-12 (the JSON parser is not exact; comparing printed
        // digits flips at a rounding boundary).
        fn same(a: &Value, b: &Value) -> bool {
            match (a, b) {
                (Value::Number(x), Value::Number(y)) => {
                    let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                    x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
                }
                (Value::Array(x), Value::Array(y)) => {
                    x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
                }
                (Value::Object(x), Value::Object(y)) => {
                    x.len() == y.len()
                        && x.iter().zip(y).all(|((kx, vx), (ky, vy))| kx == ky && same(vx, vy))
                }
                _ => a == b,
            }
        }
        prop_assert!(same(&norm(&back), &norm(&value)), "{} != {}", back, value);
    }
}
