"""A mini Curvine cluster for tests and demos: ``MiniCluster``.

It runs the ``curvine-mini`` binary (masters with one leader, workers keeping
blocks under a data directory) on 127.0.0.1 and drives it through its stdin.

>>> from curvine_py.testing import MiniCluster
>>> with MiniCluster(masters=3, leader=1) as cluster, cluster.client() as fs:
...     fs.mkdir("/data")

``python -m curvine_py.testing --masters 3`` runs one in the foreground and
prints its endpoints.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from curvine_py.client import Client

__all__ = ["MiniCluster", "MiniClusterError", "find_binary"]

log = logging.getLogger("curvine_py")

BINARY_NAME = "curvine-mini"
ENV_BINARY = "CURVINE_MINI_BIN"


class MiniClusterError(RuntimeError):
    """The mini cluster did not start, or refused a command."""


def _candidates() -> list[Path]:
    package = Path(__file__).resolve().parent
    checkout = package.parent / "native" / "target"
    built = [checkout / "release" / BINARY_NAME, checkout / "debug" / BINARY_NAME]

    # Of two builds in the checkout, the fresher one is what was just made.
    built.sort(key=lambda p: p.stat().st_mtime if p.exists() else 0.0, reverse=True)
    return [package / "_bin" / BINARY_NAME, *built]


def find_binary(binary: str | os.PathLike[str] | None = None) -> Path:
    """Find ``curvine-mini``: ``binary``, $CURVINE_MINI_BIN, the package, the
    checkout's native/target, then PATH."""
    looked: list[str] = []

    explicit = [(binary, "binary=")] if binary is not None else []
    if os.environ.get(ENV_BINARY):
        explicit.append((os.environ[ENV_BINARY], f"${ENV_BINARY}"))
    for value, source in explicit:
        path = Path(value)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        looked.append(f"{path} ({source})")
        if source == "binary=":
            raise FileNotFoundError(
                f"curvine-mini not found or not executable at {path} (binary=)"
            )

    for path in _candidates():
        if path.is_file() and os.access(path, os.X_OK):
            return path
        looked.append(str(path))

    on_path = shutil.which(BINARY_NAME)
    if on_path:
        return Path(on_path)
    looked.append(f"{BINARY_NAME} on PATH")

    raise FileNotFoundError(
        "curvine-mini not found; looked at: "
        + "; ".join(looked)
        + ". Build it with `cd native && cargo build --release -p curvine-mini`"
        f" or set {ENV_BINARY}"
    )


