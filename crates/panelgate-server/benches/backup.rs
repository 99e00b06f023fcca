//! `cargo bench -p panelgate-server --bench backup`: archive throughput for a 200 MB home folder
//! and the peak RSS while writing it; then the RSS growth while the archive is downloaded through
//! the router (it streams, so it stays flat however large the archive).

use std::time::Instant;

use http_body_util::BodyExt;
use panelgate_core::backup_worker::Worker;
use panelgate_core::backups::{BackupOptions, BackupScope, ServerSettings};

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Reset the peak-RSS counter (Linux: `echo 5 > /proc/self/clear_refs`).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Write `len` bytes in 64 KiB chunks (so the benchmark itself holds no large buffers):
/// pseudo-random noise (incompressible) or repeated text.
fn write_file(path: &std::path::Path, len: usize, mut seed: u64, text: bool) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut chunk = vec![0u8; 64 * 1024];
    let mut written = 0;
    while written < len {
        if text {
            const TEXT: &[u8] = b"<p>hello panelgate</p>\n";
            for (i, b) in chunk.iter_mut().enumerate() {
                *b = TEXT[i % TEXT.len()];
            }
        } else {
            for word in chunk.chunks_mut(8) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                word.copy_from_slice(&seed.to_le_bytes());
            }
        }
        let n = chunk.len().min(len - written);
        out.write_all(&chunk[..n]).unwrap();
        written += n;
    }
}

mod support;

fn main() {
    support::run(async {
        let demo = support::demo().await;
        let (core, system) = (demo.core.clone(), demo.system.clone());
        let home = core.home_dir("customer1").unwrap();
        std::fs::create_dir_all(&home).unwrap();
        const FILES: usize = 100;
        const SIZE: usize = 2 << 20;
        for i in 0..FILES {
            // Half incompressible noise, half text, as a web root mixes both.
            write_file(
                &home.join(format!("file{i:03}.dat")),
                SIZE,
                0x2545_f491_4f6c_dd1d + i as u64,
                i % 2 == 1,
            );
        }
        let input_mb = (FILES * SIZE) as f64 / 1e6;
        println!("home folder: {FILES} files, {input_mb:.0} MB");
        for compress in [true, false] {
            core.backups()
                .set_server_settings(
                    &system.actor(),
                    &ServerSettings {
                        do_not_compress: !compress,
                        max_backup_processes: 1,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            reset_peak();
            let rss_before = rss_kib("VmRSS:");
            let started = Instant::now();
            let task = core
                .backups()
                .start(
                    &system.actor(),
                    BackupScope::Customer(1),
                    BackupOptions::default(),
                )
                .await
                .unwrap();
            Worker::new(core.clone()).run_until_idle().await.unwrap();
            let elapsed = started.elapsed().as_secs_f64();
            let task = core.backups().task(&system.actor(), task.id).await.unwrap();
            let archive = core
                .backups()
                .archive(&system.actor(), task.archive_id.unwrap())
                .await
                .unwrap();
            println!(
                "backup ({}): {:.2} s, {:.1} MB/s of home data, archive {:.1} MB, RSS before {} KiB, peak RSS {} KiB",
                if compress { "tar.gz" } else { "tar" },
                elapsed,
                input_mb / elapsed,
                archive.size as f64 / 1e6,
                rss_before,
                rss_kib("VmHWM:")
            );

            let app = demo.app();
            reset_peak();
            let rss_before = rss_kib("VmRSS:");
            let started = Instant::now();
            let req = panelgate_http::Request::new(
                http::Method::GET,
                &format!("/_panelgate/archives/{}/download", archive.id),
                http::HeaderMap::new(),
                bytes::Bytes::new(),
            )
            .unwrap();
            let mut body = app.handle(req).await.into_body();
            let mut total = 0u64;
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame.unwrap().into_data() {
                    total += data.len() as u64;
                }
            }
            let elapsed = started.elapsed().as_secs_f64();
            let peak = rss_kib("VmHWM:");
            println!(
                "download: {:.1} MB in {:.2} s ({:.0} MB/s), RSS before {} KiB, peak {} KiB (growth {} KiB for a {:.0} MB archive)",
                total as f64 / 1e6,
                elapsed,
                total as f64 / 1e6 / elapsed,
                rss_before,
                peak,
                peak.saturating_sub(rss_before),
                archive.size as f64 / 1e6
            );
            assert_eq!(total, archive.size as u64);
        }
    });
}
