//! Runs the mini cluster binary (built from native/mini on first use) for
//! the duration of a test.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

fn binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let native = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-q", "-p", "curvine-mini"])
                .current_dir(&native)
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building curvine-mini failed");
            let target = std::env::var("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| native.join("target"));
            target.join("debug").join("curvine-mini")
        })
        .clone()
}

pub struct Mini {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pub masters: String,
    pub workers: Vec<String>,
    pub data_dir: String,
}

impl Mini {
    pub fn start(args: &[&str]) -> Mini {
        let mut child = Command::new(binary())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("curvine-mini starts");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("announce line");
        let v: serde_json::Value = serde_json::from_str(&line).expect("announce is JSON");
        let list = |k: &str| -> Vec<String> {
            v[k].as_array()
                .expect("endpoint list")
                .iter()
                .map(|e| e.as_str().expect("endpoint string").to_string())
                .collect()
        };
        Mini {
            masters: list("masters").join(","),
            workers: list("workers"),
            data_dir: v["data_dir"].as_str().unwrap_or_default().to_string(),
            child,
            stdin,
            stdout,
        }
    }

    /// Sends a control command and checks its `ok`.
    pub fn command(&mut self, cmd: &str) {
        writeln!(self.stdin, "{cmd}").expect("command sent");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("command answered");
        assert_eq!(line.trim(), "ok", "{cmd}: {line}");
    }
}

impl Drop for Mini {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.child.wait();
    }
}
