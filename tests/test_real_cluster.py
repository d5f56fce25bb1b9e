"""curvine_py against a real Curvine cluster (masters and workers of Curvine).

Set ``CURVINE_TEST_MASTERS`` to ``host:port[,host:port]``: the masters'
RPC endpoints. Everything happens under one scratch directory that is
removed at the end. The cluster must have at least one live worker; block
sizes here are 1 MiB, the smallest a real master accepts.

    CURVINE_TEST_MASTERS=127.0.0.1:8995 pytest tests/test_real_cluster.py

``CURVINE_TEST_WORKER_DATA_DIR`` (a worker's data directory on this host)
also runs, as root, a client in a mount namespace where that directory is
hidden: the worker hands out block file paths the client cannot open, as in
a pod without the worker's host path.
"""

from __future__ import annotations

import errno
import hashlib
import io
import logging
import os
import random
import shutil
import socket
import stat
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import curvine_py
from curvine_py.client import Client, parse_masters
from curvine_py.io import RawFile

ENV = "CURVINE_TEST_MASTERS"
MASTERS = os.environ.get(ENV, "").strip()
DATA_DIR_ENV = "CURVINE_TEST_WORKER_DATA_DIR"

pytestmark = [
    pytest.mark.real_cluster,
    pytest.mark.skipif(
        not MASTERS,
        reason=f"{ENV} is not set (host:port[,host:port] of a real Curvine cluster)",
    ),
]

MIB = 1024 * 1024
BLOCK = MIB
CHUNK = 64 * 1024
OPTIONS: dict[str, str | int | bool] = {
    "block_size": BLOCK,
    "write_chunk_size": "64KB",
    "read_chunk_size": "64KB",
}
SIZES = [
    0,
    1,
    CHUNK - 1,
    CHUNK + 1,
    BLOCK - 1,
    BLOCK,
    BLOCK + 1,
    2 * BLOCK,
    3 * BLOCK + CHUNK // 3 + 7,
]


