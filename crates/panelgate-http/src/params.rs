//! Request parameters as an ordered multimap: the query string and an urlencoded or multipart
//! body, in the order they were sent, repeated keys kept (httpapi.com arrays are repeated keys;
//! ISPsystem merges the query string and the body, the body winning). File parts of a multipart
//! body are written to disk under a size cap and removed when the parameters are dropped.

use crate::request::Request;

/// Ordered `(name, value)` pairs, percent-decoded (`+` is a space).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Params {
    query: Vec<(String, String)>,
    body: Vec<(String, String)>,
    files: Vec<FilePart>,
    /// The first name whose name or value was not UTF-8 once percent-decoded (kept with
    /// U+FFFD in its place; each frontend refuses such a request in its own way).
    not_utf8: Option<String>,
}

/// A file part of a multipart body, stored on disk (removed when dropped).
#[derive(Debug, PartialEq, Eq)]
pub struct FilePart {
    /// The form field's name.
    pub name: String,
    /// The file name the client gave.
    pub file_name: String,
    pub path: std::path::PathBuf,
    pub size: u64,
}

impl Drop for FilePart {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Why a multipart body was refused.
#[derive(Debug, thiserror::Error)]
pub enum MultipartError {
    #[error("malformed multipart body: {0}")]
    Malformed(String),
    #[error("a file part is larger than {0} bytes")]
    TooLarge(u64),
    #[error("storing a file part: {0}")]
    Io(#[from] std::io::Error),
}

fn is_content_type(req: &Request, wanted: &str) -> bool {
    req.header("content-type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(wanted))
}

/// Decode `a=1&b=2&a=3` into ordered pairs (linear; invalid escapes are kept as they are,
/// bytes that are not UTF-8 become U+FFFD).
pub fn parse_pairs(input: &[u8]) -> Vec<(String, String)> {
    parse_pairs_checked(input).0
}

/// [`parse_pairs`], and the first name whose name or value was not UTF-8 once decoded.
/// The decoding is `application/x-www-form-urlencoded`'s (as the `form_urlencoded` crate does
/// it: `+` is a space, empty pieces are skipped), done here to see the invalid bytes.
pub fn parse_pairs_checked(input: &[u8]) -> (Vec<(String, String)>, Option<String>) {
    fn decode(part: &[u8], valid: &mut bool) -> String {
        let spaced: std::borrow::Cow<'_, [u8]> = if part.contains(&b'+') {
            part.iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect::<Vec<u8>>()
                .into()
        } else {
            part.into()
        };
        let bytes: std::borrow::Cow<'_, [u8]> = percent_encoding::percent_decode(&spaced).into();
        match String::from_utf8(bytes.into_owned()) {
            Ok(s) => s,
            Err(e) => {
                *valid = false;
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        }
    }
    let mut pairs = Vec::new();
    let mut first_bad = None;
    for piece in input.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match piece.iter().position(|b| *b == b'=') {
            Some(i) => (&piece[..i], &piece[i + 1..]),
            None => (piece, &[][..]),
        };
        let mut valid = true;
        let name = decode(name, &mut valid);
        let value = decode(value, &mut valid);
        if !valid && first_bad.is_none() {
            first_bad = Some(name.clone());
        }
        pairs.push((name, value));
    }
    (pairs, first_bad)
}

impl Params {
    /// The query string alone.
    pub fn from_query(query: Option<&str>) -> Params {
        let (query, not_utf8) = parse_pairs_checked(query.unwrap_or("").as_bytes());
        Params {
            query,
            body: Vec::new(),
            files: Vec::new(),
            not_utf8,
        }
    }

    /// The query string and, for `application/x-www-form-urlencoded` bodies, the body.
    pub fn from_request(req: &Request) -> Params {
        let (query, bad_query) = parse_pairs_checked(req.uri.query().unwrap_or("").as_bytes());
        let (body, bad_body) = if is_content_type(req, "application/x-www-form-urlencoded") {
            parse_pairs_checked(req.body.bytes())
        } else {
            (Vec::new(), None)
        };
        Params {
            query,
            body,
            files: Vec::new(),
            not_utf8: bad_query.or(bad_body),
        }
    }

    /// The first parameter whose name or value was not UTF-8 (see [`parse_pairs_checked`]).
    pub fn not_utf8(&self) -> Option<&str> {
        self.not_utf8.as_deref()
    }

