//! `sql_search`, `sql_orderby`, `sql_limit`, `sql_offset` (protocols/froxlor.md §3).
//!
//! Froxlor builds SQL from these; panelgate never does. Field names are resolved against a fixed
//! column list and the rows the caller may see are filtered, ordered and cut in memory, with
//! MariaDB's comparison rules (case-insensitive collation, numeric comparison of an integer
//! column with a string). The failures Froxlor shows for bad input (unknown or ambiguous column,
//! the SQL syntax error of an all-skipped search) are reproduced with MariaDB 10.11's wording.

use std::cell::Cell;
use std::cmp::Ordering;

use crate::params::{php_intval, php_is_numeric, PValue, Params};

/// A value of one column of one row.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Int(i64),
    Str(String),
    Null,
}

impl SqlValue {
    /// A column value as its rendered JSON shows it (numbers, strings, `null`).
    pub fn from_json(v: Option<&serde_json::Value>) -> SqlValue {
        match v {
            Some(serde_json::Value::Number(n)) => SqlValue::Int(n.as_i64().unwrap_or(0)),
            Some(serde_json::Value::String(s)) => SqlValue::Str(s.clone()),
            _ => SqlValue::Null,
        }
    }
}

/// The tables a listing query reads: (alias, columns). An empty alias means unqualified access.
pub struct Schema {
    pub tables: &'static [(&'static str, &'static [&'static str])],
    /// Names usable in ORDER BY only (`adminname`).
    pub order_aliases: &'static [&'static str],
    /// Fields that sort naturally (`web2` < `web10`) when `panel.natsorting` is on.
    pub natsort: &'static [&'static str],
}

/// A resolved column: (table alias, column name).
pub type ColumnRef = (&'static str, &'static str);

pub trait Row {
    fn column(&self, col: ColumnRef) -> SqlValue;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SqlError {
    UnknownColumn {
        name: String,
        clause: &'static str,
    },
    Ambiguous {
        name: String,
        clause: &'static str,
    },
    Syntax {
        near: &'static str,
    },
    /// The query ran past its time (panelgate: its `LIKE` work budget).
    Interrupted,
}

impl SqlError {
    pub fn message(&self) -> String {
        match self {
            SqlError::UnknownColumn { name, clause } => {
                format!("SQLSTATE[42S22]: Column not found: 1054 Unknown column '{name}' in '{clause}'")
            }
            SqlError::Ambiguous { name, clause } => {
                format!("SQLSTATE[23000]: Integrity constraint violation: 1052 Column '{name}' in {clause} is ambiguous")
            }
            SqlError::Interrupted => {
                "SQLSTATE[70100]: <<Unknown error>>: 1969 Query execution was interrupted (max_statement_time exceeded)".to_owned()
            }
            SqlError::Syntax { near } => format!(
                "SQLSTATE[42000]: Syntax error or access violation: 1064 You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near '{near}' at line 4"
            ),
        }
    }
}

/// Froxlor's field sanitiser: back-tick each dot-separated part, then accept only
/// `[a-z0-9\-._`]`. Returns the parts without back-ticks, or `None` (entry skipped).
fn sanitize_field(field: &str) -> Option<Vec<String>> {
    let parts: Vec<String> = field
        .split('.')
        .map(|p| {
            if p.starts_with('`') && p.ends_with('`') && p.len() >= 2 {
                p.to_owned()
            } else {
                format!("`{p}`")
            }
        })
        .collect();
    let joined = parts.join(".");
    let ok = !joined.is_empty()
        && joined
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'`'));
    ok.then(|| {
        parts
            .iter()
            .map(|p| p.trim_matches('`').to_owned())
            .collect()
    })
}

