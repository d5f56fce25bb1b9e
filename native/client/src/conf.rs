//! Client settings: the keys of Curvine's `[client]` table that this client
//! uses, with Curvine's defaults, typed from strings as Curvine reads them.

use std::time::Duration;

use crate::endpoint::Endpoint;
use crate::error::{Code, Error, Result};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// Settings for one client.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientConf {
    /// Masters to try; empty means `localhost:8995`, as Curvine derives it.
    pub master_addrs: Vec<Endpoint>,
    /// This client's host name, for locality and short-circuit access;
    /// $CURVINE_CLIENT_HOSTNAME or "localhost" by default, as in Curvine.
    pub hostname: String,
    pub conn_timeout: Duration,
    pub rpc_timeout: Duration,
    pub data_timeout: Duration,
    pub rpc_retry_max_duration: Duration,
    pub rpc_retry_min_sleep: Duration,
    pub rpc_retry_max_sleep: Duration,
    /// Idle sockets kept per master.
    pub master_conn_pool_size: usize,
    /// Default block size of new files.
    pub block_size: u64,
    /// Default replica count of new files.
    pub replicas: i32,
    pub write_chunk_size: u64,
    pub write_chunk_num: u32,
    pub read_chunk_size: u64,
    pub read_chunk_num: u32,
    /// Read and write block files directly when the worker shares the host.
    pub short_circuit: bool,
    /// Curvine's StorageTypeProto number for new files.
    pub storage_type: i32,
    pub enable_read_ahead: bool,
    /// 0 means read_chunk_num × read_chunk_size.
    pub read_ahead_len: u64,
    pub drop_cache_len: u64,
    /// Idle sockets kept per worker.
    pub block_conn_idle_size: usize,
    pub block_conn_idle_time: Duration,
    /// Permission bits removed from new files and directories.
    pub umask: u32,
}

impl Default for ClientConf {
    fn default() -> ClientConf {
        ClientConf {
            master_addrs: Vec::new(),
            hostname: hostname_from(std::env::var("CURVINE_CLIENT_HOSTNAME").ok()),
            conn_timeout: Duration::from_millis(30_000),
            rpc_timeout: Duration::from_millis(120_000),
            data_timeout: Duration::from_millis(120_000),
            rpc_retry_max_duration: Duration::from_millis(120_000),
            rpc_retry_min_sleep: Duration::from_millis(100),
            rpc_retry_max_sleep: Duration::from_millis(10_000),
            master_conn_pool_size: 3,
            block_size: 128 * MIB,
            replicas: 1,
            write_chunk_size: 128 * KIB,
            write_chunk_num: 8,
            read_chunk_size: 128 * KIB,
            read_chunk_num: 8,
            short_circuit: true,
            storage_type: 4,
            enable_read_ahead: true,
            read_ahead_len: 0,
            drop_cache_len: MIB,
            block_conn_idle_size: 128,
            block_conn_idle_time: Duration::from_millis(60_000),
            umask: 0o022,
        }
    }
}

/// The keys `set` accepts.
pub const KEYS: &[&str] = &[
    "master_addrs",
    "hostname",
    "conn_timeout_ms",
    "rpc_timeout_ms",
    "data_timeout_ms",
    "rpc_retry_max_duration_ms",
    "rpc_retry_min_sleep_ms",
    "rpc_retry_max_sleep_ms",
    "master_conn_pool_size",
    "block_size",
    "replicas",
    "write_chunk_size",
    "write_chunk_num",
    "read_chunk_size",
    "read_chunk_num",
    "short_circuit",
    "storage_type",
    "enable_read_ahead",
    "read_ahead_len",
    "drop_cache_len",
    "block_conn_idle_size",
    "block_conn_idle_time_ms",
    "umask",
];

