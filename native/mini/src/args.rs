//! The command line of `curvine-mini`.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

pub const USAGE: &str = "usage: curvine-mini [--masters N] [--leader I] [--workers N] \
[--host IP] [--data-dir DIR] [--worker-hostname NAME] [--min-block-size BYTES] \
[--block-path-root DIR] [--foreground]";

/// The smallest block size a file may ask for unless told otherwise. Real
/// Curvine masters refuse anything under 1 MiB; tests want small blocks, so
/// the mini cluster accepts down to 4 KiB (`--min-block-size 1048576` gives
/// Curvine's own bound).
pub const DEFAULT_MIN_BLOCK_SIZE: i64 = 4096;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args {
    pub masters: usize,
    pub leader: usize,
    pub workers: usize,
    pub host: IpAddr,
    pub data_dir: Option<PathBuf>,
    /// Short-circuit paths name block files under this directory instead
    /// of the data directory: a worker whose files this host cannot see.
    pub block_path_root: Option<PathBuf>,
    pub worker_hostname: String,
    pub min_block_size: i64,
    pub foreground: bool,
}

/// A bad command line, worded for the person who typed it, or a request
/// for the usage text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgsError(pub String);

impl ArgsError {
    pub fn is_help(&self) -> bool {
        self.0 == USAGE
    }
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Default for Args {
    fn default() -> Args {
        Args {
            masters: 1,
            leader: 0,
            workers: 1,
            host: IpAddr::from([127, 0, 0, 1]),
            data_dir: None,
            block_path_root: None,
            worker_hostname: "localhost".to_string(),
            min_block_size: DEFAULT_MIN_BLOCK_SIZE,
            foreground: false,
        }
    }
}

fn value(parser: &mut lexopt::Parser, flag: &str) -> Result<String, ArgsError> {
    let v = parser.value().map_err(|e| ArgsError(e.to_string()))?;
    v.into_string()
        .map_err(|v| ArgsError(format!("{flag}: value {v:?} is not UTF-8")))
}

fn number<T: std::str::FromStr>(flag: &str, value: &str, what: &str) -> Result<T, ArgsError> {
    value
        .parse()
        .map_err(|_| ArgsError(format!("{flag}: expected {what}, got {value:?}")))
}

impl Args {
    /// Parses the arguments after the program name.
    pub fn parse<I>(args: I) -> Result<Args, ArgsError>
    where
        I: IntoIterator,
        I::Item: Into<std::ffi::OsString>,
    {
        use lexopt::prelude::*;

        let mut out = Args::default();
        let mut parser = lexopt::Parser::from_args(args);
        let bad = |e: lexopt::Error| ArgsError(e.to_string());
        while let Some(arg) = parser.next().map_err(bad)? {
            match arg {
                Long("masters") => {
                    out.masters = number(
                        "--masters",
                        &value(&mut parser, "--masters")?,
                        "a count >= 1",
                    )?;
                }
                Long("leader") => {
                    out.leader = number(
                        "--leader",
                        &value(&mut parser, "--leader")?,
                        "a master index",
                    )?;
                }
                Long("workers") => {
                    out.workers = number(
                        "--workers",
                        &value(&mut parser, "--workers")?,
                        "a count >= 0",
                    )?;
                }
                Long("host") => {
                    out.host = number("--host", &value(&mut parser, "--host")?, "an IP address")?;
                }
                Long("data-dir") => {
                    out.data_dir = Some(PathBuf::from(value(&mut parser, "--data-dir")?))
                }
                Long("block-path-root") => {
                    out.block_path_root =
                        Some(PathBuf::from(value(&mut parser, "--block-path-root")?))
                }
                Long("worker-hostname") => {
                    let name = value(&mut parser, "--worker-hostname")?;
                    if name.is_empty() {
                        return Err(ArgsError(
                            "--worker-hostname: expected a host name, got an empty string".into(),
                        ));
                    }
                    out.worker_hostname = name;
                }
                Long("min-block-size") => {
                    let v = value(&mut parser, "--min-block-size")?;
                    out.min_block_size = number("--min-block-size", &v, "a byte count")?;
                }
                Long("foreground") => out.foreground = true,
                Long("help") | Short('h') => return Err(ArgsError(USAGE.to_string())),
                _ => return Err(ArgsError(format!("{}; {USAGE}", arg.unexpected()))),
            }
        }

        if out.masters == 0 {
            return Err(ArgsError("--masters: expected a count >= 1, got 0".into()));
        }
        if out.leader >= out.masters {
            return Err(ArgsError(format!(
                "--leader: expected a master index below {}, got {}",
                out.masters, out.leader
            )));
        }
        if out.min_block_size <= 0 {
            return Err(ArgsError(format!(
                "--min-block-size: expected a positive byte count, got {}",
                out.min_block_size
            )));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_flags() {
        assert_eq!(Args::parse(Vec::<String>::new()).unwrap(), Args::default());
        let a = Args::parse([
            "--masters",
            "3",
            "--leader",
            "1",
            "--workers=2",
            "--foreground",
        ])
        .unwrap();
        assert_eq!(
            (a.masters, a.leader, a.workers, a.foreground),
            (3, 1, 2, true)
        );
    }

    #[test]
    fn bad_values_name_the_flag() {
        let err = Args::parse(["--masters", "x"]).unwrap_err();
        assert!(err.0.contains("--masters"), "{err}");
        let err = Args::parse(["--masters", "2", "--leader", "2"]).unwrap_err();
        assert!(err.0.contains("--leader"), "{err}");
        assert!(Args::parse(["--bogus"]).is_err());
        assert!(Args::parse(["--host", "nowhere"]).is_err());
    }
}