def sha(data: bytes | bytearray | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def payload(size: int, seed: int = 0) -> bytes:
    return random.Random(seed * 7919 + size).randbytes(size)


@pytest.fixture(scope="module")
def cv() -> Iterator[Client]:
    """A client of the real cluster, with Curvine's default data path."""
    with curvine_py.connect(MASTERS, timeout=30.0, options=OPTIONS) as c:
        yield c


@pytest.fixture(scope="module")
def scratch(cv: Client) -> Iterator[str]:
    """The directory every test of this module works in; gone afterwards."""
    path = f"/curvine-py-test-{uuid.uuid4().hex[:12]}"
    cv.mkdir(path)
    yield path

    cv.remove(path, recursive=True)
    assert not cv.exists(path)


@pytest.fixture(scope="module", params=["short-circuit", "remote"])
def fs(request: pytest.FixtureRequest) -> Iterator[Client]:
    """A client that may read and write block files of a worker on the same
    host directly, and one that always goes through the worker over TCP."""
    options = dict(OPTIONS)
    options["short_circuit"] = request.param == "short-circuit"
    with curvine_py.connect(MASTERS, timeout=30.0, options=options) as c:
        yield c


@pytest.fixture
def d(cv: Client, scratch: str) -> str:
    """A fresh directory under the scratch directory for one test."""
    path = f"{scratch}/{uuid.uuid4().hex[:10]}"
    cv.mkdir(path)
    return path


# -- the cluster and the namespace -----------------------------------------


def test_info_names_a_leader_and_live_workers(cv: Client) -> None:
    info = cv.info()

    assert info.leader in parse_masters(MASTERS)
    assert info.active_master
    assert info.capacity > 0
    assert 0 <= info.available <= info.capacity
    assert info.live_workers, "the cluster reports no live worker"
    for worker in info.live_workers:
        assert worker.hostname
        assert worker.ip_addr
        assert 0 < worker.rpc_port < 65536
        assert worker.capacity > 0
        assert 0 <= worker.available <= worker.capacity
        assert abs(worker.last_update - time.time()) < 3600


def test_a_dead_endpoint_beside_the_real_ones_is_passed_over() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"

    with curvine_py.connect([dead, *parse_masters(MASTERS)], timeout=30.0) as c:
        assert c.info().leader in parse_masters(MASTERS)
        assert c.stat("/").is_dir


def test_every_order_of_the_masters_finds_the_same_leader() -> None:
    endpoints = parse_masters(MASTERS)
    leaders = set()

    for shift in range(len(endpoints)):
        order = endpoints[shift:] + endpoints[:shift]
        with curvine_py.connect(order, timeout=30.0) as c:
            leaders.add(c.info().leader)

    assert len(leaders) == 1


def test_connect_through_a_cluster_file(tmp_path: Path, scratch: str) -> None:
    entries = []
    for endpoint in parse_masters(MASTERS):
        host, _, port = endpoint.rpartition(":")
        entries.append(
            f'[[client.master_addrs]]\nhostname = "{host.strip("[]")}"\nport = {port}\n'
        )
    conf = tmp_path / "curvine-cluster.toml"
    conf.write_text('cluster_id = "real"\n[client]\n' + "\n".join(entries))

    with curvine_py.connect(conf=conf) as c:
        assert c.info().cluster_id == "real"
        assert c.stat(scratch).is_dir


def test_root_is_a_directory(cv: Client) -> None:
    st = cv.stat("/")

    assert st.path == "/"
    assert st.is_dir and stat.S_ISDIR(st.mode)
    assert cv.exists("/")


def test_mkdir_stat_exists_listdir(cv: Client, d: str) -> None:
    before = time.time()
    cv.mkdir(f"{d}/made", mode=0o750)
    cv.mkdir(f"{d}/x/y/z", parents=True)
    cv.mkdir(f"{d}/x/y", parents=True, exist_ok=True)
    names = ["a", "b b", "c-3", "ünï"]
    for name in names:
        cv.mkdir(f"{d}/{name}")

    st = cv.stat(f"{d}/made/")
    assert st.path == f"{d}/made"
    assert st.name == "made"
    assert st.is_dir and not st.is_file
    assert st.permissions == 0o750
    assert st.id > 0
    assert abs(st.mtime - before) < 3600
    assert cv.stat(d).children == len(names) + 2

    assert cv.exists(f"{d}/x/y/z")
    assert not cv.exists(f"{d}/nothing")
    assert not cv.exists(f"{d}/nothing/below")
    assert cv.listdir(d) == sorted(["made", "x", *names])
    assert cv.listdir(f"{d}/made") == []
    assert all(entry.is_dir for entry in cv.ls(d))


def test_namespace_refusals(cv: Client, d: str) -> None:
    with pytest.raises(FileNotFoundError) as missing:
        cv.stat(f"{d}/missing")
    assert missing.value.errno == errno.ENOENT
    assert missing.value.filename == f"{d}/missing"

    cv.mkdir(f"{d}/there")
    with pytest.raises(FileExistsError):
        cv.mkdir(f"{d}/there")
    with pytest.raises(FileNotFoundError) as no_parent:
        cv.mkdir(f"{d}/no/parent")
    assert no_parent.value.filename == f"{d}/no/parent"
    with pytest.raises(FileNotFoundError):
        cv.listdir(f"{d}/missing")
    with pytest.raises(ValueError, match="absolute"):
        cv.stat("relative/path")


def test_iterdir_pages(cv: Client, d: str) -> None:
    names = [f"e{i:03d}" for i in range(45)]
    for name in names:
        cv.mkdir(f"{d}/{name}")

    assert [e.name for e in cv.iterdir(d, page_size=7)] == names
    assert [e.name for e in cv.iterdir(d, page_size=45)] == names
    assert [e.name for e in cv.iterdir(d, page_size=1000)] == names


def test_iterdir_pages_through_a_large_directory(cv: Client, d: str) -> None:
    names = [f"e{i:05d}" for i in range(2500)]
    for name in names:
        cv.write_bytes(f"{d}/{name}", b"")

    assert [e.name for e in cv.iterdir(d, page_size=300)] == names
    assert cv.listdir(d) == names
    assert cv.stat(d).children == len(names)


def test_mounts_can_be_listed(cv: Client) -> None:
    for mount in cv.mounts():
        assert mount.cv_path.startswith("/")
        assert "://" in mount.ufs_path


# -- file data ---------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_write_bytes_read_bytes_round_trip(fs: Client, d: str, size: int) -> None:
    data = payload(size)

    assert fs.write_bytes(f"{d}/f", data) == size
    back = fs.read_bytes(f"{d}/f")

    assert len(back) == size
    assert sha(back) == sha(data)
    st = fs.stat(f"{d}/f")
    assert st.size == size
    assert st.is_file and stat.S_ISREG(st.mode)
    assert st.is_complete
    assert st.block_size == BLOCK


@pytest.mark.parametrize("size", [BLOCK + 1, 3 * BLOCK + CHUNK // 3 + 7])
def test_write_in_pieces_read_in_pieces(fs: Client, d: str, size: int) -> None:
    data = payload(size, seed=1)
    rng = random.Random(size)

    with fs.open(f"{d}/f", "wb") as out:
        assert isinstance(out, io.BufferedWriter)
        at = 0
        while at < size:
            step = rng.choice([1, 7, CHUNK - 1, CHUNK + 3, 3 * CHUNK, BLOCK + 11])
            out.write(data[at : at + step])
            at += step
        assert out.tell() == size

    pieces = []
    with fs.open(f"{d}/f", "rb") as src:
        while piece := src.read(rng.choice([1, 1000, CHUNK, BLOCK + 5])):
            pieces.append(piece)
    assert sha(b"".join(pieces)) == sha(data)

    target = bytearray(size + 10)
    with fs.open(f"{d}/f", "rb", buffering=0) as raw:
        assert isinstance(raw, RawFile)
        view = memoryview(target)
        got = 0
        while n := raw.readinto(view[got:]):
            got += n
    assert got == size
    assert sha(target[:size]) == sha(data)


def test_pread_across_block_boundaries(fs: Client, d: str) -> None:
    size = 3 * BLOCK + 100
    data = payload(size, seed=3)
    fs.write_bytes(f"{d}/f", data)

    for offset, length in [
        (0, 10),
        (BLOCK - 5, 10),
        (BLOCK, 1),
        (2 * BLOCK - 1, BLOCK + 2),
        (0, size),
        (size - 1, 10),
        (size, 1),
        (size + BLOCK, 1),
        (CHUNK - 1, 2),
    ]:
        want = data[offset : offset + length]
        assert fs.pread(f"{d}/f", offset, length) == want, (offset, length)

    rng = random.Random(5)
    with fs.open(f"{d}/f", "rb", buffering=0) as raw:
        for _ in range(20):
            offset = rng.randrange(0, size + 2)
            length = rng.choice([1, CHUNK + 1, BLOCK - 1, BLOCK + 1])
            assert raw.pread(length, offset) == data[offset : offset + length]
    with fs.open(f"{d}/f", "rb") as src:
        assert src.seek(-3, os.SEEK_END) == size - 3
        assert src.read() == data[-3:]


@pytest.mark.parametrize("chunk", ["16KB", "1MB", "4MB"])
def test_chunk_sizes(d: str, chunk: str) -> None:
    data = payload(3 * BLOCK + 7, 14)
    options = dict(OPTIONS, write_chunk_size=chunk, read_chunk_size=chunk)

    for short_circuit in (True, False):
        options["short_circuit"] = short_circuit
        with curvine_py.connect(MASTERS, timeout=30.0, options=options) as c:
            c.write_bytes(f"{d}/f-{short_circuit}", data)
            assert sha(c.read_bytes(f"{d}/f-{short_circuit}")) == sha(data)


def test_a_file_larger_than_the_default_block_size(d: str) -> None:
    with curvine_py.connect(MASTERS, timeout=30.0) as c:
        data = payload(130 * MIB, 15)
        c.write_bytes(f"{d}/big", data)
        st = c.stat(f"{d}/big")
        block = st.block_size

        assert st.size == len(data)
        assert sha(c.read_bytes(f"{d}/big")) == sha(data)
        assert c.pread(f"{d}/big", block - 100, 200) == data[block - 100 : block + 100]


def test_readers_see_the_blocks_committed_so_far(fs: Client, d: str) -> None:
    data = payload(2 * BLOCK + 10, 16)
    writer = fs.open(f"{d}/f", "wb", buffering=0)
    try:
        writer.write(data)
        st = fs.stat(f"{d}/f")

        assert not st.is_complete
        assert st.size == 2 * BLOCK
        assert sha(fs.read_bytes(f"{d}/f")) == sha(data[: 2 * BLOCK])
    finally:
        writer.close()

    assert fs.stat(f"{d}/f").size == len(data)
    assert sha(fs.read_bytes(f"{d}/f")) == sha(data)


def test_a_block_size_below_the_masters_bound_is_refused(cv: Client, d: str) -> None:
    with pytest.raises(OSError, match="1048576"):
        cv.write_bytes(f"{d}/f", b"x", block_size=4096)
    assert not cv.exists(f"{d}/f")


def test_server_messages_leave_out_thread_and_source_line(
    cv: Client, d: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The master's thread name and source location go to the debug log only."""
    with (
        caplog.at_level(logging.DEBUG, logger="curvine_py"),
        pytest.raises(OSError) as raised,
    ):
        cv.write_bytes(f"{d}/f", b"x", block_size=4096)

    text = str(raised.value)
    assert "Block size needs to be between 1048576" in text
    assert "ERROR:" not in text and ".rs:" not in text, text
    raw = [r.getMessage() for r in caplog.records if "server's own text" in r.message]
    assert raw and "ERROR:" in raw[0] and ".rs:" in raw[0], raw


def test_append_adds_to_the_end(fs: Client, d: str) -> None:
    first, second = payload(BLOCK + 3, 5), payload(BLOCK + CHUNK * 2 + 1, 6)
    fs.write_bytes(f"{d}/f", first)

    with fs.open(f"{d}/f", "ab") as out:
        assert out.tell() == len(first)
        out.write(second)

    assert fs.stat(f"{d}/f").size == len(first) + len(second)
    assert sha(fs.read_bytes(f"{d}/f")) == sha(first + second)

    with fs.open(f"{d}/small", "ab") as out:
        out.write(b"made by append")
    with fs.open(f"{d}/small", "ab") as out:
        out.write(b", then more")
    assert fs.read_bytes(f"{d}/small") == b"made by append, then more"


def test_overwrite_and_exclusive_create(fs: Client, d: str) -> None:
    fs.write_bytes(f"{d}/f", payload(2 * BLOCK, 7))
    fs.write_bytes(f"{d}/f", b"short")
    assert fs.read_bytes(f"{d}/f") == b"short"
    assert fs.stat(f"{d}/f").size == 5

    with pytest.raises(FileExistsError), fs.open(f"{d}/f", "xb"):
        pass
    with fs.open(f"{d}/g", "xb") as out:
        out.write(b"x")
    assert fs.read_bytes(f"{d}/g") == b"x"


def test_text_round_trip(fs: Client, d: str) -> None:
    text = "línea 1\nline two\n" * 1000

    with fs.open(f"{d}/t.txt", "w") as out:
        out.write(text)

    with fs.open(f"{d}/t.txt", "r") as src:
        assert src.read() == text
    assert fs.read_text(f"{d}/t.txt") == text


def test_an_abandoned_write_leaves_the_file_incomplete(fs: Client, d: str) -> None:
    with (
        pytest.raises(RuntimeError, match="half way"),
        fs.open(f"{d}/f", "wb") as out,
    ):
        out.write(payload(BLOCK + CHUNK, 11))
        raise RuntimeError("half way")

    assert not fs.stat(f"{d}/f").is_complete

    fs.write_bytes(f"{d}/f", b"second try")
    assert fs.read_bytes(f"{d}/f") == b"second try"
    assert fs.stat(f"{d}/f").is_complete


def test_file_refusals(fs: Client, d: str) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        fs.open(f"{d}/missing", "rb")
    assert caught.value.filename == f"{d}/missing"

    with pytest.raises(IsADirectoryError):
        fs.read_bytes(d)
    with pytest.raises(IsADirectoryError):
        fs.write_bytes(d, b"x")
    with pytest.raises(FileNotFoundError):
        fs.write_bytes(f"{d}/no/parent/f", b"x")

    fs.write_bytes(f"{d}/file", b"x")
    with pytest.raises(NotADirectoryError):
        fs.write_bytes(f"{d}/file/below", b"x")
    with pytest.raises(NotADirectoryError):
        fs.mkdir(f"{d}/file/below")
    with pytest.raises(NotADirectoryError):
        fs.listdir(f"{d}/file")
    with pytest.raises(FileExistsError):
        fs.mkdir(f"{d}/file")


# -- namespace changes -------------------------------------------------------


def test_rename(fs: Client, d: str) -> None:
    data = payload(BLOCK + 9, 12)
    fs.write_bytes(f"{d}/a", data)
    fs.write_bytes(f"{d}/b", b"B")
    fs.mkdir(f"{d}/dir")
    fs.mkdir(f"{d}/full")
    fs.write_bytes(f"{d}/full/x", b"x")

    fs.rename(f"{d}/a", f"{d}/moved")
    assert sha(fs.read_bytes(f"{d}/moved")) == sha(data)
    assert not fs.exists(f"{d}/a")

    with pytest.raises(FileNotFoundError):
        fs.rename(f"{d}/a", f"{d}/c")
    with pytest.raises(FileExistsError):
        fs.rename(f"{d}/moved", f"{d}/b", replace=False)
    fs.rename(f"{d}/moved", f"{d}/b")
    assert sha(fs.read_bytes(f"{d}/b")) == sha(data)

    with pytest.raises(IsADirectoryError):
        fs.rename(f"{d}/b", f"{d}/dir")
    with pytest.raises(NotADirectoryError):
        fs.rename(f"{d}/dir", f"{d}/b")
    with pytest.raises(OSError) as not_empty:
        fs.rename(f"{d}/dir", f"{d}/full")
    assert not_empty.value.errno == errno.ENOTEMPTY
    with pytest.raises(OSError) as into_itself:
        fs.rename(f"{d}/full", f"{d}/full/inner")
    assert into_itself.value.errno == errno.EINVAL

    fs.rename(f"{d}/full", f"{d}/dir/inside")
    assert fs.listdir(f"{d}/dir/inside") == ["x"]
    with pytest.raises(FileNotFoundError):
        fs.rename(f"{d}/b", f"{d}/no/such/place")


def test_remove(fs: Client, d: str) -> None:
    fs.write_bytes(f"{d}/f", payload(BLOCK + 1, 13))
    fs.mkdir(f"{d}/sub/deeper", parents=True)
    fs.write_bytes(f"{d}/sub/deeper/g", b"data")

    fs.remove(f"{d}/f")
    assert not fs.exists(f"{d}/f")
    with pytest.raises(FileNotFoundError) as missing:
        fs.remove(f"{d}/f")
    assert missing.value.filename == f"{d}/f"

    with pytest.raises(OSError) as not_empty:
        fs.remove(f"{d}/sub")
    assert not_empty.value.errno == errno.ENOTEMPTY

    fs.remove(f"{d}/sub", recursive=True)
    assert not fs.exists(f"{d}/sub")
    assert fs.listdir(d) == []


def test_chmod_chown_utime(cv: Client, d: str) -> None:
    cv.write_bytes(f"{d}/f", b"x")
    cv.mkdir(f"{d}/sub/deeper", parents=True)

    cv.chmod(f"{d}/f", 0o640)
    assert cv.stat(f"{d}/f").permissions == 0o640
    assert stat.S_ISREG(cv.stat(f"{d}/f").mode)
    cv.chmod(f"{d}/sub", 0o711, recursive=True)
    assert cv.stat(f"{d}/sub/deeper").permissions == 0o711

    cv.chown(f"{d}/f", "alice", "staff")
    st = cv.stat(f"{d}/f")
    assert (st.owner, st.group) == ("alice", "staff")
    cv.chown(f"{d}/f", group="wheel")
    assert (cv.stat(f"{d}/f").owner, cv.stat(f"{d}/f").group) == ("alice", "wheel")

    cv.utime(f"{d}/f", (1_600_000_000.5, 1_700_000_000.25))
    st = cv.stat(f"{d}/f")
    assert st.mtime == pytest.approx(1_700_000_000.25, abs=0.001)
    assert st.atime == pytest.approx(1_600_000_000.5, abs=0.001)
    with pytest.raises(FileNotFoundError):
        cv.utime(f"{d}/missing", (1, 1))


def test_set_replicas_the_master_ignores_is_an_error(cv: Client, d: str) -> None:
    """Curvine 0.2 masters accept SetAttr replicas but keep the old count."""
    cv.write_bytes(f"{d}/f", b"x")
    before = cv.stat(f"{d}/f").replicas

    with pytest.raises(io.UnsupportedOperation, match="did not apply") as raised:
        cv.set_replicas(f"{d}/f", before + 1)

    assert raised.value.errno == errno.EOPNOTSUPP
    assert raised.value.kind_name == "Unsupported"  # type: ignore[attr-defined]
    assert cv.stat(f"{d}/f").replicas == before


def test_symlink(cv: Client, d: str) -> None:
    cv.write_bytes(f"{d}/target", b"x")

    cv.symlink(f"{d}/target", f"{d}/link")
    st = cv.stat(f"{d}/link")
    assert st.is_symlink and stat.S_ISLNK(st.mode)
    assert st.target == f"{d}/target"
    assert cv.readlink(f"{d}/link") == f"{d}/target"
    cv.symlink("relative/target", f"{d}/rel")
    assert cv.readlink(f"{d}/rel") == "relative/target"

    with pytest.raises(FileExistsError):
        cv.symlink("/elsewhere", f"{d}/link")
    with pytest.raises(FileExistsError):
        cv.symlink("/elsewhere", f"{d}/target", force=True)
    with pytest.raises(FileNotFoundError):
        cv.symlink("/x", f"{d}/missing/link")


def test_symlink_force_replaces_a_link(cv: Client, d: str) -> None:
    """Curvine 0.2 masters keep the old target; the client replaces the link."""
    cv.symlink("/first", f"{d}/link")

    cv.symlink("/second", f"{d}/link", force=True)

    assert cv.readlink(f"{d}/link") == "/second"
    assert cv.stat(f"{d}/link").is_symlink


def test_walk(cv: Client, d: str) -> None:
    cv.mkdir(f"{d}/a/b", parents=True)
    cv.mkdir(f"{d}/c")
    for path in (f"{d}/top.txt", f"{d}/a/one", f"{d}/a/b/two"):
        cv.write_bytes(path, b".")

    seen = {top: (sorted(ds), sorted(fs_)) for top, ds, fs_ in cv.walk(d)}
    assert seen == {
        d: (["a", "c"], ["top.txt"]),
        f"{d}/a": (["b"], ["one"]),
        f"{d}/a/b": ([], ["two"]),
        f"{d}/c": ([], []),
    }


# -- short-circuit paths the client cannot open --------------------------------

HIDDEN_CLIENT = textwrap.dedent(
    """
    import hashlib, sys
    import curvine_py

    masters, hostname, path, want = sys.argv[1:5]
    options = {"hostname": hostname, "block_size": 1 << 20}
    with curvine_py.connect(masters, timeout=30.0, options=options) as c:
        got = hashlib.sha256(c.read_bytes(path)).hexdigest()
        assert got == want, f"read back {got}, want {want}"
        c.write_bytes(path + ".again", c.read_bytes(path))
    """
)


def test_block_files_out_of_reach_are_served_by_the_worker(cv: Client, d: str) -> None:
    """A client told a block file path it cannot open reads and writes over TCP."""
    data_dir = os.environ.get(DATA_DIR_ENV, "")
    if not data_dir or not os.path.isdir(data_dir):
        pytest.skip(f"{DATA_DIR_ENV} does not name a worker data directory here")
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("hiding the data directory needs root and unshare(1)")
    local = [
        w for w in cv.info().live_workers if w.ip_addr in {"127.0.0.1", "localhost"}
    ]
    if not local:
        pytest.skip("no live worker on this host")

    data = payload(2 * BLOCK + 5, 17)
    cv.write_bytes(f"{d}/f", data)
    script = 'mount -t tmpfs curvine-py-hidden "$0" && exec "$@"'
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, data_dir, sys.executable, "-c"]
        + [HIDDEN_CLIENT, MASTERS, local[0].hostname, f"{d}/f", sha(data)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert sha(cv.read_bytes(f"{d}/f.again")) == sha(data)
