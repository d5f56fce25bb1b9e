"""Fluid's config.json and the CURVINE_* environment, read into one settings object.

An option is looked up, first to last, in: the Dataset mount's ``options``
(Fluid has already merged the Dataset's ``sharedOptions`` into them), the
ThinRuntime's ``runtimeOptions``, the environment variable ``CURVINE_<NAME>``
(upper case, ``-`` as ``_``; named options only), and the default. A
command-line flag of curvine-fluid, where one exists, wins over all of them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fluid import options as opts
from fluid.endpoints import EndpointList, parse_endpoints
from fluid.errors import ConfigError
from fluid.secrets import (
    DEFAULT_SECRETS_DIR,
    Redactor,
    is_reference,
    looks_sensitive,
    read_reference,
)

log = logging.getLogger("fluid")

ENV_CONFIG_PATH = "FLUID_RUNTIME_CONFIG_PATH"
DEFAULT_CONFIG_PATHS = (
    Path("/etc/fluid/config/config.json"),
    Path("/etc/fluid/config.json"),
)
MAX_CONFIG_BYTES = 4 * 1024 * 1024

DEFAULTS: dict[str, opts.Value] = {
    "io-threads": 32,
    "worker-threads": 56,
    "mnt-number": 1,
    "master-web-port": 9001,
    "check-timeout": 10.0,
    "parent-wait": 30.0,
    "capacity-check": "fail",
    "create-dataset-path": False,
}

_MOUNT_FIELD = "mounts[0].options"
_RUNTIME_FIELD = "runtimeOptions"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TYPE_NAMES = {"bool": "a boolean", "int": "an integer", "str": "a string"}
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Origin:
    """Where one option value came from: its field and precedence rank."""

    field: str
    rank: int
    secret: bool


@dataclass(frozen=True)
class Settings:
    """Everything curvine-fluid needs, typed and checked."""

    config_path: Path
    mount_name: str
    mount_point: str
    fs_path: str
    target_path: str
    read_only: bool
    endpoints: EndpointList
    endpoints_secret: bool
    master_web_port: int
    io_threads: int
    worker_threads: int
    mnt_number: int
    check_timeout: float
    parent_wait: float
    capacity_check: str
    create_dataset_path: bool
    fuse_flags: tuple[tuple[str, opts.Value], ...]
    client_toml: dict[str, opts.Value]
    fuse_toml: dict[str, opts.Value]
    has_secrets: bool
    redactor: Redactor
    notes: tuple[str, ...] = field(default=())

    def shown_endpoints(self) -> list[str]:
        """The endpoints as they may be printed."""
        if self.endpoints_secret:
            return [f"master #{i}" for i in range(1, len(self.endpoints.endpoints) + 1)]
        return [str(e) for e in self.endpoints.endpoints]


def find_config(
    explicit: str | None,
    env: Mapping[str, str],
    defaults: tuple[Path, ...] = DEFAULT_CONFIG_PATHS,
) -> Path:
    """The config.json to read: --config, $FLUID_RUNTIME_CONFIG_PATH, the defaults."""
    if explicit:
        return Path(explicit)
    if env.get(ENV_CONFIG_PATH):
        return Path(env[ENV_CONFIG_PATH])
    for candidate in defaults:
        if candidate.exists():
            return candidate
    tried = ", ".join(str(p) for p in defaults)
    raise ConfigError(
        "config.json",
        f"no config file found (tried {tried}); pass --config FILE or set "
        f"{ENV_CONFIG_PATH}",
    )


def _read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    Opened without blocking and checked before reading, so a FIFO or a device
    put where config.json should be is refused instead of waited on forever.
    """
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigError(name, "the config file does not exist") from None
    except OSError as exc:
        raise ConfigError(
            name, f"cannot read the config file: {exc.strerror}"
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(name, "not a regular file; give the path of config.json")
        if info.st_size > limit:
            raise ConfigError(name, f"the config file is larger than {limit} bytes")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ConfigError(
            name, f"cannot read the config file: {exc.strerror}"
        ) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ConfigError(name, f"the config file is larger than {limit} bytes")
    return data


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _surrogate_field(document: object) -> str | None:
    """The field of the first string holding a lone UTF-16 surrogate, if any.

    A loop rather than recursion: the document may be nested as deeply as the
    JSON parser allows.
    """
    pending: list[tuple[object, str]] = [(document, "")]
    while pending:
        value, where = pending.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return where or "config.json"
        elif isinstance(value, list):
            pending.extend(
                (v, f"{where}[{i}]") for i, v in reversed(list(enumerate(value)))
            )
        elif isinstance(value, dict):
            if any(_SURROGATE.search(k) for k in value):
                return where or "config.json"
            pending.extend(
                (v, f"{where}.{k}" if where else k) for k, v in reversed(value.items())
            )
    return None


def read_json(path: Path) -> dict[str, object]:
    """Parse config.json, refusing what is not one JSON object."""
    name = str(path)
    data = _read_regular(path, MAX_CONFIG_BYTES)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(name, f"not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise ConfigError(name, "the config file is empty")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            name, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise ConfigError(name, "not valid JSON: nested too deeply") from None
    except ValueError:
        # Python refuses integers of thousands of digits.
        raise ConfigError(name, "a number in it has too many digits") from None
    if not isinstance(document, dict):
        raise ConfigError(name, f"expected a JSON object, got {json_type(document)}")
    bad = _surrogate_field(document)
    if bad:
        raise ConfigError(
            bad,
            "holds an unpaired UTF-16 surrogate (a \\ud800-\\udfff escape that "
            "is no character); write the text as UTF-8",
        )
    return document


def dataset_path(mount_point: object, field_name: str = "mounts[0].mountPoint") -> str:
    """The Curvine path of a mount point: ``curvine:///data/`` gives ``/data``."""
    if not isinstance(mount_point, str) or not mount_point.strip():
        raise ConfigError(field_name, "missing; expected curvine:///<path>")
    text = mount_point.strip()
    if _CONTROL.search(text):
        raise ConfigError(field_name, "contains control characters")
    scheme, sep, rest = text.partition("://")
    if not sep and text.lower().startswith("curvine:"):
        path = text[len("curvine:") :].lstrip("/")
        raise ConfigError(
            field_name,
            f"{text!r} is not a Curvine path; write curvine:///{path}",
        )
    if not sep or scheme.lower() != "curvine":
        raise ConfigError(
            field_name,
            f"{text!r} is not a Curvine path; expected curvine:///<path>, "
            "e.g. curvine:///data",
        )
    if not rest:
        raise ConfigError(field_name, f"{text!r} has no path; write curvine:///<path>")
    if not rest.startswith("/"):
        host = rest.split("/", 1)[0]
        raise ConfigError(
            field_name,
            f"{text!r} names a host {host!r}; the masters come from master-endpoints, "
            f"so write curvine:///<path> (curvine:///{rest} if {host!r} is the "
            "first directory)",
        )
    segments = [s for s in rest.split("/") if s]
    if any(s in (".", "..") for s in segments):
        raise ConfigError(field_name, f"{text!r} contains '.' or '..' segments")
    return "/" + "/".join(segments)


def _target_path(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("targetPath", "missing; Fluid sets it to the FUSE mount path")
    if _CONTROL.search(value):
        raise ConfigError("targetPath", "contains control characters")
    if not value.startswith("/"):
        raise ConfigError("targetPath", f"{value!r} is not an absolute path")
    normal = os.path.normpath(value)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    if normal == "/":
        raise ConfigError("targetPath", "'/' cannot be a mount target")
    return normal


def _option_map(value: object, field_name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(
            field_name, f"expected an object of strings, got {json_type(value)}"
        )
    result: dict[str, str] = {}
    for key, item in value.items():
        where = f"{field_name}.{key}"
        if isinstance(item, bool):
            item = "true" if item else "false"
        elif isinstance(item, int):
            item = str(item)
        if not isinstance(item, str):
            raise ConfigError(where, f"expected a string value, got {json_type(item)}")
        if "\x00" in key or "\x00" in item:
            raise ConfigError(where, "contains a NUL character")
        name = key.strip()
        if name in result:
            raise ConfigError(
                where, f"{name!r} is given twice (once with spaces); keep one"
            )
        result[name] = item
    return result


class _Lookup:
    """Options from every source, with their precedence and secrecy."""

    def __init__(
        self,
        layers: list[tuple[str, dict[str, str]]],
        env: Mapping[str, str],
        overrides: Mapping[str, str],
        secrets_dir: Path,
        redactor: Redactor,
    ) -> None:
        self.env = env
        self.overrides = overrides
        self.secrets_dir = secrets_dir
        self.redactor = redactor
        self.named: list[dict[str, tuple[str, str]]] = []
        self.passthrough: list[dict[str, tuple[str, str]]] = []
        self.notes: list[str] = []
        self.secret_names: set[str] = set()

        for layer_field, mapping in layers:
            named: dict[str, tuple[str, str]] = {}
            passthrough: dict[str, tuple[str, str]] = {}
            for key, value in mapping.items():
                where = f"{layer_field}.{key}"
                if key.startswith(("client.", "fuse.")):
                    passthrough[key] = (value, where)
                    continue
                canonical = opts.FLAG_ALIASES.get(key, key)
                if canonical not in opts.GENERAL and canonical not in opts.FUSE_FLAGS:
                    known = sorted(
                        [*opts.GENERAL, *opts.FUSE_FLAGS, *opts.FLAG_ALIASES]
                    )
                    raise ConfigError(
                        where,
                        "not an option curvine-fluid knows"
                        + opts.suggest(key, known)
                        + "; see fluid/README.md, or use client.<key> / fuse.<key> "
                        "for Curvine TOML keys",
                    )
                if canonical in named:
                    raise ConfigError(
                        where,
                        f"{key!r} and {named[canonical][1]!r} mean the same; keep one",
                    )
                named[canonical] = (value, where)
            self.named.append(named)
            self.passthrough.append(passthrough)

        listed = self.get("secret-options")
        if listed is not None:
            value, origin = listed
            names = opts.coerce(origin.field, value, opts.GENERAL["secret-options"])
            self.secret_names.update(str(n) for n in names)  # type: ignore[union-attr]

    def _resolve(self, name: str, value: str, where: str) -> tuple[str, bool]:
        secret = name in self.secret_names or looks_sensitive(name)
        if is_reference(value, self.secrets_dir):
            value = read_reference(where, value, self.secrets_dir)
            secret = True
        if secret:
            self.redactor.add(value)
        return value, secret

    def get(self, name: str) -> tuple[str, Origin] | None:
        """The highest-precedence non-empty value of a named option."""
        if name in self.overrides:
            value = self.overrides[name]
            return value, Origin(f"--{name}", -1, False)
        for rank, named in enumerate(self.named):
            if name in named and named[name][0].strip():
                raw, where = named[name]
                value, secret = self._resolve(name, raw, where)
                log.debug("option %s from %s", name, where)
                return value, Origin(where, rank, secret)
        spellings = [name, *(a for a, c in opts.FLAG_ALIASES.items() if c == name)]
        for spelling in spellings:
            env_name = "CURVINE_" + spelling.upper().replace("-", "_")
            if self.env.get(env_name, "").strip():
                value, secret = self._resolve(name, self.env[env_name], env_name)
                log.debug("option %s from %s", name, env_name)
                return value, Origin(env_name, len(self.named), secret)
        return None

    def typed(self, name: str) -> tuple[opts.Value, Origin | None]:
        """A named option typed by its spec, or its default."""
        spec = opts.GENERAL.get(name) or opts.FUSE_FLAGS[name]
        found = self.get(name)
        if found is None:
            return DEFAULTS.get(name, None), None  # type: ignore[return-value]
        value, origin = found
        return opts.coerce(origin.field, value, spec, shown=not origin.secret), origin

    def toml_keys(self, section: str) -> dict[str, tuple[opts.Value, Origin]]:
        """``client.*`` or ``fuse.*`` options, merged by precedence and typed."""
        prefix = section + "."
        merged: dict[str, tuple[opts.Value, Origin]] = {}
        for rank in reversed(range(len(self.passthrough))):
            spelled: dict[str, str] = {}
            for key, (raw, where) in self.passthrough[rank].items():
                if not key.startswith(prefix):
                    continue
                canonical, spec = opts.toml_key(section, key[len(prefix) :], where)
                if canonical in spelled:
                    raise ConfigError(
                        where, f"{spelled[canonical]!r} sets the same key; keep one"
                    )
                spelled[canonical] = where
                if not raw.strip():
                    continue
                value, secret = self._resolve(key, raw, where)
                if spec is None:
                    typed = opts.infer(value)
                    self.notes.append(
                        f"{where}: not a key this version knows; written as "
                        f"{_TYPE_NAMES.get(type(typed).__name__, 'string')}"
                    )
                else:
                    typed = opts.coerce(where, value, spec, shown=not secret)
                merged[canonical] = (typed, Origin(where, rank, secret))
        return merged


def load(
    path: Path,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
    secrets_dir: Path = DEFAULT_SECRETS_DIR,
    redactor: Redactor | None = None,
) -> Settings:
    """Read config.json at ``path`` into Settings, or raise ConfigError.

    Every secret value read is added to ``redactor`` as soon as it is read, so
    a failure later in loading can still be reported without it.
    """
    env = os.environ if env is None else env
    document = read_json(path)

    mounts = document.get("mounts")
    if mounts is None:
        raise ConfigError("mounts", "missing; the Dataset needs exactly one mount")
    if not isinstance(mounts, list):
        raise ConfigError("mounts", f"expected a list, got {json_type(mounts)}")
    if not mounts:
        raise ConfigError("mounts", "is empty; the Dataset needs exactly one mount")
    if len(mounts) > 1:
        raise ConfigError(
            "mounts",
            f"has {len(mounts)} mounts; a Curvine ThinRuntime serves exactly one, "
            "so give each Curvine path its own Dataset",
        )
    mount = mounts[0]
    if not isinstance(mount, dict):
        raise ConfigError("mounts[0]", f"expected an object, got {json_type(mount)}")

    fs_path = dataset_path(mount.get("mountPoint"))
    target = _target_path(document.get("targetPath"))
    name = mount.get("name")
    read_only_field = mount.get("readOnly", False)
    if not isinstance(read_only_field, bool):
        raise ConfigError("mounts[0].readOnly", "expected true or false")

    redactor = Redactor() if redactor is None else redactor
    lookup = _Lookup(
        [
            (_MOUNT_FIELD, _option_map(mount.get("options"), _MOUNT_FIELD)),
            (
                _RUNTIME_FIELD,
                _option_map(document.get("runtimeOptions"), _RUNTIME_FIELD),
            ),
        ],
        env,
        overrides or {},
        secrets_dir,
        redactor,
    )

    found = lookup.get("master-endpoints")
    if found is None:
        raise ConfigError(
            f"{_MOUNT_FIELD}.master-endpoints",
            "missing; give the Curvine masters as host:port[,host:port...] "
            "(or set CURVINE_MASTER_ENDPOINTS in the ThinRuntimeProfile)",
        )
    text, origin = found
    endpoints = parse_endpoints(text, origin.field, hidden=origin.secret)
    if origin.secret:
        # Errors from the client name single endpoints, not the whole list.
        for endpoint in endpoints.endpoints:
            redactor.add(str(endpoint))
            redactor.add_host(endpoint.host)

    numbers = {
        key: _whole(lookup.typed(key)[0])
        for key in ("io-threads", "worker-threads", "mnt-number", "master-web-port")
    }
    behaviour = {
        key: lookup.typed(key)[0]
        for key in (
            "check-timeout",
            "parent-wait",
            "capacity-check",
            "create-dataset-path",
        )
    }

    lookup.notes.extend(_mistyped_env(env))
    client_toml = lookup.toml_keys("client")
    fuse_toml = lookup.toml_keys("fuse")
    flags, fuse_toml = _fuse_flags(lookup, fuse_toml)

    if read_only_field:
        _keep_read_only(lookup, flags, fuse_toml)
        if "readonly" not in dict(flags) and "readonly" not in fuse_toml:
            flags.append(("readonly", True))
    _check_conflicts(flags, fuse_toml)

    has_secrets = origin.secret or any(
        o.secret for _, o in [*client_toml.values(), *fuse_toml.values()]
    )
    return Settings(
        config_path=path,
        mount_name=str(name) if isinstance(name, str) else "",
        mount_point=str(mount.get("mountPoint")).strip(),
        fs_path=fs_path,
        target_path=target,
        read_only=read_only_field or dict(flags).get("readonly") is True,
        endpoints=endpoints,
        endpoints_secret=origin.secret,
        master_web_port=numbers["master-web-port"],
        io_threads=numbers["io-threads"],
        worker_threads=numbers["worker-threads"],
        mnt_number=numbers["mnt-number"],
        check_timeout=float(behaviour["check-timeout"]),  # type: ignore[arg-type]
        parent_wait=float(behaviour["parent-wait"]),  # type: ignore[arg-type]
        capacity_check=str(behaviour["capacity-check"]),
        create_dataset_path=bool(behaviour["create-dataset-path"]),
        fuse_flags=tuple(flags),
        client_toml={k: v for k, (v, _) in client_toml.items()},
        fuse_toml={k: v for k, (v, _) in fuse_toml.items()},
        has_secrets=has_secrets,
        redactor=redactor,
        notes=(*endpoints.notes, *lookup.notes),
    )


# CURVINE_* variables that are no option's but mean something to Curvine,
# curvine_py or curvine-fluid.
_OTHER_ENV = frozenset(
    {
        "CURVINE_HOME",
        "CURVINE_CONF_FILE",
        "CURVINE_FLUID_LOG_LEVEL",
        "CURVINE_FLUID_PIPE_MAX_SIZE_FILE",
        "CURVINE_PY_LOG",
        "CURVINE_PROBE_TIMEOUT",
        "CURVINE_CLIENT_HOSTNAME",
    }
)


def _mistyped_env(env: Mapping[str, str]) -> list[str]:
    """Notes for CURVINE_* variables that look like an option's but are not."""
    names = {
        "CURVINE_" + name.upper().replace("-", "_")
        for name in [*opts.GENERAL, *opts.FUSE_FLAGS, *opts.FLAG_ALIASES]
    }
    notes = []
    for key in sorted(env):
        if not key.startswith("CURVINE_") or key in names or key in _OTHER_ENV:
            continue
        hint = opts.suggest(key, sorted(names))
        if hint:
            notes.append(f"{key} is not the variable of any option{hint}; ignored")
    return notes


def _whole(value: opts.Value) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected a whole number, got {value!r}")
    return value


def _fuse_flags(
    lookup: _Lookup, fuse_toml: dict[str, tuple[opts.Value, Origin]]
) -> tuple[list[tuple[str, opts.Value]], dict[str, tuple[opts.Value, Origin]]]:
    """FUSE client flags by precedence against the ``fuse.*`` keys they override.

    A secret value never goes on the command line: it moves to its [fuse] key.
    """
    flags: list[tuple[str, opts.Value]] = []
    fuse_toml = dict(fuse_toml)
    for name, spec in opts.FUSE_FLAGS.items():
        value, origin = lookup.typed(name)
        if origin is None:
            continue
        key = spec.toml or ""
        if key in fuse_toml:
            other = fuse_toml[key][1]
            if other.rank == origin.rank:
                raise ConfigError(
                    origin.field, f"{other.field} sets the same thing; keep one"
                )
            if other.rank < origin.rank:
                lookup.notes.append(f"{origin.field} is overridden by {other.field}")
                continue
            del fuse_toml[key]
        if origin.secret:
            fuse_toml[key] = (value, origin)
            continue
        flags.append((name, value))
    return flags, fuse_toml


def _keep_read_only(
    lookup: _Lookup,
    flags: list[tuple[str, opts.Value]],
    fuse_toml: dict[str, tuple[opts.Value, Origin]],
) -> None:
    """Refuse an option that would make a mount the Dataset marks readOnly
    writable."""
    if dict(flags).get("readonly") is False:
        origin = lookup.typed("readonly")[1]
        raise ConfigError(origin.field if origin else "readonly", _WRITABLE)
    found = fuse_toml.get("readonly")
    if found is not None and found[0] is False:
        raise ConfigError(found[1].field, _WRITABLE)


_WRITABLE = (
    "false conflicts with the mount's readOnly: true; drop the option, or set "
    "readOnly: false in the Dataset"
)


def _check_conflicts(
    flags: list[tuple[str, opts.Value]], fuse_toml: dict[str, tuple[opts.Value, Origin]]
) -> None:
    """Refuse now what curvine-fuse would refuse only after the mount began."""
    effective: dict[str, tuple[opts.Value, str]] = {
        k: (v, o.field) for k, (v, o) in fuse_toml.items()
    }
    secret = {k for k, (_, o) in fuse_toml.items() if o.secret}
    for name, value in flags:
        key = opts.FUSE_FLAGS[name].toml or name
        effective[key] = (value, name)
        secret.discard(key)
    direct, write_back = effective.get("direct_io"), effective.get("write_back_cache")
    if direct and write_back and direct[0] is True and write_back[0] is True:
        raise ConfigError(
            write_back[1],
            f"cannot be true together with {direct[1]}: direct I/O bypasses the page "
            "cache that write-back caching needs",
        )
    background, threshold = (
        effective.get("max_background"),
        effective.get("congestion_threshold"),
    )
    if background and threshold and int(threshold[0]) > int(background[0]):  # type: ignore[arg-type]
        shown = {
            key: "the value" if key in secret else str(pair[0])
            for key, pair in (
                ("congestion_threshold", threshold),
                ("max_background", background),
            )
        }
        raise ConfigError(
            threshold[1],
            f"{shown['congestion_threshold']} is above {background[1]} "
            f"{shown['max_background']}; it must not be",
        )
    if effective.get("readonly", (False, ""))[0] is True:
        mount_opts = effective.get("fuse_opts")
        if mount_opts and "rw" in mount_opts[0]:  # type: ignore[operator]
            raise ConfigError(mount_opts[1], "'rw' conflicts with a read-only mount")
