"""Mount options: which ones exist, how each is typed, and which are refused.

Three families share one option map:

* named options of curvine-fluid (``master-endpoints``, ``io-threads``, ...),
  some of which become flags of the FUSE client;
* ``client.<key>`` and ``fuse.<key>``, written to those TOML sections with
  the type Curvine's own config structs read them as;
* nothing else: an unknown name is refused, with the closest known name.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from fluid.errors import ConfigError

Value = bool | int | float | str | list[str] | list[float]

U16 = (0, 2**16 - 1)
U32 = (0, 2**32 - 1)
# TOML integers are signed 64-bit, so that bounds Curvine's u64/usize too.
U64 = (0, 2**63 - 1)
I32 = (-(2**31), 2**31 - 1)
I64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class Spec:
    """How one option's text is typed.

    ``kind`` is one of bool, int, size, duration, str, octal, strlist,
    floatlist, seconds, choice, switch (a FUSE flag that takes no value).
    """

    kind: str
    lo: int | float | None = None
    hi: int | float | None = None
    choices: tuple[str, ...] = ()
    toml: str | None = None


def _int(lo_hi: tuple[int, int], lo: int | None = None) -> Spec:
    return Spec("int", lo_hi[0] if lo is None else lo, lo_hi[1])


BOOL = Spec("bool")
SIZE = Spec("size")
DURATION = Spec("duration")
STR = Spec("str")

# Options curvine-fluid reads itself; none of them reaches the TOML as typed
# here except through the settings object.
GENERAL: dict[str, Spec] = {
    "master-endpoints": STR,
    "master-web-port": _int(U16, 1),
    "io-threads": _int(I32, 1),
    "worker-threads": _int(I32, 1),
    "mnt-number": _int((1, 1024)),
    "check-timeout": Spec("seconds", 0.1, 3600.0),
    "parent-wait": Spec("seconds", 0.0, 3600.0),
    "capacity-check": Spec("choice", choices=("fail", "warn", "off")),
    "create-dataset-path": BOOL,
    "secret-options": Spec("strlist"),
}

# Options of curvine-fuse's command line (curvine-fuse/src/cli/mount_args.rs),
# each with the [fuse] key it overrides.
FUSE_FLAGS: dict[str, Spec] = {
    "tasks-per-mnt": Spec("int", *U64, toml="tasks_per_mnt"),
    "clone-fd": Spec("bool", toml="clone_fd"),
    "fuse-channel-size": Spec("int", *U64, toml="fuse_channel_size"),
    "stream-channel-size": Spec("int", *U64, toml="stream_channel_size"),
    "direct-io": Spec("bool", toml="direct_io"),
    "cache-readdir": Spec("bool", toml="cache_readdir"),
    "entry-timeout-ms": Spec("int", *U64, toml="entry_timeout_ms"),
    "attr-timeout-ms": Spec("int", *U64, toml="attr_timeout_ms"),
    "negative-timeout-ms": Spec("int", *U64, toml="negative_timeout_ms"),
    "max-background": Spec("int", 1, U16[1], toml="max_background"),
    "congestion-threshold": Spec("int", 1, U16[1], toml="congestion_threshold"),
    "node-cache-timeout": Spec("duration", toml="node_cache_timeout"),
    "web-port": Spec("int", 1, U16[1], toml="web_port"),
    "read-dir-fill-ino": Spec("bool", toml="read_dir_fill_ino"),
    "write-back-cache": Spec("bool", toml="write_back_cache"),
    "non-seekable": Spec("bool", toml="non_seekable"),
    "check-permission": Spec("bool", toml="check_permission"),
    "metrics-enabled": Spec("bool", toml="metrics_enabled"),
    "enable-meta-cache": Spec("bool", toml="enable_meta_cache"),
    "meta-cache-ttl": Spec("duration", toml="meta_cache_timeout"),
    "remember": Spec("bool", toml="remember"),
    "list-limit": Spec("int", 1, U64[1], toml="list_limit"),
    "readonly": Spec("switch", toml="readonly"),
    "debug": Spec("switch", toml="debug"),
    "options": Spec("strlist", toml="fuse_opts"),
}

FLAG_ALIASES = {
    "mnt-per-task": "tasks-per-mnt",
    "meta-cache-timeout": "meta-cache-ttl",
    "entry-timeout": "entry-timeout-ms",
    "attr-timeout": "attr-timeout-ms",
    "negative-timeout": "negative-timeout-ms",
}

# [client] keys (crates/common/curvine-config/src/client_conf.rs). Size and
# duration fields are strings there; the short names are serde aliases.
CLIENT_KEYS: dict[str, Spec] = {
    "hostname": STR,
    "io_threads": _int(U64),
    "worker_threads": _int(U64),
    "replicas": Spec("int", 1, 99),
    "block_size": SIZE,
    "write_chunk_size": SIZE,
    "write_chunk_num": _int(U64),
    "read_chunk_size": SIZE,
    "read_chunk_num": _int(U64),
    "read_parallel": _int(I64),
    "read_slice_size": SIZE,
    "max_cache_block_handles": _int(U64),
    "short_circuit": BOOL,
    "storage_type": STR,
    "ttl_ms": DURATION,
    "ttl_action": STR,
    "auto_cache_enabled": BOOL,
    "auto_cache_ttl": DURATION,
    "default_cache_ttl": DURATION,
    "conn_retry_max_duration_ms": _int(U64),
    "conn_retry_min_sleep_ms": _int(U64),
    "conn_retry_max_sleep_ms": _int(U64),
    "rpc_retry_max_duration_ms": _int(U64),
    "rpc_retry_min_sleep_ms": _int(U64),
    "rpc_retry_max_sleep_ms": _int(U64),
    "rpc_close_idle": BOOL,
    "conn_timeout_ms": _int(U64),
    "rpc_timeout_ms": _int(U64),
    "data_timeout_ms": _int(U64),
    "pipeline_timeout_ms": _int(U64),
    "master_conn_pool_size": _int(U64),
    "enable_read_ahead": BOOL,
    "read_ahead_len": SIZE,
    "drop_cache_len": SIZE,
    "failed_worker_ttl_ms": _int(U64),
    "enable_unified_fs": BOOL,
    "enable_rust_read_ufs": BOOL,
    "audit_logging_enabled": BOOL,
    "mount_update_ttl_ms": _int(U64),
    "umask": Spec("octal", 0, 0o7777),
    "metric_report_enable": BOOL,
    "clean_task_interval_ms": _int(U64),
    "close_timeout_secs": _int(U64),
    "metadata_operation_buckets": Spec("floatlist"),
    "sync_check_interval_min_ms": _int(U64),
    "sync_check_interval_max_ms": _int(U64),
    "max_sync_wait_timeout_ms": _int(U64),
    "sync_check_log_tick": _int(U32),
    "enable_block_conn_pool": BOOL,
    "block_conn_idle_size": _int(U64),
    "block_conn_idle_time_ms": _int(U64),
    "small_file_size": SIZE,
    "enable_smart_prefetch": BOOL,
    "large_file_size": SIZE,
    "max_read_parallel": _int(I64),
    "sequential_read_threshold": _int(U64),
}

CLIENT_ALIASES = {
    **{f"{k}_str": k for k, s in CLIENT_KEYS.items() if s.kind == "size"},
    "ttl_ms_str": "ttl_ms",
    "ttl_action_str": "ttl_action",
    "storage_type_str": "storage_type",
    "failed_worker_ttl": "failed_worker_ttl_ms",
    "mount_update_ttl": "mount_update_ttl_ms",
    "clean_task_interval": "clean_task_interval_ms",
    "sync_check_interval_min": "sync_check_interval_min_ms",
    "sync_check_interval_max": "sync_check_interval_max_ms",
    "max_sync_wait_timeout": "max_sync_wait_timeout_ms",
    "block_conn_idle_time": "block_conn_idle_time_ms",
}

# [fuse] keys (crates/common/curvine-config/src/fuse_conf.rs).
FUSE_KEYS: dict[str, Spec] = {
    "debug": BOOL,
    "audit_logging_enabled": BOOL,
    "metrics_enabled": BOOL,
    "tasks_per_mnt": _int(U64),
    "clone_fd": BOOL,
    "fuse_channel_size": _int(U64),
    "stream_channel_size": _int(U64),
    "fuse_opts": Spec("strlist"),
    "readonly": BOOL,
    "umask": Spec("octal", 0, 0o7777),
    "uid": _int(U32),
    "gid": _int(U32),
    "web_port": _int(U16),
    "read_dir_fill_ino": BOOL,
    "entry_timeout_ms": _int(U64),
    "negative_timeout_ms": _int(U64),
    "attr_timeout_ms": _int(U64),
    "remember": BOOL,
    "max_background": Spec("int", 1, U16[1]),
    "congestion_threshold": Spec("int", 1, U16[1]),
    "enable_meta_cache": BOOL,
    "meta_cache_timeout": DURATION,
    "node_cache_timeout": DURATION,
    "direct_io": BOOL,
    "open_direct_on_stale": BOOL,
    "write_back_cache": BOOL,
    "cache_readdir": BOOL,
    "non_seekable": BOOL,
    "check_permission": BOOL,
    "state_dir": STR,
    "max_readahead_kb": Spec("int", 1, U32[1]),
    "list_limit": Spec("int", 1, U64[1]),
    "enable_splice": BOOL,
    "path_lock_stripes": Spec("int", 1, U64[1]),
}

FUSE_ALIASES = {
    "mnt_per_task": "tasks_per_mnt",
    "meta_cache_ttl": "meta_cache_timeout",
    "enable_write_back": "write_back_cache",
}

# Keys curvine-fluid writes itself, with the option to use instead.
MANAGED_CLIENT = {
    "master_addrs": "it is written from the option master-endpoints",
}
MANAGED_FUSE = {
    "mnt_path": "it is the targetPath Fluid gives",
    "fs_path": "it is taken from the mount point (curvine:///<path>)",
    "mnt_number": "use the option mnt-number",
    "io_threads": "use the option io-threads",
    "worker_threads": "use the option worker-threads",
}

# What curvine-fuse's direct mount backend accepts in fuse_opts / --options.
FUSE_MOUNT_OPTIONS = frozenset(
    [
        "ro",
        "rw",
        "nodev",
        "dev",
        "nosuid",
        "suid",
        "noexec",
        "exec",
        "noatime",
        "atime",
        "dirsync",
        "sync",
        "allow_other",
        "default_permissions",
        "async",
        "big_write",
    ]
)
_OPPOSITES = {
    "ro": "rw",
    "nodev": "dev",
    "nosuid": "suid",
    "noexec": "exec",
    "noatime": "atime",
    "sync": "async",
}

U64_MAX = 2**64 - 1
# Longer than any 64-bit number; Python refuses to read thousands of digits.
_MAX_DIGITS = 40

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_INT = re.compile(r"^[+-]?[0-9]+$")
_NUMBER = r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?"
_SIZE = re.compile(rf"^{_NUMBER}\s*([KMGTP]B?|B)?$", re.IGNORECASE)
_DURATION = re.compile(
    rf"^{_NUMBER}\s*(ms|s|m|h|d|second|minute|hour|day)?$", re.IGNORECASE
)
_FLOAT = re.compile(rf"^[+-]?{_NUMBER}$")


def suggest(name: str, known: list[str]) -> str:
    """A ``did you mean`` clause for an unknown name, or an empty string."""
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.75)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""


def _range(field: str, number: float, spec: Spec, shown: bool = True) -> None:
    what = f"{number}" if shown else "the value"
    if spec.lo is not None and number < spec.lo:
        raise ConfigError(field, f"{what} is below the minimum {spec.lo}")
    if spec.hi is not None and number > spec.hi:
        raise ConfigError(field, f"{what} is above the maximum {spec.hi}")


def _short_int(digits: str, base: int = 10) -> int | None:
    """``int(digits, base)``, or None for a number too long to be any option's."""
    sign = digits[0] if digits[:1] in ("+", "-") else ""
    body = digits[len(sign) :].lstrip("0") or "0"
    if len(body) > _MAX_DIGITS:
        return None
    return int(sign + body, base)