impl ClientConf {
    /// Sets one key from its string form. An unknown key is a
    /// `Code::UnknownOption` error and a bad value `Code::InvalidArgument`;
    /// either way nothing changes.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let v = value.trim();
        match key {
            "master_addrs" => self.master_addrs = Endpoint::parse_list(v)?,
            "hostname" => {
                if v.is_empty() {
                    return Err(bad(key, value, "a non-empty host name"));
                }
                self.hostname = v.to_string();
            }
            "conn_timeout_ms" => self.conn_timeout = positive_duration(key, value)?,
            "rpc_timeout_ms" => self.rpc_timeout = positive_duration(key, value)?,
            "data_timeout_ms" => self.data_timeout = positive_duration(key, value)?,
            "rpc_retry_max_duration_ms" => {
                self.rpc_retry_max_duration = positive_duration(key, value)?
            }
            "rpc_retry_min_sleep_ms" => self.rpc_retry_min_sleep = parse_duration(key, value)?,
            "rpc_retry_max_sleep_ms" => self.rpc_retry_max_sleep = parse_duration(key, value)?,
            "master_conn_pool_size" => self.master_conn_pool_size = parse_count(key, value)?,
            "block_size" => self.block_size = positive_size(key, value)?,
            "replicas" => {
                let n = parse_count(key, value)?;
                if !(1..=99).contains(&n) {
                    return Err(bad(key, value, "a replica count from 1 to 99"));
                }
                self.replicas = n as i32;
            }
            "write_chunk_size" => self.write_chunk_size = chunk_size(key, value)?,
            "write_chunk_num" => self.write_chunk_num = parse_count(key, value)? as u32,
            "read_chunk_size" => self.read_chunk_size = chunk_size(key, value)?,
            "read_chunk_num" => self.read_chunk_num = parse_count(key, value)? as u32,
            "short_circuit" => self.short_circuit = parse_bool(key, value)?,
            "storage_type" => self.storage_type = parse_storage_type(key, value)?,
            "enable_read_ahead" => self.enable_read_ahead = parse_bool(key, value)?,
            "read_ahead_len" => self.read_ahead_len = parse_size(key, value)?,
            "drop_cache_len" => self.drop_cache_len = parse_size(key, value)?,
            "block_conn_idle_size" => self.block_conn_idle_size = parse_count(key, value)?,
            "block_conn_idle_time_ms" => self.block_conn_idle_time = parse_duration(key, value)?,
            "umask" => self.umask = parse_umask(key, value)?,
            _ => {
                return Err(Error::new(
                    Code::UnknownOption,
                    format!("unknown client option {key:?} (known: {})", KEYS.join(", ")),
                ))
            }
        }
        Ok(())
    }

    /// The masters to try, with Curvine's fallback for an empty list.
    pub fn masters(&self) -> Vec<Endpoint> {
        if self.master_addrs.is_empty() {
            vec![Endpoint::new("localhost", 8995)]
        } else {
            self.master_addrs.clone()
        }
    }

    /// Checks the settings that only make sense together.
    pub fn validate(&self) -> Result<()> {
        if self.rpc_retry_min_sleep > self.rpc_retry_max_sleep {
            return Err(Error::invalid(format!(
                "rpc_retry_min_sleep_ms ({} ms) is above rpc_retry_max_sleep_ms ({} ms)",
                self.rpc_retry_min_sleep.as_millis(),
                self.rpc_retry_max_sleep.as_millis()
            )));
        }
        if self.block_size >= 1 << 32 {
            return Err(Error::invalid(format!(
                "block_size {} is 4 GiB or more; Curvine masters keep block sizes in 32 bits",
                self.block_size
            )));
        }
        Ok(())
    }

    /// Whether to ask workers to read ahead: as Curvine decides it, never
    /// for a prefetch depth of one chunk or a read-ahead under 256 KiB.
    pub fn effective_enable_read_ahead(&self) -> bool {
        self.enable_read_ahead
            && self.read_chunk_num > 1
            && self.effective_read_ahead_len() >= 256 * KIB
    }

    /// Bytes the worker reads ahead, with Curvine's derivation for 0.
    pub fn effective_read_ahead_len(&self) -> u64 {
        if self.read_ahead_len == 0 {
            self.read_chunk_size * self.read_chunk_num as u64
        } else {
            self.read_ahead_len
        }
    }
}