enum Resolved {
    Column(ColumnRef),
    OrderAlias(&'static str),
}

fn resolve(schema: &Schema, parts: &[String], clause: &'static str) -> Result<Resolved, SqlError> {
    let display = parts.join(".");
    let unknown = || SqlError::UnknownColumn {
        name: display.clone(),
        clause,
    };
    match parts {
        [col] => {
            if clause == "ORDER BY" {
                if let Some(a) = schema.order_aliases.iter().find(|a| **a == col.as_str()) {
                    return Ok(Resolved::OrderAlias(a));
                }
            }
            let hits: Vec<ColumnRef> = schema
                .tables
                .iter()
                .filter_map(|(alias, cols)| {
                    cols.iter()
                        .find(|c| c.eq_ignore_ascii_case(col))
                        .map(|c| (*alias, *c))
                })
                .collect();
            match hits.as_slice() {
                [] => Err(unknown()),
                [one] => Ok(Resolved::Column(*one)),
                _ => Err(SqlError::Ambiguous {
                    name: col.clone(),
                    clause,
                }),
            }
        }
        [table, col] => schema
            .tables
            .iter()
            .filter(|(alias, _)| !alias.is_empty() && alias.eq_ignore_ascii_case(table))
            .find_map(|(alias, cols)| {
                cols.iter()
                    .find(|c| c.eq_ignore_ascii_case(col))
                    .map(|c| (*alias, *c))
            })
            .map(Resolved::Column)
            .ok_or_else(unknown),
        _ => Err(unknown()),
    }
}

enum Cond {
    /// `LIKE '%value%'`, compiled.
    Like(LikePattern),
    Cmp(Ordering, String),
    In(InSet),
}

struct Filter {
    parts: Vec<String>,
    cond: Cond,
}

fn whitelisted(v: &str) -> bool {
    v.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'`'))
}

/// The condition of a search value without an operator: `LIKE '%value%'`.
fn like_cond(value: &str) -> Cond {
    Cond::Like(LikePattern::new(&format!("%{value}%")))
}

fn parse_search(search: &PValue) -> (Vec<Filter>, bool) {
    let PValue::Array(entries, _) = search else {
        return (Vec::new(), false);
    };
    let mut filters = Vec::new();
    for (field, spec) in entries {
        let Some(parts) = sanitize_field(field) else {
            continue;
        };
        let cond = match spec {
            PValue::Array(..) => {
                let op = spec
                    .get("op")
                    .and_then(PValue::as_trimmed)
                    .unwrap_or_default();
                let value = spec.get("value");
                let text = || value.and_then(PValue::as_trimmed).unwrap_or_default();
                match op.as_str() {
                    "" => Some(like_cond(&text())),
                    "<" => Some(Cond::Cmp(Ordering::Less, text())),
                    ">" => Some(Cond::Cmp(Ordering::Greater, text())),
                    "=" => Some(Cond::Cmp(Ordering::Equal, text())),
                    o if o.eq_ignore_ascii_case("in") => match value {
                        Some(PValue::Array(items, _))
                            if !items.is_empty()
                                && items
                                    .iter()
                                    .all(|(k, _)| k.bytes().all(|b| b.is_ascii_digit())) =>
                        {
                            let vals: Vec<String> = items
                                .iter()
                                .filter_map(|(_, v)| v.as_trimmed())
                                .filter(|v| whitelisted(v))
                                .collect();
                            (!vals.is_empty()).then(|| Cond::In(InSet::new(&vals)))
                        }
                        _ => None,
                    },
                    _ => None,
                }
            }
            scalar => Some(like_cond(&scalar.as_trimmed().unwrap_or_default())),
        };
        if let Some(cond) = cond {
            filters.push(Filter { parts, cond });
        }
    }
    let all_skipped = !entries.is_empty() && filters.is_empty();
    (filters, all_skipped)
}

/// One element of a compiled `LIKE` pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LikeTok {
    /// A literal (already lowercased) char, escaped or not.
    Char(char),
    /// An unescaped `_`: any one char.
    Any,
    /// A run of unescaped `%`: any chars.
    Many,
}

