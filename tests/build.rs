//! One test per golden case: writes `$OUT_DIR/golden_cases.rs` with a `#[tokio::test]` for every
//! case file in fixtures/{froxlor,plesk,ispsystem,httpapi}/cases, so that each case is its own
//! trial (named after its file, run in parallel, reported on its own).

use std::fmt::Write as _;
use std::path::Path;

fn cases(dir: &Path) -> Vec<String> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    names
}

fn ident(file: &str) -> String {
    file.trim_end_matches(".toml")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut out = String::new();
    for (module, dir, runner) in [
        (
            "froxlor_case",
            "froxlor/cases",
            "crate::froxlor_golden::run_case",
        ),
        ("plesk_case", "plesk/cases", "crate::plesk_golden::run_case"),
        (
            "ispsystem_case",
            "ispsystem/cases",
            "crate::ispsystem_golden::run_case",
        ),
        (
            "httpapi_case",
            "httpapi/cases",
            "crate::httpapi_golden::run_case",
        ),
    ] {
        let names = cases(&root.join(dir));
        writeln!(out, "pub mod {module} {{").unwrap();
        writeln!(out, "    pub const COUNT: usize = {};", names.len()).unwrap();
        for name in &names {
            writeln!(
                out,
                "    #[tokio::test]\n    async fn {}() {{\n        {runner}({name:?}).await;\n    }}",
                ident(name)
            )
            .unwrap();
        }
        writeln!(out, "}}").unwrap();
    }
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("golden_cases.rs");
    std::fs::write(dest, out).unwrap();
}
