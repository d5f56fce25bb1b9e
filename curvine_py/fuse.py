"""curvine-py-fuse: a small read-only FUSE filesystem over curvine_py.

It takes the command line of Curvine's own FUSE client, so that curvine-fluid
can exec it where no curvine-fuse is installed. It serves getattr, readdir,
readlink, open, read and statfs; every change to the tree is refused with
EROFS by the read-only mount.
"""

from __future__ import annotations

import argparse
import errno
import grp
import itertools
import logging
import os
import posixpath
import pwd
import signal
import stat as stat_mod
import subprocess
import sys
import threading
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

if TYPE_CHECKING:
    from curvine_py import Client

log = logging.getLogger("curvine_py.fuse")

PROG = "curvine-py-fuse"
DEFAULT_CONF = "conf/curvine-cluster.toml"
DEFAULT_MNT_PATH = "/curvine-fuse"
DEFAULT_FS_PATH = "/"
STATFS_BLOCK = 4096
DEFAULT_FUSE_THREADS = 10

# Flags of Curvine's FUSE client that tune parts ours does not have. They are
# accepted so that one command line drives either program, and logged as unused.
IGNORED_VALUE_FLAGS = (
    "tasks-per-mnt",
    "mnt-per-task",
    "clone-fd",
    "fuse-channel-size",
    "stream-channel-size",
    "direct-io",
    "cache-readdir",
    "max-background",
    "congestion-threshold",
    "node-cache-timeout",
    "web-port",
    "read-dir-fill-ino",
    "write-back-cache",
    "non-seekable",
    "check-permission",
    "metrics-enabled",
    "enable-meta-cache",
    "meta-cache-ttl",
    "remember",
    "list-limit",
)

# Mount options that would make the mount writable; ours can only read.
WRITABLE_OPTIONS = frozenset({"rw"})

# Options Curvine's FUSE client takes that libfuse 3 has no name for: large
# writes are always on there.
NO_LIBFUSE_OPTIONS = frozenset({"big_write"})

T = TypeVar("T")


class UsageError(Exception):
    """A bad command line or configuration, reported as one line."""


@dataclass
class MountSettings:
    """Everything the mount needs, merged from the config file and the flags."""

    mnt_path: str
    fs_path: str
    masters: str | None
    conf: str | None
    io_threads: int | None
    worker_threads: int | None
    debug: bool
    options: list[str] = field(default_factory=list)
    timeouts: dict[str, float] = field(default_factory=dict)
    client_options: dict[str, str] = field(default_factory=dict)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, shaped like Curvine's FUSE client's."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Mount a Curvine path read-only through curvine_py (curvine-py's own "
            "small FUSE program, not Curvine's curvine-fuse)."
        ),
    )
    parser.add_argument("--mnt-path", help=f"mount point (default {DEFAULT_MNT_PATH})")
    parser.add_argument(
        "--fs-path", help=f"Curvine path to expose (default {DEFAULT_FS_PATH})"
    )
    parser.add_argument(
        "--mnt-number", type=int, help="number of mount points; only 1 is supported"
    )
    parser.add_argument("-d", "--debug", action="store_true", help="log every call")
    parser.add_argument(
        "-c",
        "--conf",
        default=DEFAULT_CONF,
        help=f"curvine-cluster.toml (default {DEFAULT_CONF})",
    )
    parser.add_argument(
        "--io-threads",
        type=int,
        help="most FUSE request threads at once (1 serves requests one by one)",
    )
    parser.add_argument(
        "--worker-threads",
        type=int,
        help="accepted for compatibility; ours has no separate worker pool",
    )
    parser.add_argument("--master-addrs", help="masters, e.g. 'm1:8995,m2:8995'")
    parser.add_argument(
        "-o",
        "--options",
        action="append",
        default=[],
        help="FUSE mount options (replace [fuse] fuse_opts of the config file)",
    )
    parser.add_argument(
        "--readonly",
        action="store_true",
        help="accepted; the mount is always read-only",
    )
    for name in ("entry", "attr", "negative"):
        parser.add_argument(
            f"--{name}-timeout-ms", type=int, help=f"kernel {name} cache time in ms"
        )
    for name in IGNORED_VALUE_FLAGS:
        parser.add_argument(f"--{name}", help=argparse.SUPPRESS)
    return parser