def _whole(field: str, digits: str, base: int, what: str) -> int:
    number = _short_int(digits, base)
    if number is None:
        raise ConfigError(field, f"{what} is too large")
    return number


def _fits_u64(field: str, raw: str, plain_units: tuple[str, ...], what: str) -> None:
    """Refuse a bare count Curvine would read as a u64 that does not fit one."""
    match = re.fullmatch(r"([0-9]+)\s*([A-Za-z]*)", raw)
    if match and match.group(2).lower() in plain_units:
        digits = match.group(1).lstrip("0")
        if len(digits) > 20 or int(digits or "0") > U64_MAX:
            raise ConfigError(
                field, f"{what} does not fit Curvine's unsigned 64-bit count"
            )


def _check_mount_options(field: str, names: list[str], shown: bool = True) -> None:
    for index, name in enumerate(names, start=1):
        if name not in FUSE_MOUNT_OPTIONS:
            what = f"{name!r}" if shown else f"entry {index}"
            raise ConfigError(
                field,
                f"{what} is not a mount option curvine-fuse accepts; use any of "
                + ", ".join(sorted(FUSE_MOUNT_OPTIONS)),
            )
    for one, other in _OPPOSITES.items():
        if one in names and other in names:
            raise ConfigError(field, f"{one!r} and {other!r} conflict; keep one")


