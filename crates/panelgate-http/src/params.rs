//! Request parameters as an ordered multimap: the query string and an urlencoded body, in the
//! order they were sent, repeated keys kept (httpapi.com arrays are repeated keys; ISPsystem
//! merges the query string and the body, the body winning).

use crate::request::Request;

/// Ordered `(name, value)` pairs, percent-decoded (`+` is a space).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    query: Vec<(String, String)>,
    body: Vec<(String, String)>,
}

/// Decode `a=1&b=2&a=3` into ordered pairs (linear; invalid escapes are kept as they are).
pub fn parse_pairs(input: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(input).into_owned().collect()
}

impl Params {
    /// The query string alone.
    pub fn from_query(query: Option<&str>) -> Params {
        Params {
            query: parse_pairs(query.unwrap_or("").as_bytes()),
            body: Vec::new(),
        }
    }

    /// The query string and, for `application/x-www-form-urlencoded` bodies, the body.
    pub fn from_request(req: &Request) -> Params {
        let urlencoded = req
            .header("content-type")
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        Params {
            query: parse_pairs(req.uri.query().unwrap_or("").as_bytes()),
            body: if urlencoded {
                parse_pairs(req.body.bytes())
            } else {
                Vec::new()
            },
        }
    }

    /// Every pair: the query string's, then the body's.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query
            .iter()
            .chain(&self.body)
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of `name`: the body's last one if the body has it, else the query string's last.
    pub fn get(&self, name: &str) -> Option<&str> {
        fn last<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        }
        last(&self.body, name).or_else(|| last(&self.query, name))
    }

    /// Every value of `name`, in the order sent (query string first).
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        self.pairs()
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v)
            .collect()
    }

    /// One value per name (the body wins, then the last occurrence), in first-seen order.
    pub fn merged(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        for (k, _) in self.pairs() {
            if !out.iter().any(|(seen, _)| *seen == k) {
                if let Some(v) = self.get(k) {
                    out.push((k, v));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_keep_order_and_repeats() {
        let p = Params::from_query(Some("a=1&b=x+y&a=%33&c&d=%zz"));
        assert_eq!(
            p.pairs().collect::<Vec<_>>(),
            [
                ("a", "1"),
                ("b", "x y"),
                ("a", "3"),
                ("c", ""),
                ("d", "%zz")
            ]
        );
        assert_eq!(p.get("a"), Some("3"));
        assert_eq!(p.get_all("a"), ["1", "3"]);
        assert_eq!(p.get("nope"), None);
    }

    #[test]
    fn the_body_wins_in_merged() {
        let req = Request::new(
            http::Method::POST,
            "/billmgr?func=a&elid=1&out=xml",
            [(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/x-www-form-urlencoded; charset=UTF-8"),
            )]
            .into_iter()
            .collect(),
            "elid=2&sok=ok",
        )
        .unwrap();
        let p = Params::from_request(&req);
        assert_eq!(p.get("elid"), Some("2"));
        assert_eq!(
            p.merged(),
            [("func", "a"), ("elid", "2"), ("out", "xml"), ("sok", "ok")]
        );
    }
}
