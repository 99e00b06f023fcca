//! panelgate's end-to-end tests: every test drives the real router (in process) or the real
//! binary over a socket. One test binary, to save link time.

mod backups;
mod captures;
mod froxlor_api;
mod froxlor_captures;
mod froxlor_golden;
mod isolation;
mod plesk;
mod plesk_golden;
mod robustness;
mod security;
