//! What every benchmark starts from: a multi-threaded runtime and the demo data set in a fresh
//! SQLite database.

use std::future::Future;
use std::sync::Arc;

use panelgate_core::{Core, SystemCap};

/// A core on a temporary SQLite file with the demo data loaded (the file lives as long as this).
pub struct Demo {
    pub core: Core,
    pub system: Arc<SystemCap>,
    /// Kept for the database file's lifetime.
    pub _dir: tempfile::TempDir,
}

/// Run `body` on a multi-threaded runtime, as the server does.
pub fn run<F: Future>(body: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(body)
}

impl Demo {
    /// The router over this core, with the default options.
    pub fn app(&self) -> panelgate_server::App {
        panelgate_server::App::new(
            self.core.clone(),
            self.system.clone(),
            panelgate_server::AppOptions::default(),
        )
    }
}

pub async fn demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let (core, system) = Core::open(&url, dir.path()).await.unwrap();
    core.load(&system, &panelgate_server::demo_data().unwrap())
        .await
        .unwrap();
    Demo {
        core,
        system: Arc::new(system),
        _dir: dir,
    }
}