def _split_client_overrides(argv: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Take out Curvine's `--client.KEY VALUE` (or `--client.KEY=VALUE`) flags."""
    rest: list[str] = []
    overrides: dict[str, str] = {}
    items = list(argv)
    i = 0
    while i < len(items):
        arg = items[i]
        if arg.startswith("--client."):
            key, eq, value = arg[len("--client.") :].partition("=")
            if not eq:
                if i + 1 >= len(items):
                    raise UsageError(f"{arg} needs a value")
                i += 1
                value = items[i]
            if not key:
                raise UsageError(f"{arg}: expected --client.KEY VALUE")
            overrides[key.replace("-", "_")] = value
        else:
            rest.append(arg)
        i += 1
    return rest, overrides


def _read_conf(path: str) -> dict[str, Any]:
    """The parsed curvine-cluster.toml, or an empty table when it is absent."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"--conf {path}: not valid TOML: {e}") from None
    except OSError as e:
        raise UsageError(f"--conf {path}: cannot read it: {e.strerror}") from None


def _positive(flag: str, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise UsageError(f"{flag} {value}: expected a number of at least 1")
    return value


def parse_settings(argv: Sequence[str]) -> MountSettings:
    """Turn the command line (and the config file it names) into settings."""
    rest, overrides = _split_client_overrides(argv)
    args = build_parser().parse_args(rest)

    ignored = [
        f"--{n}" for n in IGNORED_VALUE_FLAGS if getattr(args, n.replace("-", "_"))
    ]
    if ignored:
        log.info("flags without effect in %s: %s", PROG, ", ".join(ignored))

    mnt_number = _positive("--mnt-number", args.mnt_number)
    conf = _read_conf(args.conf)
    fuse_conf = conf.get("fuse", {}) if isinstance(conf.get("fuse"), dict) else {}
    if mnt_number is None:
        mnt_number = int(fuse_conf.get("mnt_number", 1))
    if mnt_number != 1:
        raise UsageError(
            f"--mnt-number {mnt_number}: {PROG} serves exactly one mount point; "
            "use 1, or install Curvine's curvine-fuse for several"
        )

    io_threads = _positive("--io-threads", args.io_threads)
    worker_threads = _positive("--worker-threads", args.worker_threads)

    mnt_path = args.mnt_path or fuse_conf.get("mnt_path") or DEFAULT_MNT_PATH
    fs_path = args.fs_path or fuse_conf.get("fs_path") or DEFAULT_FS_PATH
    if not str(fs_path).startswith("/"):
        raise UsageError(f"--fs-path {fs_path!r}: expected an absolute Curvine path")
    fs_path = posixpath.normpath(str(fs_path))

    client_conf = conf.get("client")
    has_conf_masters = isinstance(client_conf, dict) and bool(
        client_conf.get("master_addrs")
    )
    if not args.master_addrs and not has_conf_masters:
        raise UsageError(
            f"no masters: {args.conf} has no [[client.master_addrs]] "
            "(or does not exist) and --master-addrs was not given"
        )

    options = _split_options(args.options or fuse_conf.get("fuse_opts", []))
    bad = sorted(WRITABLE_OPTIONS.intersection(o.split("=", 1)[0] for o in options))
    if bad:
        raise UsageError(f"-o {','.join(bad)}: {PROG} mounts read-only; drop it")
    dropped = [o for o in options if o in NO_LIBFUSE_OPTIONS]
    if dropped:
        log.info("mount options without effect in %s: %s", PROG, ", ".join(dropped))
        options = [o for o in options if o not in NO_LIBFUSE_OPTIONS]

    timeouts: dict[str, float] = {}
    for name in ("entry", "attr", "negative"):
        ms = getattr(args, f"{name}_timeout_ms")
        if ms is None:
            ms = fuse_conf.get(f"{name}_timeout_ms")
        if ms is not None:
            if int(ms) < 0:
                raise UsageError(f"--{name}-timeout-ms {ms}: expected 0 or more")
            timeouts[f"{name}_timeout"] = int(ms) / 1000.0

    return MountSettings(
        mnt_path=str(mnt_path),
        fs_path=fs_path,
        masters=args.master_addrs,
        conf=args.conf if has_conf_masters else None,
        io_threads=io_threads,
        worker_threads=worker_threads,
        debug=args.debug,
        options=options,
        timeouts=timeouts,
        client_options=overrides,
    )


def _split_options(raw: Sequence[str]) -> list[str]:
    options: list[str] = []
    for entry in raw:
        for opt in str(entry).split(","):
            opt = opt.strip()
            if not opt:
                raise UsageError(f"-o {entry!r}: empty option between commas")
            options.append(opt)
    return options


def prepare_mount_point(path: str) -> str:
    """Create the mount point if needed; refuse a file or a non-empty directory."""
    target = Path(path)
    try:
        if target.exists():
            if not target.is_dir():
                raise UsageError(f"--mnt-path {path}: exists and is not a directory")
            if any(target.iterdir()):
                raise UsageError(f"--mnt-path {path}: directory is not empty")
        else:
            target.mkdir(parents=True)
    except OSError as e:
        hint = ""
        if e.errno == errno.ENOTCONN:
            hint = f" (a FUSE mount whose program died: `fusermount3 -u {path}`)"
        raise UsageError(f"--mnt-path {path}: {e.strerror}{hint}") from None
    return str(target.resolve())


def _errno_of(exc: OSError) -> int:
    if exc.errno:
        return exc.errno
    if isinstance(exc, TimeoutError):
        return errno.ETIMEDOUT
    if isinstance(exc, ConnectionError):
        return errno.ENOTCONN
    return errno.EIO


def _uid_of(owner: str | None, fallback: int) -> int:
    try:
        return pwd.getpwnam(owner).pw_uid if owner else fallback
    except KeyError:
        return fallback


def _gid_of(group: str | None, fallback: int) -> int:
    try:
        return grp.getgrnam(group).gr_gid if group else fallback
    except KeyError:
        return fallback


def _make_operations(client: Client, fs_path: str) -> Any:
    """The mfusepy operations object; built here so mfusepy loads only on mount."""
    import mfusepy  # type: ignore[import-untyped]

    class CurvineReadOnly(mfusepy.Operations):  # type: ignore[misc]
        """Read-only view of one Curvine directory tree."""

        use_ns = True

        def __init__(self) -> None:
            self._client = client
            self._root = fs_path
            self._uid = os.getuid()
            self._gid = os.getgid()
            self._files: dict[int, Any] = {}
            self._handles = itertools.count(1)
            self._files_lock = threading.Lock()

        def _remote(self, path: str) -> str:
            return posixpath.normpath(posixpath.join(self._root, path.lstrip("/")))

        def _call(self, op: str, path: str, fn: Callable[..., T], *args: Any) -> T:
            try:
                return fn(*args)
            except OSError as e:
                code = _errno_of(e)
                if code != errno.ENOENT:
                    log.warning("%s %s: %s", op, path, e)
                raise mfusepy.FuseOSError(code) from e

        def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
            remote = self._remote(path)
            st = self._call("stat", remote, self._client.stat, remote)
            if st.is_dir:
                kind = stat_mod.S_IFDIR
            elif st.is_symlink:
                kind = stat_mod.S_IFLNK
            else:
                kind = stat_mod.S_IFREG
            size = len(st.target or "") if st.is_symlink else st.size
            return {
                "st_mode": kind | stat_mod.S_IMODE(st.mode),
                "st_nlink": st.nlink or (2 if st.is_dir else 1),
                "st_size": size,
                "st_uid": _uid_of(st.owner, self._uid),
                "st_gid": _gid_of(st.group, self._gid),
                "st_mtime": int(st.mtime * 1e9),
                "st_atime": int((st.atime or st.mtime) * 1e9),
                "st_ctime": int((st.ctime or st.mtime) * 1e9),
                "st_blksize": STATFS_BLOCK,
                "st_blocks": (size + 511) // 512,
            }

        def readdir(self, path: str, fh: int) -> list[Any]:
            remote = self._remote(path)
            entries = self._call(
                "list", remote, lambda: list(self._client.iterdir(remote))
            )
            return [".", "..", *((e.name, {"st_mode": e.mode}, 0) for e in entries)]

        def readlink(self, path: str) -> str:
            remote = self._remote(path)
            return str(self._call("readlink", remote, self._client.readlink, remote))

        def open(self, path: str, flags: int) -> int:
            if flags & os.O_ACCMODE != os.O_RDONLY:
                raise mfusepy.FuseOSError(errno.EROFS)
            remote = self._remote(path)

            # One unbuffered reader per open file, shared by the request
            # threads: its reads are positional, like the kernel's.
            raw = self._call("open", remote, self._client.open, remote, "rb", 0)
            fh = next(self._handles)
            with self._files_lock:
                self._files[fh] = raw
            return fh

        def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
            raw = self._files.get(fh)
            if raw is None:
                raise mfusepy.FuseOSError(errno.EBADF)
            data: bytes = self._call("read", raw.name, raw.pread, size, offset)
            return data

        def release(self, path: str, fh: int) -> int:
            with self._files_lock:
                entry = self._files.pop(fh, None)
            if entry is not None:
                entry.close()
            return 0

        def destroy(self, path: str) -> None:
            with self._files_lock:
                files, self._files = list(self._files.values()), {}
            for raw in files:
                raw.close()

        def statfs(self, path: str) -> dict[str, int]:
            info = self._call("info", self._root, self._client.info)
            blocks = int(info.capacity) // STATFS_BLOCK
            free = int(info.available) // STATFS_BLOCK
            return {
                "f_bsize": STATFS_BLOCK,
                "f_frsize": STATFS_BLOCK,
                "f_blocks": blocks,
                "f_bfree": free,
                "f_bavail": free,
                "f_namemax": 255,
            }

    return CurvineReadOnly()


class SignalUnmounter:
    """Turns SIGINT, SIGTERM and SIGHUP into a lazy unmount of the mount point.

    libfuse's own handlers end its loop with a failure status, which would make
    a requested stop look like a crash. With the signals blocked in every
    thread, one watcher takes them instead and unmounts, so that the loop ends
    the way an external `fusermount3 -u` ends it.
    """

    SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})

    def __init__(self, mountpoint: str) -> None:
        self._mountpoint = mountpoint
        self._done = threading.Event()
        self.received: signal.Signals | None = None

    def __enter__(self) -> Self:
        signal.pthread_sigmask(signal.SIG_BLOCK, self.SIGNALS)
        threading.Thread(target=self._watch, name="fuse-signals", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, self.SIGNALS)

    def _watch(self) -> None:
        self.received = signal.Signals(signal.sigwait(self.SIGNALS))
        log.info("%s received; unmounting %s", self.received.name, self._mountpoint)

        # A signal that lands while libfuse is still mounting finds nothing to
        # unmount yet, so keep trying until the loop has returned.
        while not self._done.is_set():
            subprocess.run(
                ["fusermount3", "-u", "-z", self._mountpoint],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
            self._done.wait(0.2)


def mount(client: Client, settings: MountSettings, mountpoint: str) -> None:
    """Serve the mount in the foreground until it is unmounted or signalled."""
    import mfusepy

    options: dict[str, Any] = {"fsname": f"curvine:{settings.fs_path}"}
    options["subtype"] = "curvine-py"
    options["ro"] = True
    for opt in settings.options:
        key, _, value = opt.partition("=")
        options[key] = value if value else True
    options.update(settings.timeouts)

    nothreads = settings.io_threads == 1
    if not nothreads:
        threads = settings.io_threads or DEFAULT_FUSE_THREADS
        options["max_threads"] = threads
        # Stated explicitly because libfuse 3.14 warns about its own default.
        options["max_idle_threads"] = threads
    if settings.worker_threads:
        log.info(
            "--worker-threads %d has no effect: requests are served on the FUSE "
            "threads themselves",
            settings.worker_threads,
        )

    log.info(
        "mounting curvine:%s at %s (read-only, %s)",
        settings.fs_path,
        mountpoint,
        "one request at a time"
        if nothreads
        else f"up to {options['max_threads']} request threads",
    )
    with SignalUnmounter(mountpoint):
        mfusepy.FUSE(
            _make_operations(client, settings.fs_path),
            mountpoint,
            foreground=True,
            nothreads=nothreads,
            debug=settings.debug,
            **options,
        )
    log.info("unmounted %s", mountpoint)


def _usable_client_options(overrides: dict[str, str]) -> dict[str, str]:
    """The `--client.*` overrides libcurvine knows; the others are logged."""
    from curvine_py.client import _known_options

    usable = _known_options(overrides, "--client flags")
    unused = sorted(set(overrides) - set(usable))
    if unused:
        log.info(
            "client options without effect in %s: %s",
            PROG,
            ", ".join(f"--client.{k.replace('_', '-')}" for k in unused),
        )
    return usable


def _check_fuse_usable() -> None:
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
    except OSError as e:
        raise UsageError(
            f"/dev/fuse: {e.strerror}; this machine cannot mount FUSE"
        ) from None
    os.close(fd)
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as e:
        raise UsageError(
            f"cannot load libfuse through mfusepy ({e}); install fuse3 "
            "and `pip install curvine-py[fuse]`"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `curvine-py-fuse` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "-d" in args or "--debug" in args
    level = os.environ.get("CURVINE_PY_LOG", "DEBUG" if debug else "INFO").upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    try:
        settings = parse_settings(args)
        _check_fuse_usable()
        mountpoint = prepare_mount_point(settings.mnt_path)

        import curvine_py

        client = curvine_py.connect(
            masters=settings.masters,
            conf=settings.conf,
            options=_usable_client_options(settings.client_options),
        )
        try:
            client.stat(settings.fs_path)
            mount(client, settings, mountpoint)
        finally:
            client.close()
    except (UsageError, ValueError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except RuntimeError as e:
        print(f"{PROG}: error: the FUSE loop failed ({e})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