class MiniCluster:
    """A running ``curvine-mini``; use it as a context manager.

    Parameters
    ----------
    masters, leader, workers
        How many masters (``leader`` is the index of the one that leads) and
        workers to run.
    data_dir
        Where the workers keep their blocks; a temporary directory, removed
        at exit, by default.
    worker_hostname
        The hostname the workers report. A client whose own ``hostname``
        (``localhost`` by default) differs reads and writes over TCP instead
        of the short-circuit path.
    binary
        The ``curvine-mini`` to run (see :func:`find_binary`).
    start_timeout
        Seconds to wait for the cluster to report that it listens.
    min_block_size
        The smallest block size files may ask for; curvine-mini allows small
        blocks for tests by default, 1048576 gives a real master's bound.
    extra_args
        More ``curvine-mini`` flags.
    """

    def __init__(
        self,
        masters: int = 1,
        leader: int = 0,
        workers: int = 1,
        data_dir: str | os.PathLike[str] | None = None,
        worker_hostname: str | None = None,
        binary: str | os.PathLike[str] | None = None,
        start_timeout: float = 30.0,
        min_block_size: int | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        if masters < 1:
            raise ValueError(f"masters must be at least 1, got {masters}")
        if not 0 <= leader < masters:
            raise ValueError(f"leader must be from 0 to {masters - 1}, got {leader}")
        if workers < 0:
            raise ValueError(f"workers must not be negative, got {workers}")
        self.binary = find_binary(binary)
        self.start_timeout = start_timeout
        self._args = [
            str(self.binary),
            "--masters",
            str(masters),
            "--leader",
            str(leader),
            "--workers",
            str(workers),
        ]
        if data_dir is not None:
            self._args += ["--data-dir", os.fspath(data_dir)]
        if worker_hostname is not None:
            self._args += ["--worker-hostname", worker_hostname]
        if min_block_size is not None:
            self._args += ["--min-block-size", str(min_block_size)]
        self._args += extra_args or []

        self.masters: list[str] = []
        self.leader = ""
        self.workers: list[str] = []
        self.data_dir = ""
        self._process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader: threading.Thread | None = None
        self._stderr: IO[str] | None = None
        self._command_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<MiniCluster masters={self.master_endpoints!r} leader={self.leader!r}>"

    @property
    def master_endpoints(self) -> str:
        """The masters as ``"127.0.0.1:P0,127.0.0.1:P1"``, ready for connect()."""
        return ",".join(self.masters)

    @property
    def pid(self) -> int | None:
        """The process id of ``curvine-mini`` while it runs."""
        return self._process.pid if self._process else None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Self:
        """Start the process and wait until it reports its endpoints."""
        if self._process is not None:
            raise MiniClusterError("this MiniCluster is already started")

        # Kept open for the life of the process, closed in stop().
        self._stderr = tempfile.TemporaryFile("w+", prefix="curvine-mini-")  # noqa: SIM115
        self._process = subprocess.Popen(
            self._args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
            # A terminal's Ctrl-C is for the parent to handle: the cluster
            # goes when told to quit, or when its stdin closes.
            start_new_session=True,
        )
        stdout = self._process.stdout
        assert stdout is not None
        self._reader = threading.Thread(
            target=self._read_lines,
            args=(stdout,),
            name="curvine-mini-stdout",
            daemon=True,
        )
        self._reader.start()

        try:
            self._await_ready()
        except BaseException:
            self.stop()
            raise
        log.debug("mini cluster up: masters %s", self.master_endpoints)
        return self

    def _read_lines(self, stdout: IO[str]) -> None:
        for line in stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _next_line(self, timeout: float, waiting_for: str) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise MiniClusterError(
                f"curvine-mini gave no {waiting_for} within {timeout:g} s"
                f"{self._stderr_tail()}"
            ) from None
        if line is None:
            code = self._process.wait() if self._process else None
            raise MiniClusterError(
                f"curvine-mini exited (status {code}) before its {waiting_for}"
                f"{self._stderr_tail()}"
            )
        return line

    def _await_ready(self) -> None:
        while True:
            line = self._next_line(self.start_timeout, "endpoint line")
            try:
                ready: Any = json.loads(line)
            except ValueError:
                log.debug("curvine-mini: %s", line)
                continue
            if isinstance(ready, dict) and "masters" in ready:
                break
        self.masters = [str(m) for m in ready["masters"]]
        self.leader = str(ready.get("leader", ""))
        self.workers = [str(w) for w in ready.get("workers", [])]
        self.data_dir = str(ready.get("data_dir", ""))

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0)
            tail = self._stderr.read()[-2000:].strip()
        except (OSError, ValueError):
            return ""
        return f"; its stderr ends with:\n{tail}" if tail else ""

    def command(self, line: str, timeout: float = 15.0) -> None:
        """Send one control line to curvine-mini; raise if it answers an error."""
        with self._command_lock:
            process = self._process
            if process is None or process.stdin is None or process.poll() is not None:
                raise MiniClusterError(
                    f"curvine-mini is not running (command {line!r})"
                )
            try:
                process.stdin.write(line + "\n")
                process.stdin.flush()
            except BrokenPipeError:
                raise MiniClusterError(
                    f"curvine-mini stopped reading commands ({line!r})"
                    f"{self._stderr_tail()}"
                ) from None
            while True:
                answer = self._next_line(timeout, f"answer to {line!r}")
                if answer == "ok":
                    return
                if answer.startswith("error"):
                    raise MiniClusterError(f"curvine-mini refused {line!r}: {answer}")
                log.debug("curvine-mini: %s", answer)

    def _index(self, index: int, items: list[str], what: str) -> None:
        if not 0 <= index < len(items):
            raise IndexError(
                f"{what} index must be from 0 to {len(items) - 1}, got {index}"
            )

    def set_leader(self, index: int) -> None:
        """Make master ``index`` the leader; the others answer "not leader"."""
        self._index(index, self.masters, "master")
        self.command(f"leader {index}")
        self.leader = self.masters[index]

    def stop_master(self, index: int) -> None:
        """Close master ``index``: its port then refuses connections."""
        self._index(index, self.masters, "master")
        self.command(f"stop-master {index}")

    def start_master(self, index: int) -> None:
        """Listen again on master ``index``'s port."""
        self._index(index, self.masters, "master")
        self.command(f"start-master {index}")

    def stop_worker(self, index: int) -> None:
        """Close worker ``index``: its port then refuses connections."""
        self._index(index, self.workers, "worker")
        self.command(f"stop-worker {index}")

    def start_worker(self, index: int) -> None:
        """Listen again on worker ``index``'s port."""
        self._index(index, self.workers, "worker")
        self.command(f"start-worker {index}")

    def client(self, **kwargs: Any) -> Client:
        """``curvine_py.connect`` to this cluster; keywords go to connect()."""
        from curvine_py.client import connect

        return connect(masters=self.master_endpoints, **kwargs)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the cluster to quit, wait for it, and kill it if it lingers."""
        process, self._process = self._process, None
        if process is None:
            return

        try:
            if process.poll() is None and process.stdin is not None:
                try:
                    process.stdin.write("quit\n")
                    process.stdin.flush()
                except (BrokenPipeError, ValueError, OSError):
                    pass
                try:
                    process.stdin.close()
                except (BrokenPipeError, OSError):
                    pass
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log.warning(
                    "curvine-mini did not quit within %g s; terminating", timeout
                )
                process.terminate()
                try:
                    process.wait(timeout=2.0)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        finally:
            if process.stdout is not None:
                process.stdout.close()
            if self._reader is not None:
                self._reader.join(timeout=2.0)
                self._reader = None
            if self._stderr is not None:
                self._stderr.close()
                self._stderr = None


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m curvine_py.testing",
        description="Run a mini Curvine cluster in the foreground until Ctrl-C.",
    )
    parser.add_argument("--masters", type=int, default=1, help="number of masters")
    parser.add_argument("--leader", type=int, default=0, help="index of the leader")
    parser.add_argument("--workers", type=int, default=1, help="number of workers")
    parser.add_argument("--data-dir", help="block directory (default: a temporary one)")
    parser.add_argument("--worker-hostname", help="hostname the workers report")
    parser.add_argument("--binary", help="the curvine-mini binary to run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run a MiniCluster until SIGINT or SIGTERM; print its endpoints first."""
    args = _parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        cluster = MiniCluster(
            masters=args.masters,
            leader=args.leader,
            workers=args.workers,
            data_dir=args.data_dir,
            worker_hostname=args.worker_hostname,
            binary=args.binary,
        )
        cluster.start()
    except (FileNotFoundError, ValueError, MiniClusterError) as exc:
        print(f"curvine_py.testing: {exc}", file=sys.stderr)
        return 2

    try:
        ready = {
            "masters": cluster.masters,
            "leader": cluster.leader,
            "workers": cluster.workers,
            "data_dir": cluster.data_dir,
            "master_endpoints": cluster.master_endpoints,
        }
        print(json.dumps(ready), flush=True)
        print(
            f"mini cluster running: masters {cluster.master_endpoints} "
            f"(leader {cluster.leader}), workers {','.join(cluster.workers)}; "
            "Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(0.5):
            process = cluster._process
            if process is None or process.poll() is not None:
                print("curvine_py.testing: curvine-mini exited", file=sys.stderr)
                return 1
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