/// A `LIKE` pattern with `%`, `_` and `\` escapes, matched case-insensitively, compiled once
/// per filter.
///
/// The pattern is lowercased, then `\x` means a literal `x` (a lone `\` at the end is itself),
/// and runs of `%` are collapsed. Between two `%` lies a segment of fixed length, so a match is
/// found without backtracking: the first segment is anchored at the start (unless the pattern
/// starts with `%`), the last at the end (unless it ends with `%`) and every middle segment is
/// taken at its leftmost place after the previous one.
#[derive(Clone, Debug, PartialEq, Eq)]
struct LikePattern {
    toks: Vec<LikeTok>,
    /// How many chars of text a match consumes at least (the `Char` and `Any` tokens).
    min_chars: usize,
}

impl LikePattern {
    fn new(pattern: &str) -> LikePattern {
        let lower = pattern.to_lowercase();
        let mut toks = Vec::with_capacity(lower.len());
        let mut min_chars = 0usize;
        let mut chars = lower.chars();
        while let Some(c) = chars.next() {
            let tok = match c {
                '\\' => LikeTok::Char(chars.next().unwrap_or('\\')),
                '%' => LikeTok::Many,
                '_' => LikeTok::Any,
                c => LikeTok::Char(c),
            };
            if tok == LikeTok::Many {
                if toks.last() != Some(&LikeTok::Many) {
                    toks.push(tok);
                }
            } else {
                min_chars += 1;
                toks.push(tok);
            }
        }
        toks.shrink_to_fit();
        LikePattern { toks, min_chars }
    }

    /// The text of a `%text%` pattern whose text is plain (ASCII letters, digits, `@`, `.`,
    /// `-`: nothing a database's `LIKE` or case folding reads differently).
    fn plain_infix(&self) -> Option<String> {
        let [LikeTok::Many, inner @ .., LikeTok::Many] = self.toks.as_slice() else {
            return None;
        };
        let text: String = inner
            .iter()
            .map(|t| match t {
                LikeTok::Char(c) if c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '-') => {
                    Some(*c)
                }
                _ => None,
            })
            .collect::<Option<String>>()?;
        (!text.is_empty()).then_some(text)
    }

    /// Does `text` match (without a work budget)?
    #[cfg(test)]
    fn matches(&self, text: &str) -> bool {
        self.matches_within(text, &Cell::new(u64::MAX))
            .unwrap_or(false)
    }

    /// Does `text` match? Linear in the text, plus `O(text · segment)` for segments with `_`;
    /// every step is charged to `budget`, and `None` means the budget ran out. A pattern that
    /// needs more chars than the text has is refused at once.
    fn matches_within(&self, text: &str, budget: &Cell<u64>) -> Option<bool> {
        charge(budget, text.len() as u64)?;
        self.matches_charged(text, budget)
    }

    fn matches_charged(&self, text: &str, budget: &Cell<u64>) -> Option<bool> {
        let t = text.to_lowercase();
        // A char is at least one byte: the byte test spares counting a hopeless text.
        if self.min_chars > t.len() || self.min_chars > t.chars().count() {
            return Some(false);
        }
        if !self.toks.contains(&LikeTok::Many) {
            return Some(match_at(&t, 0, t.len(), &self.toks) == Some(t.len()));
        }
        let mut segments = self.toks.split(|tok| *tok == LikeTok::Many);
        let (Some(first), Some(last)) = (segments.next(), segments.next_back()) else {
            return Some(false);
        };
        let Some(mut lo) = match_at(&t, 0, t.len(), first) else {
            return Some(false);
        };
        // The last segment takes exactly its length in chars from the end; the length test
        // above keeps it clear of the first.
        let hi = match last.len() {
            0 => t.len(),
            n => match t.char_indices().nth_back(n - 1) {
                Some((i, _)) if i >= lo => i,
                _ => return Some(false),
            },
        };
        if match_at(&t, hi, t.len(), last) != Some(t.len()) {
            return Some(false);
        }
        let mut needle = String::new();
        for seg in segments {
            let found = if seg.contains(&LikeTok::Any) {
                charge(budget, ((hi - lo) as u64).saturating_mul(seg.len() as u64))?;
                t[lo..hi]
                    .char_indices()
                    .find_map(|(i, _)| match_at(&t, lo + i, hi, seg))
            } else {
                needle.clear();
                needle.extend(seg.iter().filter_map(|tok| match tok {
                    LikeTok::Char(c) => Some(*c),
                    _ => None,
                }));
                t[lo..hi].find(&needle).map(|i| lo + i + needle.len())
            };
            match found {
                Some(end) => lo = end,
                None => return Some(false),
            }
        }
        Some(true)
    }
}