/// The default host name: the environment's, else Curvine's "localhost".
fn hostname_from(env: Option<String>) -> String {
    env.map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn bad(key: &str, value: &str, expected: &str) -> Error {
    Error::invalid(format!(
        "bad value {value:?} for client option {key}: expected {expected}"
    ))
}

/// Splits "1.5GB" into ("1.5", "gb").
fn split_number(value: &str) -> (&str, String) {
    let v = value.trim();
    let at = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    (&v[..at], v[at..].trim().to_ascii_lowercase())
}

/// A size as Curvine reads it: binary units K/KB, M/MB, G/GB, T/TB, P/PB, an
/// optional B, plain digits for bytes, fractions allowed with a unit.
pub fn parse_size(key: &str, value: &str) -> Result<u64> {
    let expected = "a size such as 1048576, \"128KB\", \"64MB\" or \"1.5GB\"";
    let (number, unit) = split_number(value);
    let scale: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" => KIB,
        "m" | "mb" => MIB,
        "g" | "gb" => 1 << 30,
        "t" | "tb" => 1 << 40,
        "p" | "pb" => 1 << 50,
        _ => return Err(bad(key, value, expected)),
    };
    if number.is_empty() {
        return Err(bad(key, value, expected));
    }
    if let Ok(n) = number.parse::<u64>() {
        return n
            .checked_mul(scale)
            .ok_or_else(|| bad(key, value, expected));
    }
    let f: f64 = number.parse().map_err(|_| bad(key, value, expected))?;
    let bytes = f * scale as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(bad(key, value, expected));
    }
    Ok(bytes as u64)
}

/// A duration: plain digits are milliseconds; units ms, s, m, h, d.
pub fn parse_duration(key: &str, value: &str) -> Result<Duration> {
    let expected = "milliseconds such as 30000, or a duration such as \"30s\", \"500ms\", \"2m\"";
    let (number, unit) = split_number(value);
    let scale: f64 = match unit.as_str() {
        "" | "ms" => 1.0,
        "s" => 1e3,
        "m" | "min" => 60e3,
        "h" => 3600e3,
        "d" => 86400e3,
        _ => return Err(bad(key, value, expected)),
    };
    let f: f64 = number.parse().map_err(|_| bad(key, value, expected))?;
    let ms = f * scale;
    if !ms.is_finite() || ms > 1e15 {
        return Err(bad(key, value, expected));
    }
    Ok(Duration::from_micros((ms * 1000.0).round() as u64))
}

fn positive_duration(key: &str, value: &str) -> Result<Duration> {
    let d = parse_duration(key, value)?;
    if d.is_zero() {
        return Err(bad(key, value, "a duration above zero"));
    }
    Ok(d)
}

fn positive_size(key: &str, value: &str) -> Result<u64> {
    let n = parse_size(key, value)?;
    if n == 0 {
        return Err(bad(key, value, "a size above zero"));
    }
    Ok(n)
}

/// Chunks travel in one frame, so they are bounded by the frame data limit.
fn chunk_size(key: &str, value: &str) -> Result<u64> {
    let n = parse_size(key, value)?;
    if n == 0 || n > wire::frame::MAX_DATA_LEN as u64 {
        return Err(bad(key, value, "a chunk size from 1 byte to 16MB"));
    }
    Ok(n)
}

pub fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(key, value, "true or false")),
    }
}

fn parse_count(key: &str, value: &str) -> Result<usize> {
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n <= i32::MAX as usize)
        .ok_or_else(|| bad(key, value, "a whole number"))
}

fn parse_storage_type(key: &str, value: &str) -> Result<i32> {
    match value.trim().to_ascii_lowercase().as_str() {
        "mem" => Ok(0),
        "ssd" => Ok(1),
        "hdd" => Ok(2),
        "ufs" => Ok(3),
        "disk" => Ok(4),
        "spdk_disk" | "spdk" => Ok(5),
        _ => Err(bad(
            key,
            value,
            "one of mem, ssd, hdd, ufs, disk, spdk_disk",
        )),
    }
}

