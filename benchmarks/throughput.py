"""Sequential read and write throughput through curvine_py, against the mini cluster.

Measures, in one run on this machine:

- raw loopback TCP (one connection, 1 MiB sends into a reader that discards),
  the reference: what one TCP stream through this host's loopback carries;
- curvine_py writing and reading one file sequentially through ``open()``,
  once with the worker on the client's host (short-circuit reads from the
  block file) and once with the worker reporting another host name, which
  forces every byte over TCP (remote path);
- the same file read with plain ``open()`` through a curvine-py-fuse mount of
  each cluster, to show what a trip through the kernel and FUSE costs.

With ``--masters host:port,...`` the same runs go to that Curvine cluster
instead, once as the client finds it and once with short-circuit reads off.

Each figure is the best of ``--repeat`` runs, in MiB/s, with its ratio to the
loopback figure. Run it as ``make bench`` or ``python benchmarks/throughput.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import curvine_py
from curvine_py.client import Client
from curvine_py.testing import MiniCluster

MIB = 1024 * 1024
CHUNK = 4 * MIB
TCP_CHUNK = 1 * MIB


@dataclass
class Figure:
    """One measured throughput."""

    path: str
    op: str
    mib_per_s: float
    ratio_to_loopback: float | None = None


def best_of(repeat: int, run: Callable[[], float]) -> float:
    """The fastest of ``repeat`` runs of ``run``, which returns seconds taken."""
    return min(run() for _ in range(repeat))


def loopback_seconds(size: int) -> float:
    """Seconds to push ``size`` bytes through one loopback TCP connection."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        received = 0

        def drain() -> None:
            nonlocal received
            conn, _ = server.accept()
            with conn:
                buf = bytearray(TCP_CHUNK)
                view = memoryview(buf)
                while n := conn.recv_into(view):
                    received += n

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        payload = os.urandom(TCP_CHUNK)
        with socket.create_connection(("127.0.0.1", port)) as sock:
            start = time.perf_counter()
            sent = 0
            while sent < size:
                sock.sendall(payload)
                sent += len(payload)
            sock.shutdown(socket.SHUT_WR)
            reader.join()
            elapsed = time.perf_counter() - start
    if received != sent:
        raise RuntimeError(f"loopback reader got {received} of {sent} bytes")
    return elapsed


def fuse_unusable() -> str | None:
    """Why curvine-py-fuse cannot mount here, or None when it can."""
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR))
    except OSError as e:
        return f"/dev/fuse: {e.strerror}"
    if shutil.which("fusermount3") is None:
        return "fusermount3 is not installed"
    return None