def coerce(field: str, text: str, spec: Spec, shown: bool = True) -> Value:
    """Type one option value as Curvine reads it, or refuse naming ``field``.

    With ``shown`` false (a secret) the message leaves the value out.
    """
    raw = text.strip()
    what = f"{raw!r}" if shown else "the value"
    kind = spec.kind

    if kind in ("bool", "switch"):
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise ConfigError(field, f"{what} is not a boolean; use true or false")

    if kind == "int":
        if not _INT.match(raw):
            raise ConfigError(field, f"{what} is not a whole number")
        number = _whole(field, raw, 10, what)
        _range(field, number, spec, shown)
        return number

    if kind == "seconds":
        if not _FLOAT.match(raw):
            raise ConfigError(field, f"{what} is not a number of seconds")
        seconds = float(raw)
        _range(field, seconds, spec, shown)
        return seconds

    if kind == "octal":
        digits = raw[2:] if raw.lower().startswith("0o") else raw
        if not digits or not re.fullmatch(r"[0-7]+", digits):
            raise ConfigError(field, f"{what} is not an octal mask such as 022")
        number = _whole(field, digits, 8, what)
        _range(field, number, spec, shown)
        return number

    if kind == "size":
        if not _SIZE.match(raw):
            raise ConfigError(
                field,
                f"{what} is not a size; use a number with B, KB, MB, GB, TB or PB",
            )
        _fits_u64(field, raw, ("", "b"), what)
        return raw

    if kind == "duration":
        if not _DURATION.match(raw):
            raise ConfigError(
                field, f"{what} is not a duration; use a number with ms, s, m, h or d"
            )
        _fits_u64(field, raw, ("", "ms"), what)
        return raw

    if kind == "choice":
        if raw.lower() not in spec.choices:
            raise ConfigError(field, f"{what} is not one of {', '.join(spec.choices)}")
        return raw.lower()

    if kind == "strlist":
        items = [item.strip() for item in raw.split(",")]
        if any(not item for item in items):
            raise ConfigError(field, f"{what} has an empty entry between commas")
        if spec.toml == "fuse_opts" or field.endswith("fuse_opts"):
            _check_mount_options(field, items, shown)
        return items

    if kind == "floatlist":
        items = [item.strip() for item in raw.split(",")]
        if any(not _FLOAT.match(item) for item in items):
            raise ConfigError(field, f"{what} is not a comma-separated list of numbers")
        return [float(item) for item in items]

    return text


def toml_key(section: str, key: str, field: str) -> tuple[str, Spec | None]:
    """Resolve ``key`` of the ``client`` or ``fuse`` section to its canonical
    name and spec (None for a key this table does not know), or refuse it,
    naming the option ``field``."""
    if "." in key:
        raise ConfigError(
            field,
            "nested TOML tables are not written; only top-level keys of the section",
        )
    if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
        raise ConfigError(
            field, "a TOML key here is lower case letters, digits and '_' only"
        )

    if section == "client":
        managed, aliases, keys = MANAGED_CLIENT, CLIENT_ALIASES, CLIENT_KEYS
    else:
        managed, aliases, keys = MANAGED_FUSE, FUSE_ALIASES, FUSE_KEYS
    canonical = aliases.get(key, key)
    if canonical in managed:
        raise ConfigError(
            field, f"curvine-fluid sets this key itself: {managed[canonical]}"
        )
    return canonical, keys.get(canonical)


def infer(text: str) -> Value:
    """Type a value for a TOML key no table knows: boolean, integer or string."""
    raw = text.strip()
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    number = _short_int(raw) if _INT.match(raw) else None
    if number is not None and I64[0] <= number <= I64[1]:
        return number
    return text
