//! The `panelgate` binary.

use clap::Parser;
use panelgate_server::cli;
use panelgate_server::config::{Cli, Command, Config};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's malloc: request memory is often freed on another worker thread
/// than the one that allocated it (the request journal keeps entries that a later request on
/// any thread drops), and glibc then waits for the other thread's arena lock; its arenas also
/// held twice the memory. Measured with `panelgate-bench --overhead` (see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let (args, import) = match cli.command {
        Some(Command::Serve(args)) => (args, None),
        Some(Command::Import(a)) => (a.serve, Some(a.file)),
        Some(Command::Reset(c)) => return operate(async move { cli::reset(&c).await }),
        Some(Command::Snapshot(a)) => return operate(async move { cli::snapshot(&a).await }),
        Some(Command::Journal(a)) => return operate(async move { cli::journal(&a).await }),
        Some(Command::Faults(a)) => return operate(async move { cli::faults(&a).await }),
        None => (cli.serve, None),
    };
    let config = match Config::resolve(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("panelgate: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let filter =
        EnvFilter::try_from_env("PANELGATE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    if config.json_logs {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("panelgate: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Some(file) = import {
        return runtime.block_on(async move {
            match panelgate_server::import(&config, &file).await {
                Ok(summary) => {
                    print!("{summary}");
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("panelgate: {e}");
                    std::process::ExitCode::FAILURE
                }
            }
        });
    }
    runtime.block_on(async move {
        let (app, loaded_demo) = match panelgate_server::build(&config).await {
            Ok(x) => x,
            Err(e) => {
                eprintln!("panelgate: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
        let listener = match tokio::net::TcpListener::bind(config.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("panelgate: cannot listen on {}: {e}", config.listen);
                return std::process::ExitCode::FAILURE;
            }
        };
        let addr = listener.local_addr().unwrap_or(config.listen);
        let tls = match panelgate_server::tls::setup(&config) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("panelgate: TLS: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
        let mut tls_listeners = Vec::new();
        let mut bound_urls = vec![format!("http://{addr}")];
        if let Some(tls) = &tls {
            for at in &config.tls_listen {
                match tokio::net::TcpListener::bind(at).await {
                    Ok(l) => {
                        let bound = l
                            .local_addr()
                            .map_or_else(|_| at.to_string(), |a| a.to_string());
                        print!("{}", panelgate_server::tls_banner(&bound, tls));
                        bound_urls.push(format!("https://{bound}"));
                        tls_listeners.push((l, tls.acceptor.clone()));
                    }
                    Err(e) => {
                        eprintln!("panelgate: cannot listen on {at} (TLS): {e}");
                        return std::process::ExitCode::FAILURE;
                    }
                }
            }
        }
        let app = app.with_listeners(bound_urls);
        print!(
            "{}",
            panelgate_server::banner(&config, addr, app.core().backend_name(), loaded_demo)
        );
        tracing::info!(%addr, database = app.core().backend_name(), "listening");
        let worker = panelgate_core::backup_worker::Worker::new(app.core().clone());
        // Every backend: temporary files older than a lease are leftovers of a stopped process.
        match worker.remove_orphan_tmp_files().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(files = n, "removed temporary files left by an earlier run"),
            Err(e) => tracing::error!(error = %e, "removing leftover temporary files"),
        }
        if app.core().backend_name() == "sqlite" {
            // One process owns a SQLite file: whatever was `working` was cut off by the last one.
            match worker.recover_after_restart().await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    tasks = n,
                    "marked backup tasks interrupted by the previous run as failed"
                ),
                Err(e) => tracing::error!(error = %e, "recovering interrupted backup tasks"),
            }
        }
        let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
        let worker_task = tokio::spawn(worker.run(
            config.backup_job_delay,
            std::time::Duration::from_millis(250),
            worker_stopped,
        ));
        // One shutdown signal for both listeners.
        let stop = tokio_util::sync::CancellationToken::new();
        let signalled = stop.clone();
        tokio::spawn(async move {
            panelgate_server::shutdown_signal().await;
            signalled.cancel();
        });
        let https: Vec<_> = tls_listeners
            .into_iter()
            .map(|(l, acceptor)| {
                let (app, stop) = (app.clone(), stop.clone());
                tokio::spawn(async move {
                    panelgate_server::serve_with(app, l, Some(acceptor), stop.cancelled_owned())
                        .await
                })
            })
            .collect();
        panelgate_server::serve(app, listener, stop.clone().cancelled_owned()).await;
        for listener in https {
            let _ = listener.await;
        }
        let _ = stop_worker.send(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), worker_task).await;
        std::process::ExitCode::SUCCESS
    })
}

/// Run one operator command against a running server's control API.
fn operate(work: impl std::future::Future<Output = Result<(), String>>) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("panelgate: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("panelgate: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
