//! Test-only crate; see integration/.
