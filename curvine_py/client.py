"""Connecting to a Curvine cluster and its metadata calls.

>>> import curvine_py
>>> with curvine_py.connect("10.0.0.1:8995,10.0.0.2:8995") as fs:
...     fs.mkdir("/data/raw", parents=True, exist_ok=True)
...     print(fs.listdir("/data"))
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import posixpath
import stat as _stat
import threading
import time
import tomllib
import weakref
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from curvine_py import errors
from curvine_py import io as _io
from curvine_py._native import ffi, lib

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = [
    "Client",
    "FileStatus",
    "FsInfo",
    "MountInfo",
    "WorkerInfo",
    "connect",
    "parse_masters",
]

log = logging.getLogger("curvine_py")

OptionValue = str | int | float | bool

# FileTypeProto values and the st_mode type bits each one stands for.
_FILE_TYPE_DIR = 0
_FILE_TYPE_FILE = 1
_FILE_TYPE_LINK = 2
_TYPE_BITS = {
    _FILE_TYPE_DIR: _stat.S_IFDIR,
    _FILE_TYPE_FILE: _stat.S_IFREG,
    _FILE_TYPE_LINK: _stat.S_IFLNK,
    6: _stat.S_IFIFO,
    7: _stat.S_IFCHR,
    8: _stat.S_IFBLK,
    9: _stat.S_IFSOCK,
}

# The [client] keys that carry the deadlines derived from ``timeout``.
_RETRY_WINDOW_KEY = "rpc_retry_max_duration_ms"
_PER_ATTEMPT_KEYS = {"conn_timeout_ms": 30_000, "rpc_timeout_ms": 120_000}


@dataclass(frozen=True)
class WorkerInfo:
    """One worker as the leader master reports it."""

    worker_id: int
    hostname: str
    ip_addr: str
    rpc_port: int
    web_port: int
    capacity: int
    available: int
    fs_used: int
    non_fs_used: int
    reserved_bytes: int
    last_update: float

    @property
    def address(self) -> str:
        """The ``ip:port`` clients connect to."""
        return f"{self.ip_addr}:{self.rpc_port}"


@dataclass(frozen=True)
class FsInfo:
    """The cluster as the leader master sees it (``Client.info()``).

    ``cluster_id`` is taken from the ``cluster_id`` of the configuration file
    given to :func:`connect`, and is None without one: Curvine's RPC does not
    carry the cluster id. ``leader`` is the endpoint that answered;
    ``active_master`` is the name the leader gives itself, which may differ
    (a hostname where the client used an address).
    """

    cluster_id: str | None
    leader: str
    active_master: str
    server_version: str | None
    capacity: int
    available: int
    fs_used: int
    non_fs_used: int
    reserved_bytes: int
    allocatable_capacity: int
    allocatable_available: int
    inode_dir_num: int
    inode_file_num: int
    block_num: int
    live_workers: list[WorkerInfo]
    blacklist_workers: list[WorkerInfo]
    decommission_workers: list[WorkerInfo]
    lost_workers: list[WorkerInfo]


@dataclass(frozen=True)
class FileStatus:
    """The status of one path, shaped after ``os.stat_result`` where it can be.

    ``mode`` has the type bits and the permission bits, so ``stat.S_ISDIR``
    and friends work on it; ``permissions`` is the permission part alone.
    Times are float seconds since the epoch. ``size`` is the length of a
    file and 0 for a directory (``children`` counts a directory's entries).
    """

    path: str
    name: str
    size: int
    is_dir: bool
    is_file: bool
    is_symlink: bool
    mtime: float
    atime: float
    ctime: float | None
    mode: int
    permissions: int
    owner: str
    group: str
    replicas: int
    block_size: int
    nlink: int
    target: str | None
    id: int
    children: int
    is_complete: bool
    file_type: int


@dataclass(frozen=True)
class MountInfo:
    """One entry of Curvine's mount table: an under-store behind a path.

    ``properties`` may hold credentials; it is left out of the repr.
    """

    cv_path: str
    ufs_path: str
    mount_id: int
    read_write: bool
    write_type: int
    ttl_ms: int
    properties: dict[str, str] = field(repr=False)


def _text(ptr: Any) -> str | None:
    if ptr == ffi.NULL:
        return None
    value: str = ffi.string(ptr).decode("utf-8", "surrogateescape")
    return value


def _worker(raw: Any) -> WorkerInfo:
    return WorkerInfo(
        worker_id=int(raw.worker_id),
        hostname=_text(raw.hostname) or "",
        ip_addr=_text(raw.ip_addr) or "",
        rpc_port=int(raw.rpc_port),
        web_port=int(raw.web_port),
        capacity=int(raw.capacity),
        available=int(raw.available),
        fs_used=int(raw.fs_used),
        non_fs_used=int(raw.non_fs_used),
        reserved_bytes=int(raw.reserved_bytes),
        last_update=int(raw.last_update_ms) / 1000.0,
    )


def _workers(items: Any, count: int) -> list[WorkerInfo]:
    return [_worker(items[i]) for i in range(count)]


def _mount(raw: Any) -> MountInfo:
    count = int(raw.properties_len)
    return MountInfo(
        cv_path=_text(raw.cv_path) or "",
        ufs_path=_text(raw.ufs_path) or "",
        mount_id=int(raw.mount_id),
        read_write=bool(raw.read_write),
        write_type=int(raw.write_type),
        ttl_ms=int(raw.ttl_ms),
        properties={
            _text(raw.property_keys[i]) or "": _text(raw.property_values[i]) or ""
            for i in range(count)
        },
    )


def file_status(raw: Any) -> FileStatus:
    """Convert a native ``cv_file_status`` into a :class:`FileStatus`."""
    is_dir = bool(raw.is_dir)
    file_type = _FILE_TYPE_DIR if is_dir else int(raw.file_type)
    permissions = int(raw.mode) & 0o7777
    ctime_ms = int(raw.ctime_ms)
    return FileStatus(
        path=_text(raw.path) or "",
        name=_text(raw.name) or "",
        size=0 if is_dir else int(raw.len),
        is_dir=is_dir,
        is_file=file_type == _FILE_TYPE_FILE,
        is_symlink=file_type == _FILE_TYPE_LINK,
        mtime=int(raw.mtime_ms) / 1000.0,
        atime=int(raw.atime_ms) / 1000.0,
        ctime=None if ctime_ms < 0 else ctime_ms / 1000.0,
        mode=_TYPE_BITS.get(file_type, _stat.S_IFREG) | permissions,
        permissions=permissions,
        owner=_text(raw.owner) or "",
        group=_text(raw.group) or "",
        replicas=int(raw.replicas),
        block_size=int(raw.block_size),
        nlink=int(raw.nlink),
        target=_text(raw.target),
        id=int(raw.id),
        children=int(raw.children_num),
        is_complete=bool(raw.is_complete),
        file_type=file_type,
    )


def check_path(path: str | os.PathLike[str], what: str = "path") -> str:
    """Return ``path`` as an absolute Curvine path string, or refuse it."""
    value = os.fspath(path)
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str or os.PathLike[str], got {value!r}")
    if not value.startswith("/"):
        raise ValueError(f"{what} must be absolute (start with '/'), got {value!r}")
    if "\0" in value:
        raise ValueError(f"{what} must not contain NUL, got {value!r}")
    _encode(value, what)

    # Curvine refuses empty components and a trailing slash, and knows no
    # "." or "..": resolve them by name, as os.path.normpath does.
    normal = posixpath.normpath(value)
    return "/" + normal.lstrip("/")


def _encode(path: str, what: str = "path") -> bytes:
    try:
        return path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid UTF-8: {path!r}") from None


def _name(value: object, what: str) -> bytes:
    """A user, group or link target as NUL-terminated UTF-8, or refused."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, got {value!r}")
    if "\0" in value:
        raise ValueError(f"{what} must not contain NUL, got {value!r}")
    return _encode(value, what)


