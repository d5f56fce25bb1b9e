"""The checks run before mounting: each has a name, a time, and a fix on failure.

Every network step runs under the check timeout, so an unreachable master
fails in seconds rather than after the client's own minutes of retries.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import ipaddress
import logging
import os
import re
import shutil
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from fluid.config import Settings
from fluid.endpoints import Endpoint

log = logging.getLogger("fluid")

T = TypeVar("T")

OK, FAILED, WARNING, SKIPPED = "ok", "failed", "warning", "skipped"

# Dead mounts unmounted from one path before giving up.
MAX_STACKED = 8

PIPE_MAX_SIZE = Path("/proc/sys/fs/pipe-max-size")
PIPE_MAX_SIZE_ENV = "CURVINE_FLUID_PIPE_MAX_SIZE_FILE"
PROC_STATUS = Path("/proc/self/status")
CAP_SYS_RESOURCE = 24

# curvine-fuse sizes each splice pipe to its FUSE buffer: 256 pages of data
# and a 4 KiB header, or more when fuse.max_readahead_kb asks for it.
FUSE_MAX_PAGES = 256
FUSE_HEADER_BYTES = 4096
# The kernel sets no pipe capacity above this at all.
PIPE_SIZE_CEILING = 2**31

GLIBC_FIX = (
    "run an image whose glibc is at least that version (fluid/deploy/Dockerfile "
    "uses Ubuntu 24.04), or a curvine-fuse built against this image's glibc"
)


@dataclass
class CheckResult:
    """The outcome of one check, as the report shows it."""

    name: str
    status: str
    seconds: float
    detail: str
    fix: str = ""


class Failed(Exception):
    """A check failed: ``detail`` says what was found, ``fix`` what to do."""

    def __init__(self, detail: str, fix: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.fix = fix


class Warned(Exception):
    """A check found something worth a look that does not stop the mount."""

    def __init__(self, detail: str, fix: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.fix = fix


def splice_pipe_request(max_readahead_kb: int | None, page_size: int) -> int:
    """The bytes curvine-fuse asks F_SETPIPE_SZ for, per splice pipe."""
    buffer = FUSE_MAX_PAGES * page_size + FUSE_HEADER_BYTES
    readahead = min(max_readahead_kb or 0, 2**32 - 1) * 1024
    return max(buffer, readahead + FUSE_HEADER_BYTES)


def kernel_pipe_size(request: int, page_size: int) -> int | None:
    """The capacity the kernel turns a request into (a power of two, at least
    one page) and checks against pipe-max-size; None above what it allows."""
    if request > PIPE_SIZE_CEILING:
        return None
    return max(page_size, 1 << (request - 1).bit_length())


def has_capability(bit: int, status: Path = PROC_STATUS) -> bool:
    """Whether this process holds a capability in its effective set (False
    when the status file cannot be read)."""
    try:
        for line in status.read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> bit & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False


def bounded(fn: Callable[[], T], seconds: float, what: str) -> T:
    """Run ``fn`` in a helper thread and give up on it after ``seconds``.

    The helper is a daemon thread: if it is stuck in a native call, this
    process still exits or execs on time.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            box["error"] = exc

    thread = threading.Thread(target=run, name=f"check: {what}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"{what}: no answer within {seconds:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def all_within(
    items: list[T], fn: Callable[[T], object], seconds: float, what: str
) -> list[str | None]:
    """Run ``fn`` on every item at once; None for each that returned, else why not.

    One deadline holds for all of them together, however many there are: an
    item whose call has not returned by then (a name server that never
    answers, a port that drops packets) is given up on, its daemon thread
    left behind.
    """
    timed_out = f"no answer within {seconds:g} s"
    answers: list[str | None] = [timed_out] * len(items)

    def run(index: int, item: T) -> None:
        try:
            fn(item)
            answers[index] = None
        except TimeoutError:
            answers[index] = timed_out
        except OSError as exc:
            answers[index] = _reason(exc)
        # Whatever else goes wrong in one lookup is that item's answer.
        except Exception as exc:  # noqa: BLE001
            answers[index] = _reason(exc)

    threads = [
        threading.Thread(target=run, args=(i, item), name=f"check: {what}", daemon=True)
        for i, item in enumerate(items)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [
        timed_out if thread.is_alive() else answers[i]
        for i, thread in enumerate(threads)
    ]


class Checks:
    """Runs the pre-mount checks for one Settings and hands each result on."""

    def __init__(
        self,
        settings: Settings,
        fuse_bin: Path,
        emit: Callable[[CheckResult], None],
        dry_run: bool = False,
        timeout: float | None = None,
        dev_fuse: Path = Path("/dev/fuse"),
        pipe_max_size: Path = PIPE_MAX_SIZE,
        proc_status: Path = PROC_STATUS,
        page_size: int | None = None,
    ) -> None:
        self.settings = settings
        self.fuse_bin = fuse_bin
        self.emit = emit
        self.dry_run = dry_run
        self.timeout = settings.check_timeout if timeout is None else timeout
        self.dev_fuse = dev_fuse
        self.pipe_max_size = pipe_max_size
        self.proc_status = proc_status
        self.page_size = page_size or _page_size()
        self.splice: dict[str, Any] = {}
        self.results: list[CheckResult] = []
        self.client: Any = None
        self.info: Any = None

    # -- running -----------------------------------------------------------

    def _run(self, name: str, fn: Callable[[], str]) -> CheckResult:
        start = time.monotonic()
        try:
            detail, status, fix = fn(), OK, ""
        except Failed as exc:
            detail, status, fix = exc.detail, FAILED, exc.fix
        except Warned as exc:
            detail, status, fix = exc.detail, WARNING, exc.fix
        except OSError as exc:
            # A check's own file access failing is still that check failing.
            detail, status, fix = str(exc), FAILED, ""
        result = CheckResult(name, status, time.monotonic() - start, detail, fix)
        self.results.append(result)
        self.emit(result)
        return result

    def _skip(self, name: str, because: str) -> None:
        result = CheckResult(name, SKIPPED, 0.0, f"skipped: {because}")
        self.results.append(result)
        self.emit(result)

    def prepare(self) -> Settings:
        """Run the checks that may change the TOML; return the settings to write.

        They run before the TOML is written, so the file says what they chose.
        """
        self._run("splice pipe size", self.splice_pipes)
        return self.settings

    def run(self) -> list[CheckResult]:
        """Run every check in order; a check whose input failed is skipped."""
        resolved = self._run("master names resolve", self.names_resolve)
        if resolved.status == FAILED:
            self._skip("masters accept TCP", "no master name resolves")
            reached = resolved
        else:
            reached = self._run("masters accept TCP", self.tcp)

        cluster = ("a leader answers", "live workers and capacity", "dataset path")
        if reached.status == FAILED:
            for name in cluster:
                self._skip(name, "no master can be reached")
        else:
            leader = self._run(cluster[0], self.leader)
            if leader.status == FAILED:
                for name in cluster[1:]:
                    self._skip(name, "no leader answered")
            else:
                self._run(cluster[1], self.workers)
                self._run(cluster[2], self.dataset_path)
        self._close_client()

        self._run("FUSE binary", self.fuse_binary)
        self._run("/dev/fuse opens", self.fuse_device)
        parent = self._run("target parent exists", self.target_parent)
        if parent.status == FAILED:
            self._skip("target is free", "the target's parent is missing")
        else:
            self._run("target is free", self.target_free)
        return self.results

    def _close_client(self) -> None:
        if self.client is not None:
            try:
                self.client.close()
            except OSError:
                pass
            self.client = None

    # -- the cluster -------------------------------------------------------

    def _endpoints(self) -> tuple[Endpoint, ...]:
        return self.settings.endpoints.endpoints

    def _shown(self, index: int) -> str:
        return self.settings.shown_endpoints()[index]

    def names_resolve(self) -> str:
        names = [(i, e) for i, e in enumerate(self._endpoints()) if not _is_ip(e.host)]
        if not names:
            return "every endpoint is an IP address"

        def resolve(endpoint: Endpoint) -> None:
            socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)

        answers = all_within([e for _, e in names], resolve, self.timeout, "lookup")
        bad = [(i, why) for (i, _), why in zip(names, answers) if why is not None]
        if not bad:
            return f"{len(names)} of {len(names)} names resolve"
        listed = "; ".join(f"{self._shown(i)}: {why}" for i, why in bad)
        fix = (
            "check the master Service name and namespace in master-endpoints "
            "(kubectl get svc -A | grep curvine) and the pod's DNS"
        )
        if len(bad) == len(names) and len(names) == len(self._endpoints()):
            raise Failed(f"no master name resolves: {listed}", fix)
        raise Warned(f"some master names do not resolve: {listed}", fix)

    def tcp(self) -> str:
        def connect(endpoint: Endpoint) -> None:
            # The name is looked up again here, under the same deadline.
            with socket.create_connection((endpoint.host, endpoint.port), self.timeout):
                pass

        endpoints = self._endpoints()
        answers = all_within(list(endpoints), connect, self.timeout, "connect")
        bad = [(i, why) for i, why in enumerate(answers) if why is not None]
        if not bad:
            return f"{len(endpoints)} of {len(endpoints)} accept connections"
        listed = "; ".join(f"{self._shown(i)}: {why}" for i, why in bad)
        fix = (
            "check that the Curvine masters run and that master-endpoints gives "
            "their RPC port (8995 by default), and that no NetworkPolicy blocks it"
        )
        if len(bad) == len(endpoints):
            raise Failed(f"no master accepts connections: {listed}", fix)
        raise Warned(
            f"{len(endpoints) - len(bad)} of {len(endpoints)} accept connections; "
            f"{listed}",
            fix,
        )

    def leader(self) -> str:
        try:
            import curvine_py
        except ImportError as exc:
            raise Failed(
                f"curvine_py cannot be loaded: {exc}",
                "install curvine-py with its native library (pip install curvine-py)",
            ) from None

        masters = [str(e) for e in self._endpoints()]

        def ask() -> tuple[Any, Any]:
            client = curvine_py.connect(masters=masters, timeout=self.timeout)
            try:
                return client, client.info()
            except BaseException:
                client.close()
                raise

        try:
            self.client, self.info = bounded(ask, self.timeout + 1.0, "leader")
        except (OSError, TimeoutError) as exc:
            shown = ", ".join(self.settings.shown_endpoints())
            why = str(exc)
            fix = (
                "check the masters' logs for a raft election problem, and that "
                "master-endpoints lists the masters' RPC addresses"
            )
            if "bad reply" in why or "bad frame" in why:
                # Something answers there, but not in Curvine's RPC protocol.
                fix = (
                    "an endpoint answers, but not as a Curvine master: give the "
                    "masters' RPC port (8995 by default), not their web port "
                    "(9000) or another service's"
                )
            raise Failed(
                f"no leader answered at {shown}: {self.settings.redactor.scrub(why)}",
                fix,
            ) from None
        leader = str(getattr(self.info, "leader", ""))
        if self.settings.endpoints_secret:
            leader = "one of the given masters"
        return f"leader {leader}"

    def workers(self) -> str:
        info = self.info
        live = list(getattr(info, "live_workers", []) or [])
        lost = list(getattr(info, "lost_workers", []) or [])
        capacity = int(getattr(info, "capacity", 0) or 0)
        available = int(getattr(info, "available", 0) or 0)
        summary = (
            f"{len(live)} live, {len(lost)} lost; {_size(available)} free of "
            f"{_size(capacity)}"
        )
        policy = self.settings.capacity_check
        problem = ""
        fix = ""
        if not live:
            problem = "no live worker"
            fix = (
                "start Curvine workers, or check why they lost contact with the master"
            )
        elif available <= 0:
            problem = "no free capacity"
            fix = "add workers or storage, or free cached data (cv fs rm / free)"
        if not problem or policy == "off":
            return summary
        if policy == "warn":
            raise Warned(f"{problem}: {summary}", fix)
        raise Failed(
            f"{problem}: {summary}",
            fix + "; set the option capacity-check to warn to mount anyway",
        )

    def dataset_path(self) -> str:
        path = self.settings.fs_path
        client = self.client

        def look() -> Any:
            return client.stat(path)

        try:
            status = bounded(look, self.timeout, "stat")
        except FileNotFoundError:
            if not self.settings.create_dataset_path:
                raise Failed(
                    f"{path} does not exist in Curvine",
                    f"create it (cv fs mkdir -p {path}), correct the mount point, or "
                    'set the option create-dataset-path: "true"',
                ) from None
            if self.dry_run:
                return f"{path} does not exist; it would be created"
            try:
                bounded(
                    lambda: client.mkdir(path, parents=True, exist_ok=True),
                    self.timeout,
                    "mkdir",
                )
            except (OSError, TimeoutError) as exc:
                raise Failed(
                    f"{path} does not exist and cannot be created: {_reason(exc)}",
                    "create it by hand, or check the cluster's write access",
                ) from None
            return f"{path} created"
        except NotADirectoryError:
            raise Failed(
                f"{path} runs through a file in Curvine",
                "point the mount at a directory",
            ) from None
        except (OSError, TimeoutError) as exc:
            raise Failed(f"{path}: {_reason(exc)}", "check the master's logs") from None
        if not getattr(status, "is_dir", False):
            raise Failed(
                f"{path} is a file, not a directory",
                "point the mount point at the directory that holds it",
            )
        return f"{path} is a directory"

    # -- this machine ------------------------------------------------------

    def splice_pipes(self) -> str:
        fuse = self.settings.fuse_toml
        asked = fuse.get("enable_splice")
        self.splice = {"enabled": asked is not False, "set": asked is not None}
        if asked is False:
            return "splice is off (fuse.enable_splice = false); no large pipes needed"

        readahead = fuse.get("max_readahead_kb")
        kb = readahead if type(readahead) is int else None
        request = splice_pipe_request(kb, self.page_size)
        need = kernel_pipe_size(request, self.page_size)
        self.splice["request_bytes"] = request
        self.splice["pipe_bytes"] = need
        if need is None:
            found = (
                f"curvine-fuse's splice pipes would ask for {request} bytes "
                "(fuse.max_readahead_kb), more than the kernel gives any pipe (2 GiB)"
            )
            get_back = "lower fuse.max_readahead_kb"
        else:
            try:
                limit = int(self.pipe_max_size.read_text().strip())
            except (OSError, ValueError) as exc:
                raise Warned(
                    f"{self.pipe_max_size} cannot be read ({_reason(exc)}); splice "
                    f"pipes of {need} bytes were not checked against it"
                ) from None
            self.splice["pipe_max_size"] = limit
            if need <= limit:
                return (
                    f"splice pipes need {need} bytes; {self.pipe_max_size} is {limit}"
                )
            if has_capability(CAP_SYS_RESOURCE, self.proc_status):
                return (
                    f"splice pipes need {need} bytes, above {self.pipe_max_size} "
                    f"({limit}), which CAP_SYS_RESOURCE lets this container exceed"
                )
            found = (
                f"curvine-fuse's splice pipes need {need} bytes (it asks for "
                f"{request}; the kernel rounds up to a power of two), above "
                f"{self.pipe_max_size} ({limit}), and this container lacks "
                "CAP_SYS_RESOURCE"
            )
            get_back = (
                f"raise fs.pipe-max-size on the node to at least {need} (sysctl -w "
                f"fs.pipe-max-size={need}; it is not namespaced, so a pod cannot), "
                "or give the FUSE container CAP_SYS_RESOURCE"
            )

        if asked is True:
            raise Failed(
                f"{found}; fuse.enable_splice is true, so curvine-fuse would exit "
                "right after mounting",
                f'{get_back}, or set fuse.enable_splice: "false"',
            )
        self.settings = replace(
            self.settings, fuse_toml={**fuse, "enable_splice": False}
        )
        self.splice["enabled"] = False
        raise Warned(
            f"{found}; wrote enable_splice = false to [fuse] (FUSE data is copied "
            "through read/write instead)",
            f"to get splice back, {get_back}",
        )

    def fuse_binary(self) -> str:
        path = self.fuse_bin
        if not path.exists():
            raise Failed(
                f"{path} does not exist",
                "install curvine-fuse at <curvine home>/lib/curvine-fuse, or pass "
                "--fuse-bin",
            )
        if not path.is_file():
            raise Failed(f"{path} is not a regular file", "pass --fuse-bin FILE")
        if not os.access(path, os.X_OK):
            raise Failed(f"{path} is not executable", f"chmod +x {path}")

        with open(path, "rb") as handle:
            head = handle.read(256)
        if head.startswith(b"#!"):
            first = head[2:].split(b"\n", 1)[0]
            if first.endswith(b"\r"):
                # The kernel would look for an interpreter whose name ends in \r.
                raise Failed(
                    f"{path} is a script with Windows line ends (CRLF)",
                    f"convert it to LF line ends (sed -i 's/\\r$//' {path})",
                )
            interpreter = first.strip().split(b" ")[0].decode("utf-8", "replace")
            if not os.path.exists(interpreter):
                raise Failed(
                    f"{path} is a script for {interpreter}, which does not exist",
                    f"install {interpreter} in the image",
                )
            return f"{path} is a script run by {interpreter}"
        if not head.startswith(b"\x7fELF"):
            raise Failed(
                f"{path} is neither an ELF program nor a script",
                "install the curvine-fuse build for this machine",
            )
        return self._shared_libraries(path)

    def _shared_libraries(self, path: Path) -> str:
        ldd = shutil.which("ldd")
        if ldd is None:
            return f"{path} is executable (no ldd here to check its libraries)"
        try:
            out = subprocess.run(
                [ldd, str(path)],
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise Warned(
                f"ldd {path} gave no answer within {self.timeout:g} s"
            ) from None
        text = out.stdout + out.stderr
        if "not a dynamic executable" in text or "statically linked" in text:
            return f"{path} is a static executable"

        versions = sorted(set(re.findall(r"version `(GLIBC_[0-9.]+)' not found", text)))
        if versions:
            have = _glibc_version()
            raise Failed(
                f"{path} needs {', '.join(versions)}, but this image's glibc is {have}",
                GLIBC_FIX,
            )
        other = sorted(set(re.findall(r"version `([^']+)' not found", text)))
        missing = sorted(set(re.findall(r"^\s*(\S+) => not found", text, re.MULTILINE)))
        if missing or other:
            found = ", ".join([*missing, *other])
            raise Failed(
                f"{path} needs shared libraries this image lacks: {found}",
                "install the packages that provide them in the image "
                "(apt-get install ...), or use the image of fluid/deploy/Dockerfile",
            )
        if out.returncode != 0:
            raise Failed(f"ldd {path} failed: {text.strip()[:200]}")
        count = len(re.findall(r"=>", text))
        return f"{path} is executable; its {count} shared libraries resolve"

    def fuse_device(self) -> str:
        try:
            fd = os.open(self.dev_fuse, os.O_RDWR | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                fix = (
                    "give the FUSE pod the device: run it privileged, or mount "
                    "/dev/fuse into it (Fluid's FUSE pods are privileged by default)"
                )
            else:
                fix = "run the FUSE container privileged (or with CAP_SYS_ADMIN)"
            raise Failed(
                f"{self.dev_fuse} cannot be opened: {_reason(exc)}", fix
            ) from None
        os.close(fd)
        return f"{self.dev_fuse} opens read-write"

    def target_parent(self) -> str:
        parent = Path(self.settings.target_path).parent
        deadline = time.monotonic() + self.settings.parent_wait
        waited = False
        while True:
            # Bounded: a parent on a FUSE mount whose server hangs never answers.
            try:
                info = bounded(lambda: os.stat(parent), self.timeout, "stat")
            except FileNotFoundError:
                info = None
            except TimeoutError:
                raise Failed(
                    f"{parent} does not answer within {self.timeout:g} s",
                    "it lies on a mount whose server hangs; check the node's mounts",
                ) from None
            except OSError as exc:
                raise Failed(
                    f"{parent} cannot be looked at: {_reason(exc)}",
                    "a dead mount on the way? unmount it on the node (umount -l)",
                ) from None
            if info is not None:
                if not stat.S_ISDIR(info.st_mode):
                    raise Failed(
                        f"{parent} exists and is not a directory",
                        "correct targetPath, or remove what is in its way",
                    )
                break
            if time.monotonic() >= deadline:
                raise Failed(
                    f"{parent} did not appear within {self.settings.parent_wait:g} s",
                    "check that the FUSE pod mounts Fluid's runtime-mnt host path; "
                    "raise the option parent-wait if the node is slow",
                )
            waited = True
            time.sleep(0.2)
        return f"{parent} exists" + (" (waited for it)" if waited else "")

    def target_free(self) -> str:
        target = Path(self.settings.target_path)
        paths = [target]
        if self.settings.mnt_number > 1:
            paths += [target / f"mnt-{i}" for i in range(self.settings.mnt_number)]
        notes: list[str] = []
        for path in paths:
            # Dead mounts may be stacked (a server mounted over another, both
            # gone): each unmount uncovers the next, so look again each time.
            removed = 0
            while True:
                mounts = mount_table()
                state = mount_state(path, mounts, self.timeout)
                if state != "stale" or self.dry_run or removed >= MAX_STACKED:
                    break
                try:
                    unmount(path)
                except OSError as exc:
                    raise Failed(
                        f"{path} holds a dead FUSE mount that cannot be unmounted: "
                        f"{_reason(exc)}",
                        f"unmount it on the node (umount -l {path})",
                    ) from None
                removed += 1
            if removed == 1:
                notes.append(f"{path} held a dead FUSE mount; unmounted it")
            elif removed:
                notes.append(f"{path} held {removed} dead FUSE mounts; unmounted them")
            if state == "stale":
                if self.dry_run:
                    notes.append(
                        f"{path} holds a dead FUSE mount; it would be unmounted"
                    )
                    continue
                raise Failed(
                    f"{path} still holds a dead FUSE mount after {removed} unmounts",
                    f"unmount it on the node (umount -l {path}) until none is left",
                )
            elif state.startswith("error:"):
                raise Failed(
                    f"{path} is a mount that cannot be looked at "
                    f"({state.removeprefix('error:').strip()}); it was left alone",
                    "run the FUSE container as root, or unmount the target on the "
                    f"node (umount -l {path}) if it is left over",
                )
            elif state == "hung":
                raise Failed(
                    f"{path} is a mount that does not answer within {self.timeout:g} s",
                    f"find the FUSE client serving it, or unmount it (umount -l {path})",
                )
            elif state == "live":
                raise Failed(
                    f"{path} is already mounted ({_mount_type(path, mounts)}) "
                    "and answers; it was left alone",
                    "another FUSE client serves this target; stop it, or unmount "
                    f"the target (umount {path}) if it is left over",
                )

        if self.dry_run and any("would be unmounted" in n for n in notes):
            return "; ".join(notes)
        if target.exists():
            if not target.is_dir():
                raise Failed(
                    f"{target} exists and is not a directory", f"remove {target}"
                )
            if any(os.scandir(target)) and self.settings.mnt_number <= 1:
                raise Failed(
                    f"{target} is not empty",
                    "curvine-fuse mounts only on an empty directory; empty it",
                )
        elif self.dry_run:
            notes.append(f"{target} does not exist; it would be created")
        else:
            try:
                target.mkdir(mode=0o755)
            except OSError as exc:
                raise Failed(f"{target} cannot be created: {_reason(exc)}") from None
            notes.append(f"{target} created")
        return "; ".join(notes) if notes else f"{target} is free"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def _page_size() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 4096


def _glibc_version() -> str:
    try:
        return "GLIBC_" + os.confstr("CS_GNU_LIBC_VERSION").split()[-1]  # type: ignore[union-attr]
    except (ValueError, OSError, AttributeError, IndexError):
        return "unknown"


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mount_table(path: Path = Path("/proc/self/mountinfo")) -> dict[str, str]:
    """Mount points of this mount namespace and their filesystem types."""
    table: dict[str, str] = {}
    try:
        text = path.read_text()
    except OSError:
        return table
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5:
            continue
        table[_unescape(fields[4])] = right.split()[0] if right else ""
    return table


def mount_state(path: Path, mounts: dict[str, str], timeout: float = 5.0) -> str:
    """``none``, ``live``, ``stale`` (its FUSE server is gone), ``hung``, or
    ``error: <why>`` (it answers with an error, Permission denied say).

    statfs is asked rather than stat: the kernel may answer stat from its
    attribute cache for a while after the server died, but statfs always
    goes to the server.
    """
    key = os.path.join(os.path.realpath(path.parent), path.name)
    if key not in mounts and str(path) not in mounts:
        return "none"
    try:
        bounded(lambda: os.statvfs(path), timeout, "statfs")
    except TimeoutError:
        return "hung"
    except OSError as exc:
        if exc.errno in (errno.ENOTCONN, errno.ECONNABORTED):
            return "stale"
        return f"error: {_reason(exc)}"
    return "live"


def _mount_type(path: Path, mounts: dict[str, str]) -> str:
    key = os.path.join(os.path.realpath(path.parent), path.name)
    return mounts.get(key) or mounts.get(str(path)) or "unknown type"


def unmount(path: Path) -> None:
    """Detach a mount; with no right to, fall back to fusermount."""
    libc_name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(libc_name, use_errno=True)
    mnt_detach = 2
    if libc.umount2(os.fsencode(path), mnt_detach) == 0:
        return
    err = ctypes.get_errno()
    for tool in ("fusermount3", "fusermount"):
        found = shutil.which(tool)
        if (
            found
            and subprocess.run(
                [found, "-u", "-z", str(path)], capture_output=True, check=False
            ).returncode
            == 0
        ):
            return
    raise OSError(err, os.strerror(err), str(path))