/// Take `cost` steps from `budget`; `None` when it does not have them.
fn charge(budget: &Cell<u64>, cost: u64) -> Option<()> {
    let left = budget.get().checked_sub(cost)?;
    budget.set(left);
    Some(())
}

/// The steps one listing may spend on `LIKE` matching (a fraction of a second): past it the
/// query is answered as MariaDB answers one that ran past `max_statement_time`.
const LIKE_BUDGET: u64 = 100_000_000;

/// Match the `%`-free `seg` against `t[at..hi]` from its start: the end of the match.
fn match_at(t: &str, at: usize, hi: usize, seg: &[LikeTok]) -> Option<usize> {
    let mut p = at;
    for tok in seg {
        let c = t[p..hi].chars().next()?;
        match tok {
            LikeTok::Char(want) if *want != c => return None,
            LikeTok::Many => return None,
            _ => p += c.len_utf8(),
        }
    }
    Some(p)
}

/// `LIKE` with `%`, `_` and `\` escapes, case-insensitively (one-off; filters compile theirs).
#[cfg(test)]
fn like(text: &str, pattern: &str) -> bool {
    LikePattern::new(pattern).matches(text)
}

/// MySQL's string-to-number conversion (leading numeric prefix).
fn to_number(s: &str) -> f64 {
    let t = s.trim_start();
    let mut end = 0;
    let bytes = t.as_bytes();
    let mut seen_dot = false;
    for (i, b) in bytes.iter().enumerate() {
        let ok = b.is_ascii_digit()
            || (i == 0 && (*b == b'-' || *b == b'+'))
            || (*b == b'.' && !seen_dot);
        if *b == b'.' {
            seen_dot = true;
        }
        if !ok {
            break;
        }
        end = i + 1;
    }
    t[..end].parse().unwrap_or(0.0)
}

/// A string as the collation compares it: trailing spaces dropped, case folded.
fn collation_key(s: &str) -> String {
    s.trim_end_matches(' ').to_lowercase()
}

fn collate(a: &str, b: &str) -> Ordering {
    collation_key(a).cmp(&collation_key(b))
}

fn compare(value: &SqlValue, with: &str) -> Option<Ordering> {
    match value {
        SqlValue::Null => None,
        SqlValue::Int(i) => (*i as f64).partial_cmp(&to_number(with)),
        SqlValue::Str(s) => Some(collate(s, with)),
    }
}

/// Does `value` satisfy `cond`? `None`: the `LIKE` budget ran out.
fn matches(value: &SqlValue, cond: &Cond, budget: &Cell<u64>) -> Option<bool> {
    Some(match cond {
        Cond::Like(pattern) => match value {
            SqlValue::Null => false,
            SqlValue::Int(i) => pattern.matches_within(&i.to_string(), budget)?,
            SqlValue::Str(s) => pattern.matches_within(s, budget)?,
        },
        Cond::Cmp(ord, v) => compare(value, v) == Some(*ord),
        Cond::In(set) => set.contains(value),
    })
}

/// The values of an `IN` list, keyed as the comparison sees them: strings collated (trailing
/// spaces dropped, case folded), numbers by value. One lookup per row, whatever the list's size.
#[derive(Clone, Debug, Default)]
struct InSet {
    strs: std::collections::HashSet<String>,
    nums: std::collections::HashSet<u64>,
}