def _millis(value: object, what: str) -> int:
    """Seconds since the epoch as whole milliseconds for the wire."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or not 0 <= value * 1000 < 2**63:
        raise ValueError(
            f"{what} must be seconds since the epoch (0 to 2**63 ms), got {value!r}"
        )
    return int(value * 1000)


def _endpoint(token: str) -> str:
    text = token.strip()
    if not text:
        raise ValueError(
            "empty master endpoint in the list (two commas, or a stray one?)"
        )

    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueError(
                f"master endpoint {token!r} is not '[ipv6]:port' (missing ']:')"
            )
        port_text = rest[1:]
        shown = f"[{host}]"
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ValueError(f"master endpoint {token!r} has no port (want host:port)")
        if ":" in host:
            raise ValueError(
                f"master endpoint {token!r}: write an IPv6 address as [addr]:port"
            )
        shown = host

    if not host:
        raise ValueError(f"master endpoint {token!r} has no host (want host:port)")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(
            f"master endpoint {token!r}: port {port_text!r} is not a number "
            "from 1 to 65535"
        )
    return f"{shown}:{int(port_text)}"


def parse_masters(masters: str | Sequence[str]) -> list[str]:
    """Parse ``"host:port,host:port"`` (or a list of ``host:port``) into a list.

    Every token is checked; a bad one is refused with a ValueError naming it.
    """
    if isinstance(masters, str):
        tokens = masters.split(",")
    else:
        tokens = []
        for item in masters:
            if not isinstance(item, str):
                raise TypeError(f"master endpoints must be str, got {item!r}")
            tokens.append(item)
    if not tokens or (len(tokens) == 1 and not tokens[0].strip()):
        raise ValueError("no master endpoint given (want 'host:port[,host:port...]')")

    found: list[str] = []
    for token in tokens:
        endpoint = _endpoint(token)
        if endpoint not in found:
            found.append(endpoint)
    return found


def _option_text(key: str, value: object, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise ValueError(
        f"{where}: client option {key!r} must be a string, number or boolean, "
        f"got {value!r}"
    )


class _Conf:
    """What a curvine-cluster.toml contributes to a connection."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            with self.path.open("rb") as handle:
                data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{self.path}: not valid TOML: {exc}") from None

        self.cluster_id: str | None = None
        raw_id = data.get("cluster_id")
        if raw_id is not None:
            self.cluster_id = str(raw_id)

        section = data.get("client", {})
        if not isinstance(section, dict):
            raise TypeError(f"{self.path}: [client] must be a table")
        self.masters = self._masters(data, section)
        self.options = {
            key: value
            for key, value in section.items()
            if key != "master_addrs" and not isinstance(value, (dict, list))
        }

    def _masters(self, data: dict[str, Any], section: dict[str, Any]) -> list[str]:
        # The same order of sources as Curvine's own client, except that it
        # never falls back to an implicit localhost.
        entries = section.get("master_addrs") or []
        rpc_port = data.get("master", {}).get("rpc_port", 8995)
        if not entries:
            journal = data.get("journal", {}).get("journal_addrs") or []
            entries = [
                {"hostname": item.get("hostname"), "port": rpc_port}
                for item in journal
                if isinstance(item, dict)
            ]
        if not entries and "hostname" in data.get("master", {}):
            entries = [{"hostname": data["master"]["hostname"], "port": rpc_port}]
        if not entries:
            raise ValueError(
                f"{self.path}: no master endpoints: add [[client.master_addrs]] "
                "entries with hostname and port"
            )

        tokens = []
        for item in entries:
            if (
                not isinstance(item, dict)
                or "hostname" not in item
                or "port" not in item
            ):
                raise ValueError(
                    f"{self.path}: client.master_addrs entry {item!r} needs "
                    "hostname and port"
                )
            host = str(item["hostname"])
            if ":" in host and not host.startswith("["):
                host = f"[{host}]"
            tokens.append(f"{host}:{item['port']}")
        return parse_masters(tokens)