fn parse_umask(key: &str, value: &str) -> Result<u32> {
    let v = value.trim();
    let digits = v.strip_prefix("0o").unwrap_or(v);
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| bad(key, value, "octal permission bits such as 022 or 0o022"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(key: &str, value: &str) -> Result<ClientConf> {
        let mut conf = ClientConf::default();
        conf.set(key, value).map(|_| conf)
    }

    #[test]
    fn defaults_are_curvines() {
        let c = ClientConf::default();
        assert_eq!(c.conn_timeout, Duration::from_secs(30));
        assert_eq!(c.rpc_retry_max_duration, Duration::from_secs(120));
        assert_eq!(c.rpc_retry_min_sleep, Duration::from_millis(100));
        assert_eq!(c.rpc_retry_max_sleep, Duration::from_secs(10));
        assert_eq!(c.block_size, 134_217_728);
        assert_eq!(c.read_chunk_size, 131_072);
        assert_eq!(c.effective_read_ahead_len(), 1 << 20);
        assert!(c.effective_enable_read_ahead());
        let mut small = c.clone();
        small.set("read_ahead_len", "128KB").unwrap();
        assert!(!small.effective_enable_read_ahead());
        let mut one = c.clone();
        one.set("read_chunk_num", "1").unwrap();
        assert!(!one.effective_enable_read_ahead());
        assert_eq!(c.masters(), vec![Endpoint::new("localhost", 8995)]);
    }

    #[test]
    fn the_host_name_comes_from_the_environment_or_is_localhost() {
        assert_eq!(hostname_from(Some("node-7".into())), "node-7");
        assert_eq!(hostname_from(Some("  ".into())), "localhost");
        assert_eq!(hostname_from(None), "localhost");
        assert_eq!(set("hostname", "w1").unwrap().hostname, "w1");
        assert!(set("hostname", " ").is_err());
    }

    #[test]
    fn sizes_are_typed_like_curvine() {
        assert_eq!(parse_size("k", "128KB").unwrap(), 131_072);
        assert_eq!(parse_size("k", "128k").unwrap(), 131_072);
        assert_eq!(parse_size("k", "1.5GB").unwrap(), 1_610_612_736);
        assert_eq!(parse_size("k", "64 mb").unwrap(), 64 << 20);
        assert_eq!(parse_size("k", "4096").unwrap(), 4096);
        assert_eq!(parse_size("k", "10B").unwrap(), 10);
        assert_eq!(set("block_size", "1MB").unwrap().block_size, 1 << 20);
        for bad in ["", "MB", "12XB", "-1", "1.2.3MB", "99999999999PB"] {
            assert!(parse_size("k", bad).is_err(), "{bad:?}");
        }
        let e = set("block_size", "lots").unwrap_err();
        assert_eq!(e.code, Code::InvalidArgument);
        assert!(e.message.contains("\"lots\"") && e.message.contains("block_size"));
    }

    #[test]
    fn durations_bools_ints() {
        assert_eq!(
            set("conn_timeout_ms", "2500").unwrap().conn_timeout,
            Duration::from_millis(2500)
        );
        assert_eq!(
            set("rpc_retry_max_duration_ms", "1.5s")
                .unwrap()
                .rpc_retry_max_duration,
            Duration::from_millis(1500)
        );
        assert_eq!(
            set("rpc_timeout_ms", "2m").unwrap().rpc_timeout,
            Duration::from_secs(120)
        );
        assert!(set("conn_timeout_ms", "0").is_err());
        assert!(set("conn_timeout_ms", "soon").is_err());
        assert!(!set("short_circuit", "False").unwrap().short_circuit);
        assert!(set("short_circuit", "yes").is_err());
        assert_eq!(set("replicas", "3").unwrap().replicas, 3);
        assert!(set("replicas", "0").is_err());
        assert!(set("replicas", "2.5").is_err());
        assert_eq!(set("storage_type", "MEM").unwrap().storage_type, 0);
        assert_eq!(set("umask", "0o027").unwrap().umask, 0o027);
        assert!(set("read_chunk_size", "32MB").is_err());
        assert_eq!(
            set("master_addrs", "a:1,b:2").unwrap().master_addrs.len(),
            2
        );
        assert!(set("master_addrs", "a:1,b").is_err());
    }

    #[test]
    fn unknown_keys_are_their_own_error_and_change_nothing() {
        let mut conf = ClientConf::default();
        let e = conf.set("rpc_timeout", "5s").unwrap_err();
        assert_eq!(e.code, Code::UnknownOption);
        assert!(e.message.contains("\"rpc_timeout\""));
        assert_eq!(conf, ClientConf::default());
        assert!(conf.set("replicas", "100").is_err());
        assert_eq!(conf, ClientConf::default());
    }

    #[test]
    fn validation_catches_pairs() {
        let mut conf = ClientConf::default();
        conf.set("rpc_retry_min_sleep_ms", "20s").unwrap();
        assert!(conf.validate().is_err());
        let mut conf = ClientConf::default();
        conf.set("block_size", "4GB").unwrap();
        assert!(conf.validate().unwrap_err().message.contains("4 GiB"));
    }
}