impl InSet {
    fn new(values: &[String]) -> InSet {
        let mut set = InSet::default();
        for v in values {
            set.strs.insert(collation_key(v));
            let n = to_number(v);
            if !n.is_nan() {
                set.nums.insert(num_key(n));
            }
        }
        set
    }

    fn contains(&self, value: &SqlValue) -> bool {
        match value {
            SqlValue::Null => false,
            SqlValue::Int(i) => self.nums.contains(&num_key(*i as f64)),
            SqlValue::Str(s) => self.strs.contains(&collation_key(s)),
        }
    }
}

fn num_key(n: f64) -> u64 {
    if n == 0.0 {
        0.0f64.to_bits()
    } else {
        n.to_bits()
    }
}

/// Natural order of two strings (digit runs compared as numbers), case-insensitively.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    let (mut x, mut y) = (a.as_str(), b.as_str());
    loop {
        match (x.chars().next(), y.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let xe = x.find(|c: char| !c.is_ascii_digit()).unwrap_or(x.len());
                let ye = y.find(|c: char| !c.is_ascii_digit()).unwrap_or(y.len());
                let (xn, yn) = (
                    x[..xe].trim_start_matches('0'),
                    y[..ye].trim_start_matches('0'),
                );
                let o = xn.len().cmp(&yn.len()).then_with(|| xn.cmp(yn));
                if o != Ordering::Equal {
                    return o;
                }
                x = &x[xe..];
                y = &y[ye..];
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(&d);
                }
                x = &x[c.len_utf8()..];
                y = &y[d.len_utf8()..];
            }
        }
    }
}

fn order_values(a: &SqlValue, b: &SqlValue, natural: bool) -> Ordering {
    match (a, b) {
        (SqlValue::Null, SqlValue::Null) => Ordering::Equal,
        (SqlValue::Null, _) => Ordering::Less,
        (_, SqlValue::Null) => Ordering::Greater,
        (SqlValue::Int(x), SqlValue::Int(y)) => x.cmp(y),
        (SqlValue::Str(x), SqlValue::Str(y)) if natural => natural_cmp(x, y),
        (SqlValue::Str(x), SqlValue::Str(y)) => collate(x, y),
        (SqlValue::Int(x), SqlValue::Str(y)) => (*x as f64)
            .partial_cmp(&to_number(y))
            .unwrap_or(Ordering::Equal),
        (SqlValue::Str(x), SqlValue::Int(y)) => to_number(x)
            .partial_cmp(&(*y as f64))
            .unwrap_or(Ordering::Equal),
    }
}

/// What a listing asks for.
pub struct Query<'a> {
    pub params: &'a Params,
    /// Does this command honour `sql_search`? (2.0.x listingCount does not.)
    pub search: bool,
    /// Does this command honour `sql_orderby` / `sql_limit` / `sql_offset`?
    pub order_and_limit: bool,
    pub natsorting: bool,
}

/// Apply the query to `rows` (already restricted to what the caller may see, in id order).
/// When a listing neither searches nor orders, the page it asks for (`sql_offset`, `sql_limit`)
/// in id order: the rows can then be paged by the database instead of loaded whole. `None` when
/// [`apply`] has to see every row.
pub fn plain_page(query: &Query<'_>) -> Option<(u64, u64)> {
    if !query.order_and_limit
        || (query.search && query.params.raw("sql_search").is_some())
        || query.params.raw("sql_orderby").is_some()
    {
        return None;
    }
    let (limit, offset) = (
        limit_param(query, "sql_limit"),
        limit_param(query, "sql_offset"),
    );
    (limit > 0).then(|| (offset.max(0) as u64, limit as u64))
}

/// When a listing pages without ordering, how many rows in id order hold its page
/// (`sql_offset` + `sql_limit`): a scan in id order can stop there. `None` when [`apply`] must
/// see every row (an order, or no limit).
pub fn unordered_end(query: &Query<'_>) -> Option<usize> {
    if !query.order_and_limit || query.params.raw("sql_orderby").is_some() {
        return None;
    }
    let (limit, offset) = (
        limit_param(query, "sql_limit"),
        limit_param(query, "sql_offset"),
    );
    (limit > 0).then(|| offset.max(0).saturating_add(limit) as usize)
}