# The kinds behind which a more precise POSIX error may hide.
_EXPLAINED_KINDS = frozenset({lib.CV_KIND_COMMON, lib.CV_KIND_FILE_NOT_FOUND})

_LIVE_CLIENTS: weakref.WeakSet[Client] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for client in list(_LIVE_CLIENTS):
        client._forget_parent()


os.register_at_fork(after_in_child=_after_fork_in_child)


class Client:
    """A connection to one Curvine cluster; make it with :func:`connect`.

    The leader is found on the first call and remembered. One Client may be
    shared by many threads: every call releases the GIL while it waits on the
    network. After ``os.fork()`` the child opens its own native client on
    first use and leaves its parent's sockets alone.
    """

    def __init__(
        self,
        masters: Sequence[str],
        options: Mapping[str, str],
        cluster_id: str | None = None,
    ) -> None:
        self.masters: tuple[str, ...] = tuple(masters)
        self.cluster_id = cluster_id
        self._options = dict(options)
        self._lock = threading.Lock()
        self._handle: Any = None
        self._inflight = 0
        self._closed = False
        self._pid = os.getpid()

        # Build the native client now so that a bad option fails connect().
        self._handle = self._new_handle()
        _LIVE_CLIENTS.add(self)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<curvine_py.Client masters={','.join(self.masters)!r} {state}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- native handle management ---------------------------------------

    def _new_handle(self) -> Any:
        config = lib.cv_config_new()
        if config == ffi.NULL:
            raise MemoryError("libcurvine could not allocate a configuration")
        try:
            for key, value in self._options.items():
                status = lib.cv_config_set(config, key.encode(), value.encode())
                if status:
                    raise errors.from_status(
                        status,
                        f"client option {key} = {value!r}: "
                        f"{errors.last_error_message()}",
                    )
            out = ffi.new("cv_client **")
            errors.check(lib.cv_client_new(config, out), masters=self.masters)
        finally:
            lib.cv_config_free(config)
        return ffi.gc(out[0], lib.cv_client_free)

    def _forget_parent(self) -> None:
        # Runs in a forked child: the parent's native client and its sockets
        # belong to the parent. Never free it here (its threads are gone and
        # its sockets are shared); a fresh one is made on first use.
        if self._handle is not None:
            ffi.gc(self._handle, None)
        self._handle = None
        self._lock = threading.Lock()
        self._inflight = 0
        self._pid = os.getpid()

    @contextmanager
    def _native(self) -> Iterator[Any]:
        """Lend the native client for one call, keeping it alive meanwhile."""
        if self._closed:
            raise ValueError("this curvine_py Client is closed")
        if self._pid != os.getpid() or self._handle is None:
            self._adopt()
        with self._lock:
            if self._closed:
                raise ValueError("this curvine_py Client is closed")
            self._inflight += 1
            handle = self._handle
        try:
            yield handle
        finally:
            with self._lock:
                self._inflight -= 1
                if self._closed and self._inflight == 0:
                    self._free()

    def _adopt(self) -> None:
        """Give this process a native client of its own (first use after fork)."""
        if self._pid != os.getpid():
            self._forget_parent()

        # Made outside the lock, which is never held across a native call;
        # of two threads racing here, one handle wins and the other is freed.
        fresh = self._new_handle()
        with self._lock:
            if self._handle is None and not self._closed:
                log.debug("process %d opens its own Curvine client", os.getpid())
                self._handle, fresh = fresh, None
        if fresh is not None:
            ffi.release(fresh)

    def _free(self) -> None:
        if self._handle is not None:
            ffi.release(self._handle)
            self._handle = None

    def close(self) -> None:
        """Release the native client and its connections. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._pid != os.getpid():
                self._forget_parent()
            if self._inflight == 0:
                self._free()
        _LIVE_CLIENTS.discard(self)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _check(
        self, status: int, path: str | None = None, path2: str | None = None
    ) -> None:
        errors.check(status, path, path2, self.masters)

    # -- metadata calls ----------------------------------------------------

    def info(self) -> FsInfo:
        """Ask the leader master about the cluster: capacity and workers."""
        out = ffi.new("cv_fs_info **")
        with self._native() as handle:
            self._check(lib.cv_fs_info_get(handle, out))
        raw = out[0]
        try:
            return FsInfo(
                cluster_id=self.cluster_id,
                leader=_text(raw.leader) or "",
                active_master=_text(raw.active_master) or "",
                server_version=_text(raw.server_version),
                capacity=int(raw.capacity),
                available=int(raw.available),
                fs_used=int(raw.fs_used),
                non_fs_used=int(raw.non_fs_used),
                reserved_bytes=int(raw.reserved_bytes),
                allocatable_capacity=int(raw.allocatable_capacity),
                allocatable_available=int(raw.allocatable_available),
                inode_dir_num=int(raw.inode_dir_num),
                inode_file_num=int(raw.inode_file_num),
                block_num=int(raw.block_num),
                live_workers=_workers(raw.live_workers, raw.live_workers_len),
                blacklist_workers=_workers(
                    raw.blacklist_workers, raw.blacklist_workers_len
                ),
                decommission_workers=_workers(
                    raw.decommission_workers, raw.decommission_workers_len
                ),
                lost_workers=_workers(raw.lost_workers, raw.lost_workers_len),
            )
        finally:
            lib.cv_fs_info_free(raw)

    def stat(self, path: str | os.PathLike[str]) -> FileStatus:
        """Return the status of ``path`` (a symlink itself, not its target)."""
        text = check_path(path)
        out = ffi.new("cv_file_status **")
        with self._native() as handle:
            self._check(lib.cv_stat(handle, _encode(text), out), text)
        try:
            return file_status(out[0])
        finally:
            lib.cv_file_status_free(out[0])

    def exists(self, path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` exists."""
        text = check_path(path)
        out = ffi.new("bool *")
        with self._native() as handle:
            self._check(lib.cv_exists(handle, _encode(text), out), text)
        return bool(out[0])

    def ls(self, path: str | os.PathLike[str]) -> list[FileStatus]:
        """The status of every entry of the directory ``path``, in name order."""
        return list(self.iterdir(path))

    def listdir(self, path: str | os.PathLike[str]) -> list[str]:
        """The names of the entries of the directory ``path``, in name order."""
        return [entry.name for entry in self.iterdir(path)]

    def mkdir(
        self,
        path: str | os.PathLike[str],
        parents: bool = False,
        exist_ok: bool = False,
        mode: int = 0o755,
    ) -> None:
        """Create the directory ``path``, like ``pathlib.Path.mkdir``.

        ``parents`` creates missing parents; ``exist_ok`` accepts an existing
        directory (an existing file is still a FileExistsError).
        """
        text = check_path(path)
        mode = _io.whole_number(mode, "mode")
        if not 0 <= mode <= 0o7777:
            raise ValueError(
                f"mode must be permission bits (0 to 0o7777), got {mode:#o}"
            )
        if text == "/":
            # The master refuses to make the root at all, even with exist_ok.
            if exist_ok:
                return
            raise errors.from_status(
                lib.CV_KIND_FILE_ALREADY_EXISTS, "/ already exists", text
            )

        if parents and exist_ok:
            with self._explained(text):
                self._mkdir(text, True, mode)
            return

        try:
            self._mkdir(text, False, mode)
        except FileExistsError:
            if exist_ok and self.stat(text).is_dir:
                return
            raise
        except OSError as exc:
            if not parents:
                self._explain(text, exc)
            # A missing parent comes back as not-found or as the generic kind.
            if getattr(exc, "kind", None) not in {
                lib.CV_KIND_COMMON,
                lib.CV_KIND_FILE_NOT_FOUND,
            }:
                raise
            with self._explained(text):
                self._mkdir(text, True, mode)

    def _mkdir(self, path: str, create_parent: bool, mode: int) -> None:
        with self._native() as handle:
            self._check(lib.cv_mkdir(handle, _encode(path), create_parent, mode), path)

    def _explain(self, path: str, exc: OSError, self_dir: bool = False) -> None:
        """Raise the POSIX error behind a generic ``Common`` refusal of ``path``.

        Curvine answers a missing or non-directory parent, or a directory
        where a file was wanted, with its generic kind (and a path that runs
        through a file as not found); os would say ENOENT, ENOTDIR or EISDIR.
        Anything else re-raises ``exc``.
        """
        kind = getattr(exc, "kind", None)
        if kind not in _EXPLAINED_KINDS:
            raise exc
        if self_dir and kind == lib.CV_KIND_COMMON:
            with contextlib.suppress(OSError):
                if self.stat(path).is_dir:
                    raise self._error(26, f"{path} is a directory", path, exc)

        # The nearest ancestor that exists tells which of the two it is.
        parent = path.rsplit("/", 1)[0] or "/"
        ancestor = parent
        while True:
            try:
                found = self.stat(ancestor)
            except FileNotFoundError:
                ancestor = ancestor.rsplit("/", 1)[0] or "/"
                continue
            except OSError:
                raise exc from None
            break
        if not found.is_dir:
            raise self._error(10, f"{ancestor} is not a directory", path, exc)
        if ancestor != parent and kind == lib.CV_KIND_COMMON:
            raise self._error(8, f"parent directory {parent} does not exist", path, exc)
        raise exc

    def _error(self, kind: int, text: str, path: str, cause: OSError) -> Exception:
        error = errors.from_status(
            kind, f"{text} ({cause.strerror})", path, masters=self.masters
        )
        error.__cause__ = cause
        return error

    # -- files -------------------------------------------------------------

    def open(
        self,
        path: str | os.PathLike[str],
        mode: str = "rb",
        buffering: int = -1,
        block_size: int | None = None,
        replicas: int | None = None,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> Any:
        """Open a Curvine file as a standard ``io`` object.

        Modes: ``rb`` (``io.BufferedReader``), ``wb`` (replaces an existing
        file), ``xb`` (fails if it exists), ``ab`` (appends, creating it if
        missing), all ``io.BufferedWriter``; ``r``, ``w``, ``x``, ``a`` give
        an ``io.TextIOWrapper`` (UTF-8 unless ``encoding`` says otherwise).
        ``buffering=0`` gives the unbuffered :class:`~curvine_py.io.RawFile`.
        ``block_size`` and ``replicas`` apply to a new file (defaults: the
        client's ``block_size`` and ``replicas`` options). Written data is
        visible to readers once the file is closed; a ``with`` block that
        raises abandons the file instead, leaving it marked incomplete rather
        than publishing part of the data as the whole.
        """
        text = check_path(path)
        with self._explained(text, self_dir=True):
            return _io.open_file(
                self,
                text,
                mode,
                buffering,
                block_size,
                replicas,
                encoding,
                errors,
                newline,
            )

    @contextmanager
    def _explained(self, path: str, self_dir: bool = False) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            self._explain(path, exc, self_dir)

    def read_bytes(self, path: str | os.PathLike[str]) -> bytes:
        """The whole content of a file."""
        text = check_path(path)
        with self._explained(text, self_dir=True), _io.RawFile(self, text) as raw:
            return raw.readall()

    def write_bytes(
        self,
        path: str | os.PathLike[str],
        data: Buffer,
        block_size: int | None = None,
        replicas: int | None = None,
    ) -> int:
        """Make ``path`` a file holding ``data`` (replacing it); return its size."""
        text = check_path(path)
        with self._explained(text, self_dir=True):
            raw = _io.RawFile(self, text, "w", block_size, replicas)
        with raw:
            return raw.write(data)

    def read_text(self, path: str | os.PathLike[str], encoding: str = "utf-8") -> str:
        """The whole content of a file, decoded."""
        return self.read_bytes(path).decode(encoding)

    def write_text(
        self, path: str | os.PathLike[str], data: str, encoding: str = "utf-8"
    ) -> int:
        """Make ``path`` a file holding ``data`` encoded; return its length."""
        if not isinstance(data, str):
            raise TypeError(f"write_text needs str data, got {type(data).__name__}")
        self.write_bytes(path, data.encode(encoding))
        return len(data)

    def pread(self, path: str | os.PathLike[str], offset: int, length: int) -> bytes:
        """Up to ``length`` bytes of a file from ``offset``; ``b""`` past the end.

        Each call asks the master where the blocks are; for many reads of one
        file, keep it open (``open(path, "rb", buffering=0)``) and use its
        ``pread``.
        """
        text = check_path(path)
        offset = _io.whole_number(offset, "offset")
        length = _io.whole_number(length, "length")
        if offset < 0 or length < 0:
            raise ValueError(
                f"offset and length must not be negative, got {offset}, {length}"
            )
        with self._explained(text, self_dir=True), _io.RawFile(self, text) as raw:
            return raw.pread(length, offset)

    # -- namespace changes ---------------------------------------------------

    def remove(self, path: str | os.PathLike[str], recursive: bool = False) -> None:
        """Remove a file, a symlink or an empty directory (any with ``recursive``).

        A non-empty directory without ``recursive`` is ``OSError(ENOTEMPTY)``.
        """
        text = check_path(path)
        with self._native() as handle:
            self._check(lib.cv_delete(handle, _encode(text), recursive), text)

    def rename(
        self,
        src: str | os.PathLike[str],
        dst: str | os.PathLike[str],
        replace: bool = True,
    ) -> None:
        """Move ``src`` to ``dst``; an existing file ``dst`` is replaced unless
        ``replace`` is False (then FileExistsError)."""
        source, target = check_path(src, "src"), check_path(dst, "dst")
        flags = 0 if replace else lib.CV_RENAME_NO_REPLACE
        try:
            with self._native() as handle:
                status = lib.cv_rename(handle, _encode(source), _encode(target), flags)
                self._check(status, source, target)
        except OSError as exc:
            if getattr(exc, "kind", None) != lib.CV_KIND_COMMON:
                raise
            if not self.exists(source):
                raise self._error(8, f"{source} does not exist", source, exc) from None
            self._explain(target, exc)

    def chmod(
        self, path: str | os.PathLike[str], mode: int, recursive: bool = False
    ) -> None:
        """Set the permission bits of ``path`` (the low 12 bits of ``mode``)."""
        text = check_path(path)
        mode = _io.whole_number(mode, "mode")
        if not 0 <= mode <= 0o7777:
            raise ValueError(f"mode must be from 0 to 0o7777, got {mode:#o}")
        with self._native() as handle:
            self._check(lib.cv_set_mode(handle, _encode(text), mode, recursive), text)

    def chown(
        self,
        path: str | os.PathLike[str],
        owner: str | None = None,
        group: str | None = None,
        recursive: bool = False,
    ) -> None:
        """Set the owner and/or group names of ``path`` (None keeps one)."""
        text = check_path(path)
        if owner is None and group is None:
            raise ValueError("chown() needs an owner, a group or both")
        user = ffi.NULL if owner is None else _name(owner, "owner")
        team = ffi.NULL if group is None else _name(group, "group")
        with self._native() as handle:
            status = lib.cv_set_owner(handle, _encode(text), user, team, recursive)
            self._check(status, text)

    def utime(
        self, path: str | os.PathLike[str], times: tuple[float, float] | None = None
    ) -> None:
        """Set access and modification times (seconds), or both to now."""
        text = check_path(path)
        atime, mtime = times if times is not None else (time.time(),) * 2
        stamps = [_millis(atime, "atime"), _millis(mtime, "mtime")]
        with self._native() as handle:
            status = lib.cv_set_times(handle, _encode(text), *stamps)
            self._check(status, text)

    def set_replicas(
        self, path: str | os.PathLike[str], replicas: int, recursive: bool = False
    ) -> None:
        """Set how many replicas the master keeps of a file's blocks."""
        text = check_path(path)
        replicas = _io.whole_number(replicas, "replicas")
        if not 1 <= replicas <= 99:
            raise ValueError(f"replicas must be from 1 to 99, got {replicas}")
        with self._native() as handle:
            status = lib.cv_set_replicas(handle, _encode(text), replicas, recursive)
            self._check(status, text)

    def symlink(
        self,
        target: str,
        link: str | os.PathLike[str],
        force: bool = False,
    ) -> None:
        """Make ``link`` a symlink to ``target`` (``force`` replaces a link)."""
        text = check_path(link, "link")
        if not isinstance(target, str) or not target:
            raise ValueError(f"symlink target must be a non-empty str, got {target!r}")
        goal = _name(target, "symlink target")
        with self._explained(text), self._native() as handle:
            status = lib.cv_symlink(handle, goal, _encode(text), force)
            self._check(status, text)

    def readlink(self, path: str | os.PathLike[str]) -> str:
        """The target of the symlink ``path``."""
        st = self.stat(path)
        if not st.is_symlink or st.target is None:
            raise errors.from_status(
                lib.CV_KIND_INVALID_ARGUMENT, "not a symlink", st.path
            )
        return st.target

    # -- listings ----------------------------------------------------------

    def iterdir(
        self, path: str | os.PathLike[str], page_size: int = 1000
    ) -> Generator[FileStatus, None, None]:
        """The entries of a directory in name order, fetched a page at a time.

        Memory stays bounded by ``page_size`` entries whatever the size of
        the directory.
        """
        text = check_path(path)
        page_size = _io.whole_number(page_size, "page_size")
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        # The master caps a page anyway; the native call takes 32 bits.
        page_size = min(page_size, 1 << 20)
        after = b""
        first = True
        while True:
            page = self._page(text, after, page_size)
            if first:
                first = False
                self._refuse_file_listing(text, page)
            if not page:
                return
            yield from page
            after = _encode(page[-1].name)

    def _page(self, path: str, after: bytes, limit: int) -> list[FileStatus]:
        out = ffi.new("cv_status_list **")
        with self._native() as handle:
            status = lib.cv_list_page(handle, _encode(path), after, limit, out)
            self._check(status, path)
        listing = out[0]
        try:
            return [file_status(listing.items[i]) for i in range(listing.len)]
        finally:
            lib.cv_status_list_free(listing)

    def _refuse_file_listing(self, path: str, entries: list[FileStatus]) -> None:
        # Curvine answers a listing of a file with the file itself.
        only = entries[0] if len(entries) == 1 else None
        if (
            only
            and not only.is_dir
            and only.path == path
            and not self.stat(path).is_dir
        ):
            raise errors.from_status(
                lib.CV_KIND_NOT_A_DIRECTORY,
                f"not a directory: {path}",
                path,
                masters=self.masters,
            )

    def walk(
        self,
        top: str | os.PathLike[str],
        topdown: bool = True,
        onerror: Callable[[OSError], object] | None = None,
    ) -> Iterator[tuple[str, list[str], list[str]]]:
        """Walk a tree like ``os.walk``: ``(dirpath, dirnames, filenames)``.

        With ``topdown``, pruning ``dirnames`` in place skips those
        directories. Symlinks are listed as files and never followed.
        """
        pending: list[str | tuple[str, list[str], list[str]]] = [check_path(top)]
        while pending:
            item = pending.pop()
            if isinstance(item, tuple):
                yield item
                continue
            try:
                entries = list(self.iterdir(item))
            except OSError as exc:
                if onerror is not None:
                    onerror(exc)
                continue

            dirs = [e.name for e in entries if e.is_dir]
            files = [e.name for e in entries if not e.is_dir]
            if topdown:
                yield item, dirs, files
            else:
                pending.append((item, dirs, files))
            base = item.rstrip("/")
            pending.extend(f"{base}/{name}" for name in reversed(dirs))

    # -- cache and mounts ------------------------------------------------

    def free(
        self, path: str | os.PathLike[str], recursive: bool = False
    ) -> tuple[int, int]:
        """Drop Curvine's cached copy of ``path`` (its under-store keeps it).

        Returns how many inodes and bytes were freed.
        """
        text = check_path(path)
        inodes, size = ffi.new("int64_t *"), ffi.new("int64_t *")
        with self._native() as handle:
            status = lib.cv_free_cache(handle, _encode(text), recursive, inodes, size)
            self._check(status, text)
        return int(inodes[0]), int(size[0])

    def mounts(self) -> list[MountInfo]:
        """The mount table: which under-store lies behind which path."""
        out = ffi.new("cv_mount_list **")
        with self._native() as handle:
            self._check(lib.cv_mount_table(handle, out))
        table = out[0]
        try:
            return [_mount(table.items[i]) for i in range(table.len)]
        finally:
            lib.cv_mount_list_free(table)

    def mount(
        self,
        cv_path: str | os.PathLike[str],
        ufs_path: str,
        properties: Mapping[str, str] | None = None,
        read_write: bool = False,
        update: bool = False,
    ) -> None:
        """Mount the under-store URI ``ufs_path`` (``s3://bucket/prefix``...)
        at ``cv_path``; ``properties`` carry its endpoint and credentials.

        ``read_write`` lets writes go through to the under-store; ``update``
        changes an existing mount.
        """
        text = check_path(cv_path, "cv_path")
        if "://" not in ufs_path:
            raise ValueError(f"ufs_path must be a URI (scheme://...), got {ufs_path!r}")
        items = list((properties or {}).items())
        keys = [ffi.new("char[]", str(k).encode()) for k, _ in items]
        values = [ffi.new("char[]", str(v).encode()) for _, v in items]
        key_array = ffi.new("const char *[]", keys) if items else ffi.NULL
        value_array = ffi.new("const char *[]", values) if items else ffi.NULL
        with self._native() as handle:
            status = lib.cv_mount(
                handle,
                _encode(text),
                ufs_path.encode(),
                key_array,
                value_array,
                len(items),
                read_write,
                update,
            )
            self._check(status, text)

    def unmount(self, cv_path: str | os.PathLike[str]) -> None:
        """Remove the mount at ``cv_path``."""
        text = check_path(cv_path, "cv_path")
        with self._native() as handle:
            self._check(lib.cv_unmount(handle, _encode(text)), text)

    def __reduce__(self) -> tuple[Any, ...]:
        # A pickled client (multiprocessing "spawn") reconnects on arrival.
        return (Client, (self.masters, self._options, self.cluster_id))


def connect(
    masters: str | Sequence[str] | None = None,
    conf: str | os.PathLike[str] | None = None,
    timeout: float | None = 10.0,
    options: Mapping[str, OptionValue] | None = None,
) -> Client:
    """Make a :class:`Client` for a Curvine cluster.

    Parameters
    ----------
    masters
        The master endpoints, ``"host:port,host:port"`` or a list of
        ``"host:port"``. Overrides those of ``conf``.
    conf
        The path of a ``curvine-cluster.toml``: its ``[[client.master_addrs]]``
        give the masters, and those of its ``[client]`` keys libcurvine knows
        are applied (the others are skipped).
    timeout
        Seconds that one call may spend finding a leader, connect attempts
        included; also the longest a master may take to answer one request.
        None keeps Curvine's own deadlines (two minutes).
    options
        More ``[client]`` keys, typed as in the TOML file (``"128KB"``,
        ``30000``, ``True``); they override ``conf``. An unknown key is an
        error here.

    The cluster is contacted on the first call, not here.
    """
    if masters is None and conf is None:
        raise ValueError(
            "connect() needs masters='host:port[,host:port...]' or "
            "conf='/path/curvine-cluster.toml'"
        )

    settings: dict[str, str] = {}
    cluster_id = None
    endpoints: list[str] = []
    if conf is not None:
        parsed = _Conf(conf)
        cluster_id = parsed.cluster_id
        endpoints = parsed.masters
        settings.update(_known_options(parsed.options, str(parsed.path)))
    if masters is not None:
        endpoints = parse_masters(masters)
    for key, value in (options or {}).items():
        settings[key] = _option_text(key, value, "connect(options=...)")

    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"timeout must be seconds or None, got {timeout!r}")
        if not math.isfinite(timeout) or not timeout > 0:
            raise ValueError(
                f"timeout must be a positive, finite number of seconds (or None "
                f"for Curvine's own deadlines), got {timeout}"
            )
        window = max(1, int(timeout * 1000))
        settings[_RETRY_WINDOW_KEY] = str(window)
        for key, default in _PER_ATTEMPT_KEYS.items():
            current = settings.get(key, str(default))
            limit = int(current) if current.isdigit() else window
            settings[key] = str(min(limit, window))

    settings["master_addrs"] = ",".join(endpoints)
    log.debug("connecting to Curvine masters %s", settings["master_addrs"])
    return Client(endpoints, settings, cluster_id)


def _known_options(options: Mapping[str, Any], where: str) -> dict[str, str]:
    """The [client] keys of a TOML file that libcurvine accepts."""
    known: dict[str, str] = {}
    config = lib.cv_config_new()
    if config == ffi.NULL:
        raise MemoryError("libcurvine could not allocate a configuration")
    try:
        for key, value in options.items():
            text = _option_text(key, value, where)
            status = lib.cv_config_set(config, key.encode(), text.encode())
            if status == lib.CV_ERR_UNKNOWN_OPTION:
                log.debug("%s: client.%s is not used by curvine_py", where, key)
                continue
            if status:
                raise ValueError(
                    f"{where}: client.{key} = {value!r}: {errors.last_error_message()}"
                )
            known[key] = text
    finally:
        lib.cv_config_free(config)
    return known
