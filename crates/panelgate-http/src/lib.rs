//! Everything of panelgate's HTTP side that is not a wire format. A request goes:
//!
//! 1. [`Request::collect`]: the body under a size limit and a read timeout ([`BodyLimits`]);
//! 2. [`Context::new`]: the request id (the client's `X-Request-Id` or a new one);
//! 3. [`Router::route`]: the [`Frontend`] that serves the path;
//! 4. the frontend: [`Params`] and [`auth`] helpers to read it, the core to run it,
//!    [`response()`] / [`download`] to answer; it notes the call and the actor in the context
//!    for the one log line the server writes per request.
//!
//! Modules: [`request`] (the request and its body), [`response`](mod@response) (answers, downloads),
//! [`params`] (the ordered parameter multimap), [`auth`] (Basic, Bearer, cookies),
//! [`context`] (context, frontend trait, router), [`xml`] (the XML document model, capped
//! reader and writer).

pub mod auth;
pub mod context;
pub mod faults;
pub mod params;
pub mod redact;
pub mod request;
pub mod response;
pub mod xml;

pub use context::{BoxFuture, Context, Frontend, Router, REQUEST_ID};
pub use params::Params;
pub use request::{
    body_reader, Body, BodyLimits, Request, DEFAULT_BODY_LIMIT, DEFAULT_BODY_READ_TIMEOUT,
};
pub use response::{
    content_disposition, download, response, stream_files, BodyText, Response, ResponseBody,
};
