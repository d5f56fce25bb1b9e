//! `curvine-mini`: masters (one of them the leader) and workers of a Curvine
//! cluster in one process, speaking Curvine's client protocol, for tests and
//! demos.

mod args;
mod block_store;
mod cluster;
mod commands;
mod master;
mod namespace;
mod nodes;
mod retry_cache;
mod service;
mod worker;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::args::Args;
use crate::nodes::Nodes;

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args_os().skip(1)) {
        Ok(args) => args,
        Err(e) if e.is_help() => {
            println!("{e}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("curvine-mini: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("curvine-mini: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    // Signals are caught before anything is created, so that a SIGTERM at
    // any later point still removes the temporary directory.
    let signals = Signals::new([SIGINT, SIGTERM])
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;

    let (data_dir, temp) = match &args.data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create data directory {}: {e}", dir.display()))?;
            (dir.clone(), None)
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("curvine-mini-")
                .tempdir()
                .map_err(|e| format!("cannot create a temporary data directory: {e}"))?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };

    let outcome = serve(args, &data_dir, signals);
    if let Some(temp) = temp {
        let _ = temp.close();
    }
    outcome
}

fn serve(args: &Args, data_dir: &std::path::Path, mut signals: Signals) -> Result<(), String> {
    let nodes = Nodes::start(args, data_dir)?;
    announce(&nodes, data_dir).map_err(|e| format!("cannot write to stdout: {e}"))?;

    let (done_tx, done_rx) = mpsc::channel::<()>();
    let handle = signals.handle();
    {
        let done = done_tx.clone();
        thread::spawn(move || {
            if signals.forever().next().is_some() {
                let _ = done.send(());
            }
        });
    }

    let nodes = std::sync::Arc::new(nodes);
    if !args.foreground {
        let nodes = nodes.clone();
        let done = done_tx.clone();
        thread::spawn(move || {
            let stdin = io::stdin();
            commands::run(&nodes, stdin.lock(), io::stdout());
            let _ = done.send(());
        });
    }
    drop(done_tx);

    let _ = done_rx.recv();
    handle.close();
    Ok(())
}

/// The one JSON line a driver waits for before it talks to the cluster.
fn announce(nodes: &Nodes, data_dir: &std::path::Path) -> io::Result<()> {
    let endpoint = |a| nodes.cluster.endpoint(a);
    let line = serde_json::json!({
        "masters": nodes.master_addrs().into_iter().map(endpoint).collect::<Vec<_>>(),
        "leader": nodes.cluster.leader_endpoint(),
        "workers": nodes.worker_addrs().into_iter().map(endpoint).collect::<Vec<_>>(),
        "data_dir": PathBuf::from(data_dir).display().to_string(),
    });
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}