    /// [`Params::from_request`], and for `multipart/form-data` bodies the text fields as body
    /// pairs and the file parts written into `dir` (each at most `max_file` bytes).
    pub async fn from_request_with_files(
        req: &Request,
        dir: &std::path::Path,
        max_file: u64,
    ) -> Result<Params, MultipartError> {
        let mut params = Params::from_request(req);
        if !is_content_type(req, "multipart/form-data") {
            return Ok(params);
        }
        let boundary = req
            .header("content-type")
            .map(multer::parse_boundary)
            .ok_or_else(|| MultipartError::Malformed("no boundary".into()))?
            .map_err(|e| MultipartError::Malformed(e.to_string()))?;
        let body = bytes::Bytes::copy_from_slice(req.body.bytes());
        let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        let malformed = |e: multer::Error| MultipartError::Malformed(e.to_string());
        while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                None => {
                    // Read as bytes: a text field that is not UTF-8 is noted like a form
                    // pair's ([`Params::not_utf8`]), never replaced silently.
                    let bytes = field.bytes().await.map_err(malformed)?;
                    let text = match String::from_utf8(bytes.into()) {
                        Ok(text) => text,
                        Err(e) => {
                            params.not_utf8.get_or_insert_with(|| name.clone());
                            String::from_utf8_lossy(e.as_bytes()).into_owned()
                        }
                    };
                    params.body.push((name, text));
                }
                Some(file_name) => {
                    use tokio::io::AsyncWriteExt;
                    tokio::fs::create_dir_all(dir).await?;
                    let path = dir.join(format!("part_{:016x}.tmp", rand::random::<u64>()));
                    // Registered first, so that the file goes whatever happens below.
                    params.files.push(FilePart {
                        name,
                        file_name,
                        path: path.clone(),
                        size: 0,
                    });
                    let mut out = tokio::fs::File::create(&path).await?;
                    let mut size = 0u64;
                    while let Some(chunk) = field.chunk().await.map_err(malformed)? {
                        size += chunk.len() as u64;
                        if size > max_file {
                            return Err(MultipartError::TooLarge(max_file));
                        }
                        out.write_all(&chunk).await?;
                    }
                    out.flush().await?;
                    if let Some(part) = params.files.last_mut() {
                        part.size = size;
                    }
                }
            }
        }
        Ok(params)
    }

    /// The file parts of a multipart body.
    pub fn files(&self) -> &[FilePart] {
        &self.files
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
    /// Linear in the number of pairs: the last pair of a name in [`Params::pairs`] order is the
    /// one [`Params::get`] answers, because the body's pairs come after the query string's.
    pub fn merged(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        let mut at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (k, v) in self.pairs() {
            match at.get(k) {
                Some(&i) => out[i].1 = v,
                None => {
                    at.insert(k, out.len());
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

    /// A `multipart/form-data` POST (boundary `XyZ`) to `target`.
    fn multipart(target: &str, body: impl Into<bytes::Bytes>) -> Request {
        Request::new(
            http::Method::POST,
            target,
            [(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("multipart/form-data; boundary=XyZ"),
            )]
            .into_iter()
            .collect(),
            body,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn multipart_fields_and_file_parts() {
        let dir = tempfile::tempdir().unwrap();
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"func\"\r\n\r\nbackup.upload\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.tar.gz\"\r\nContent-Type: application/octet-stream\r\n\r\n0123456789\r\n--XyZ--\r\n";
        let req = multipart("/billmgr?out=xml&func=ignored", body);
        let p = Params::from_request_with_files(&req, dir.path(), 100)
            .await
            .unwrap();
        assert_eq!(p.get("func"), Some("backup.upload"), "the body wins");
        assert_eq!(p.get("out"), Some("xml"));
        let file = &p.files()[0];
        assert_eq!(
            (file.name.as_str(), file.file_name.as_str(), file.size),
            ("file", "a.tar.gz", 10)
        );
        assert_eq!(std::fs::read(&file.path).unwrap(), b"0123456789");
        let path = file.path.clone();
        drop(p);
        assert!(!path.exists(), "file parts are removed with the parameters");
        let too_large = Params::from_request_with_files(&req, dir.path(), 5).await;
        assert!(matches!(too_large, Err(MultipartError::TooLarge(5))));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing left behind"
        );
    }

    #[tokio::test]
    async fn a_multipart_text_field_that_is_not_utf8_is_noted() {
        let dir = tempfile::tempdir().unwrap();
        let body: &[u8] = b"--XyZ\r\nContent-Disposition: form-data; name=\"ok\"\r\n\r\nyes\r\n--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nA\xff\xfeB\r\n--XyZ--\r\n";
        let req = multipart(
            "/billmgr?func=account.edit",
            bytes::Bytes::from_static(body),
        );
        let p = Params::from_request_with_files(&req, dir.path(), 100)
            .await
            .unwrap();
        assert_eq!(p.not_utf8(), Some("name"));
        assert_eq!(p.get("ok"), Some("yes"));
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