fn limit_param(query: &Query<'_>, name: &str) -> i64 {
    query
        .params
        .raw(name)
        .and_then(PValue::as_trimmed)
        .filter(|s| php_is_numeric(s))
        .map(|s| php_intval(&s))
        .unwrap_or(0)
}

/// The `sql_search` filters a database can narrow by before [`apply`] checks every row
/// exactly: `LIKE '%text%'` on a column, where the text is plain (letters, digits, `@`, `.`,
/// `-`). Filters are ANDed, so each of them narrows; anything else is left to [`apply`], which
/// also reports every error.
pub fn plain_contains(schema: &Schema, query: &Query<'_>) -> Vec<(ColumnRef, String)> {
    let (filters, _) = match (query.search, query.params.raw("sql_search")) {
        (true, Some(search)) => parse_search(search),
        _ => return Vec::new(),
    };
    filters
        .iter()
        .filter_map(|f| {
            let Ok(Resolved::Column(col)) = resolve(schema, &f.parts, "WHERE") else {
                return None;
            };
            let Cond::Like(pattern) = &f.cond else {
                return None;
            };
            pattern.plain_infix().map(|text| (col, text))
        })
        .collect()
}

pub fn apply<R: Row>(
    schema: &Schema,
    query: &Query<'_>,
    rows: Vec<R>,
    order_alias: impl Fn(&R, &str) -> SqlValue,
) -> Result<Vec<R>, SqlError> {
    let (filters, all_skipped) = match (query.search, query.params.raw("sql_search")) {
        (true, Some(search)) => parse_search(search),
        _ => (Vec::new(), false),
    };
    if all_skipped {
        return Err(SqlError::Syntax { near: "" });
    }
    let mut orders: Vec<(Vec<String>, bool)> = Vec::new();
    if query.order_and_limit {
        if let Some(PValue::Array(entries, _)) = query.params.raw("sql_orderby") {
            for (field, dir) in entries {
                if let Some(parts) = sanitize_field(field) {
                    let desc = dir
                        .as_trimmed()
                        .is_some_and(|d| d.eq_ignore_ascii_case("desc"));
                    orders.push((parts, desc));
                }
            }
            if !entries.is_empty() && orders.is_empty() {
                return Err(SqlError::Syntax { near: "B" });
            }
        }
    }
    let mut resolved_filters = Vec::new();
    for f in &filters {
        match resolve(schema, &f.parts, "WHERE")? {
            Resolved::Column(col) => resolved_filters.push((col, &f.cond)),
            Resolved::OrderAlias(name) => {
                return Err(SqlError::UnknownColumn {
                    name: name.to_owned(),
                    clause: "WHERE",
                })
            }
        }
    }
    let mut resolved_orders = Vec::new();
    for (parts, desc) in &orders {
        let r = resolve(schema, parts, "ORDER BY")?;
        let name = parts.join(".");
        let natural =
            query.natsorting && schema.natsort.iter().any(|n| n.eq_ignore_ascii_case(&name));
        resolved_orders.push((r, *desc, natural));
    }
    let budget = Cell::new(LIKE_BUDGET);
    let mut kept = Vec::with_capacity(rows.len());
    for row in rows {
        let mut all = true;
        for (col, cond) in &resolved_filters {
            match matches(&row.column(*col), cond, &budget) {
                Some(true) => {}
                Some(false) => {
                    all = false;
                    break;
                }
                None => return Err(SqlError::Interrupted),
            }
        }
        if all {
            kept.push(row);
        }
    }
    let mut rows = kept;
    if !resolved_orders.is_empty() {
        rows.sort_by(|a, b| {
            for (r, desc, natural) in &resolved_orders {
                let (va, vb) = match r {
                    Resolved::Column(col) => (a.column(*col), b.column(*col)),
                    Resolved::OrderAlias(name) => (order_alias(a, name), order_alias(b, name)),
                };
                let o = order_values(&va, &vb, *natural);
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
    }
    if query.order_and_limit {
        let (limit, offset) = (
            limit_param(query, "sql_limit"),
            limit_param(query, "sql_offset"),
        );
        if limit > 0 {
            rows = rows
                .into_iter()
                .skip(offset.max(0) as usize)
                .take(limit as usize)
                .collect();
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {

    #[test]
    fn only_plain_infix_searches_narrow_in_the_database() {
        for (pattern, plain) in [
            ("%seven.example%", Some("seven.example")),
            ("%A-b@C%", Some("a-b@c")),
            ("%x_y%", None),
            ("%x%y%", None),
            ("x%", None),
            ("%x", None),
            ("%%", None),
            ("%caf\u{e9}%", None),
            ("%a'b%", None),
        ] {
            assert_eq!(
                LikePattern::new(pattern).plain_infix().as_deref(),
                plain,
                "{pattern}"
            );
        }
    }

    use super::*;

    #[test]
    fn like_and_natural_order() {
        assert!(like("jdoe", "%DO%"));
        assert!(!like("web1", "%do%"));
        assert!(like("a_b", "a\\_b"));
        assert_eq!(natural_cmp("web2", "web10"), Ordering::Less);
    }

    /// The backtracking matcher `like` replaced, kept as the reference for its semantics.
    fn backtracking_like(text: &str, pattern: &str) -> bool {
        let t: Vec<char> = text.to_lowercase().chars().collect();
        let p: Vec<char> = pattern.to_lowercase().chars().collect();
        let (mut ti, mut pi) = (0usize, 0usize);
        let (mut star_p, mut star_t) = (None::<usize>, 0usize);
        while ti < t.len() {
            let (pc, escaped, width) = match p.get(pi) {
                Some('\\') if pi + 1 < p.len() => (Some(p[pi + 1]), true, 2),
                Some(c) => (Some(*c), false, 1),
                None => (None, false, 0),
            };
            match pc {
                Some('%') if !escaped => {
                    star_p = Some(pi);
                    star_t = ti;
                    pi += 1;
                    continue;
                }
                Some('_') if !escaped => {
                    ti += 1;
                    pi += 1;
                    continue;
                }
                Some(c) if c == t[ti] => {
                    ti += 1;
                    pi += width;
                    continue;
                }
                _ => {}
            }
            match star_p {
                Some(sp) => {
                    pi = sp + 1;
                    star_t += 1;
                    ti = star_t;
                }
                None => return false,
            }
        }
        while p.get(pi) == Some(&'%') {
            pi += 1;
        }
        pi == p.len()
    }

    #[test]
    fn like_table() {
        let table: &[(&str, &str, bool)] = &[
            // empty pattern: only the empty text
            ("", "", true),
            ("a", "", false),
            // `%` and `%%`: anything
            ("", "%", true),
            ("abc", "%", true),
            ("", "%%", true),
            ("abc", "%%", true),
            // anchored at one end
            ("abc", "a%", true),
            ("bac", "a%", false),
            ("a", "a%", true),
            ("cba", "%a", true),
            ("abc", "%a", false),
            // `_`: exactly one char
            ("a", "_", true),
            ("", "_", false),
            ("ab", "_", false),
            ("é", "_", true),
            ("abc", "a_c", true),
            ("abbc", "a_c", false),
            // escapes
            ("%", "\\%", true),
            ("a", "\\%", false),
            ("50%", "%\\%", true),
            ("50", "%\\%", false),
            ("_", "\\_", true),
            ("a", "\\_", false),
            ("a_b", "a\\_b", true),
            ("axb", "a\\_b", false),
            ("\\", "\\\\", true),
            ("a\\b", "a\\\\b", true),
            ("ab", "a\\\\b", false),
            ("\\", "\\", true),
            ("a", "\\a", true),
            ("x\\", "%\\", true),
            // non-ASCII letters, case-insensitively
            ("ÄÖÜ", "%öü", true),
            ("ÉCOLE", "%é%", true),
            ("Ärger", "ä_ger", true),
            ("Straße", "%STRASSE%", false),
            ("Straße", "%STRAẞE%", true),
            // pattern longer than the text
            ("abc", "abcd", false),
            ("abc", "%abcd%", false),
            ("ab", "a%_b", false),
            ("aba", "ab%ba", false),
            ("abba", "ab%ba", true),
            // middle segments, leftmost
            ("abcabc", "%b%c%a%", true),
            ("abc", "a%b%c", true),
            ("acb", "a%b%c", false),
            ("aXbXc", "a%_b%c", true),
            ("jdoe", "%DO%", true),
            ("web1", "%do%", false),
        ];
        for (text, pattern, want) in table {
            assert_eq!(like(text, pattern), *want, "{text:?} LIKE {pattern:?}");
            assert_eq!(
                backtracking_like(text, pattern),
                *want,
                "reference: {text:?} LIKE {pattern:?}"
            );
        }
    }

    /// Every pattern up to 5 chars over a small alphabet, against every short text: the
    /// compiled matcher agrees with the backtracking one.
    #[test]
    fn like_agrees_with_backtracking_reference() {
        fn all(alphabet: &[char], max: usize) -> Vec<String> {
            let mut out = vec![String::new()];
            let mut level = vec![String::new()];
            for _ in 0..max {
                let next: Vec<String> = level
                    .iter()
                    .flat_map(|s| {
                        alphabet.iter().map(move |c| {
                            let mut t = s.clone();
                            t.push(*c);
                            t
                        })
                    })
                    .collect();
                out.extend(next.iter().cloned());
                level = next;
            }
            out
        }
        let patterns = all(&['a', 'B', '%', '_', '\\'], 5);
        let texts = all(&['a', 'b', '%', '\\'], 4);
        for p in &patterns {
            let compiled = LikePattern::new(p);
            for t in &texts {
                assert_eq!(
                    compiled.matches(t),
                    backtracking_like(t, p),
                    "{t:?} LIKE {p:?}"
                );
            }
        }
        for (t, p) in [
            ("İx", "i_x"),
            ("İx", "__x"),
            ("İx", "_x"),
            ("ǅ", "ǆ"),
            ("ΣΑΣ", "σ_ς"),
        ] {
            assert_eq!(like(t, p), backtracking_like(t, p), "{t:?} LIKE {p:?}");
        }
    }

    #[test]
    fn regression_issue7_defect2_like_is_linear() {
        let hostile = "%a".repeat(4 << 20);
        assert_eq!(hostile.len(), 8 << 20);
        let compiled = LikePattern::new(&hostile);
        assert!(!compiled.matches("aaaaaaaa"));
        assert!(!like("short text", &hostile));
        assert!(!like("aaaa", &format!("%{hostile}%")));
        // A long text that does match, segment by segment.
        let text = "a".repeat(4 << 20);
        assert!(compiled.matches(&text));
        assert!(!compiled.matches(&text[1..]));
        // Runs of `%` cost nothing per row.
        let percents = format!("{}x{}", "%".repeat(8 << 20), "%".repeat(8 << 20));
        assert!(like("abxcd", &percents));
        assert!(!like("abcd", &percents));
        // `_` segments against a long text: the work is bounded by the text.
        let text = format!("{}b", "a".repeat(1 << 20));
        assert!(like(&text, "%a_b"));
        assert!(!like(&text, "%b_a%"));
    }

    #[test]
    fn sanitizer_skips_injection() {
        assert!(sanitize_field("c.loginname` OR 1=1 --").is_none());
        assert!(sanitize_field("a b").is_none());
        assert_eq!(
            sanitize_field("c.loginname"),
            Some(vec!["c".into(), "loginname".into()])
        );
    }
}