def fuse_read_seconds(target: Target, path: str, size: int, repeat: int) -> float:
    """Best seconds to read ``path`` through a curvine-py-fuse mount."""
    with tempfile.TemporaryDirectory(prefix="curvine-bench-") as tmp:
        mnt = os.path.join(tmp, "mnt")
        log_path = os.path.join(tmp, "fuse.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "curvine_py.fuse",
                    "--master-addrs",
                    target.master_endpoints,
                    "--fs-path",
                    posixpath.dirname(path),
                    "--mnt-path",
                    mnt,
                    "--conf",
                    os.path.join(tmp, "absent.toml"),
                    *target.fuse_args,
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        try:
            deadline = time.monotonic() + 30
            while not os.path.ismount(mnt):
                if proc.poll() is not None or time.monotonic() > deadline:
                    with open(log_path, errors="replace") as f:
                        tail = f.read()[-2000:]
                    raise RuntimeError(f"curvine-py-fuse did not mount:\n{tail}")
                time.sleep(0.05)

            local = os.path.join(mnt, posixpath.basename(path))
            buf = bytearray(CHUNK)

            def read() -> float:
                start = time.perf_counter()
                got = 0
                with open(local, "rb", buffering=0) as f:
                    while n := f.readinto(buf):
                        got += n
                elapsed = time.perf_counter() - start
                if got != size:
                    raise RuntimeError(f"read {got} of {size} bytes through FUSE")
                return elapsed

            return best_of(repeat, read)
        finally:
            subprocess.run(["fusermount3", "-u", mnt], check=False)
            proc.wait(timeout=30)


def curvine_figures(
    target: Target, size: int, repeat: int, through_fuse: bool
) -> list[tuple[str, float]]:
    """Best seconds per operation on one file of ``size`` bytes."""
    chunk = os.urandom(CHUNK)
    scratch = f"/curvine-py-bench-{uuid.uuid4().hex[:12]}"
    path = f"{scratch}/data.bin"
    label = target.label
    buf = bytearray(CHUNK)
    view = memoryview(buf)

    with target.client() as client:
        client.mkdir(scratch)

        def write() -> float:
            start = time.perf_counter()
            with client.open(path, "wb") as f:
                written = 0
                while written < size:
                    written += f.write(chunk[: min(CHUNK, size - written)])
            return time.perf_counter() - start

        def read() -> float:
            start = time.perf_counter()
            got = 0
            with client.open(path, "rb") as f:
                while n := f.readinto(view):
                    got += n
            elapsed = time.perf_counter() - start
            if got != size:
                raise RuntimeError(f"{label}: read {got} of {size} bytes back")
            return elapsed

        seconds = [("write", best_of(repeat, write)), ("read", best_of(repeat, read))]
        try:
            if through_fuse:
                seconds.append(
                    ("FUSE read", fuse_read_seconds(target, path, size, repeat))
                )
        finally:
            client.remove(scratch, recursive=True)
    return seconds


@dataclass
class Target:
    """A cluster to measure, and how to make the client take one data path."""

    label: str
    master_endpoints: str
    options: dict[str, bool] = field(default_factory=dict)
    fuse_args: tuple[str, ...] = ()

    def client(self) -> Client:
        return curvine_py.connect(masters=self.master_endpoints, options=self.options)


@contextmanager
def mini_targets() -> Iterator[list[Target]]:
    """Two mini clusters: a worker on this host, and one reporting another host."""
    with MiniCluster() as local, MiniCluster(worker_hostname="remote-host") as away:
        yield [
            Target("short-circuit", local.master_endpoints),
            Target("remote", away.master_endpoints),
        ]


@contextmanager
def cluster_targets(masters: str) -> Iterator[list[Target]]:
    """An existing cluster, read as it comes and with short-circuit reads off."""
    yield [
        Target("cluster", masters),
        Target(
            "cluster remote",
            masters,
            {"short_circuit": False},
            ("--client.short-circuit", "false"),
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256, help="file size in MiB")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure")
    parser.add_argument("--json", action="store_true", help="print JSON instead")
    parser.add_argument(
        "--masters",
        help="measure this Curvine cluster (host:port,...) instead of mini clusters",
    )
    parser.add_argument(
        "--no-fuse",
        dest="fuse",
        action="store_false",
        help="skip the reads through a curvine-py-fuse mount",
    )
    args = parser.parse_args(argv)
    if args.size_mib < 1 or args.repeat < 1:
        parser.error("--size-mib and --repeat must be at least 1")
    size: int = args.size_mib * MIB

    def mib_s(seconds: float) -> float:
        return size / MIB / seconds

    # The reference is taken before and after the Curvine runs and the better
    # one kept, so that a busy moment on the machine does not flatter curvine_py.
    loopback_s = best_of(args.repeat, lambda: loopback_seconds(size))
    no_fuse = fuse_unusable() if args.fuse else "not asked for (--no-fuse)"
    measured: list[tuple[str, str, float]] = []
    targets = cluster_targets(args.masters) if args.masters else mini_targets()
    with targets as chosen:
        for target in chosen:
            for op, seconds in curvine_figures(
                target, size, args.repeat, through_fuse=no_fuse is None
            ):
                measured.append((target.label, op, seconds))
    loopback_s = min(loopback_s, best_of(args.repeat, lambda: loopback_seconds(size)))

    loopback = mib_s(loopback_s)
    figures = [Figure("loopback TCP", "send", loopback, 1.0)]
    for label, op, seconds in measured:
        rate = mib_s(seconds)
        figures.append(Figure(label, op, rate, rate / loopback))

    if args.json:
        print(json.dumps([asdict(f) for f in figures], indent=2))
        return 0

    print(
        f"sequential throughput, {args.size_mib} MiB, best of {args.repeat}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"{'path':<15} {'op':<10} {'MiB/s':>9} {'x loopback':>11}")
    for f in figures:
        ratio = "" if f.ratio_to_loopback is None else f"{f.ratio_to_loopback:.2f}"
        print(f"{f.path:<15} {f.op:<10} {f.mib_per_s:>9.0f} {ratio:>11}")
    if no_fuse is not None:
        print(f"(no reads through curvine-py-fuse: {no_fuse})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
