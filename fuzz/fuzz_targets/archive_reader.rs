//! The archive reader (restores, uploads, listings): manifest, checksums and tar entries,
//! under the read limits.
//!
//! Input: a tar stream. It is read as given and also gzip-compressed (the archives panelgate
//! writes are tar.gz), so the fuzzer works on the tar layer instead of on deflate.
//! Asserts: a checked archive respects every limit; what it reports matches what was extracted;
//! the two readings agree.
#![no_main]

use std::io::{Read, Write};

use libfuzzer_sys::fuzz_target;
use panelgate_core::backup::archive::{read_checked, ReadLimits};

const LIMITS: ReadLimits = ReadLimits {
    max_unpacked: 1 << 20,
    max_entries: 64,
    max_header: 16 * 1024,
};

fn read(source: Vec<u8>) -> Result<(usize, Vec<(String, u64)>), String> {
    let mut extracted: Vec<(String, u64)> = Vec::new();
    let mut take = |path: &str, _manifest: &_, data: &mut dyn Read| -> std::io::Result<()> {
        let n = std::io::copy(data, &mut std::io::sink())?;
        extracted.push((path.to_owned(), n));
        Ok(())
    };
    let checked = read_checked(std::io::Cursor::new(source), LIMITS, Some(&mut take))
        .map_err(|e| e.to_string())?;
    let total: u64 = checked.files.values().map(|f| f.size).sum();
    assert!(total <= LIMITS.max_unpacked);
    assert!(checked.files.len() as u64 <= LIMITS.max_entries);
    for (path, size) in &extracted {
        let sum = checked.files.get(path).expect("every extracted file is checked");
        assert_eq!(sum.size, *size);
    }
    Ok((checked.files.len(), extracted))
}

fuzz_target!(|data: &[u8]| {
    // An input that is itself gzip is read through the gzip layer already.
    if data.starts_with(&[0x1f, 0x8b]) {
        let _ = read(data.to_vec());
        return;
    }
    let plain = read(data.to_vec());
    // The gzip layer on one input in eight (it costs more than the read itself).
    if data.len() % 8 != 0 {
        return;
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).expect("compressing into memory");
    let compressed = read(gz.finish().expect("compressing into memory"));
    match (&plain, &compressed) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => panic!("the gzip layer changed the verdict: {plain:?} / {compressed:?}"),
    }
});
