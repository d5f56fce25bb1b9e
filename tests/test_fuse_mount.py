"""curvine-py-fuse mounted over a real mini cluster, looked at through the kernel."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from fuse_support import fuse_marks, wait_mounted

from curvine_py.testing import MiniCluster

pytestmark = fuse_marks()

MIB = 1024 * 1024

# Several blocks of 1 MiB and a ragged tail, so reads cross block boundaries.
PAYLOAD = random.Random(7).randbytes(3 * MIB + 12345)


def _fuse_cmd(*args: str | os.PathLike[str]) -> list[str]:
    return [sys.executable, "-m", "curvine_py.fuse", *map(str, args)]


def _unmount(mnt: Path, proc: subprocess.Popen[bytes]) -> int:
    # Unconditional and lazy: a dead program leaves a mount that ismount()
    # cannot see, and a busy one must not outlive the test either.
    subprocess.run(
        ["fusermount3", "-u", "-z", str(mnt)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    if proc.poll() is None:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


@contextmanager
def _mounted(
    mnt: Path, *args: str | os.PathLike[str]
) -> Iterator[subprocess.Popen[bytes]]:
    """Run curvine-py-fuse with ``args`` until ``mnt`` is mounted; unmount after."""
    proc = subprocess.Popen(
        _fuse_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_mounted(mnt, proc)
        yield proc
    finally:
        _unmount(mnt, proc)


def _stderr(proc: subprocess.Popen[bytes]) -> str:
    return proc.stderr.read().decode() if proc.stderr else ""


@pytest.fixture(scope="module")
def dataset(cluster: MiniCluster) -> Iterator[MiniCluster]:
    with cluster.client() as client:
        client.mkdir("/data/train/shard-0", parents=True)
        client.mkdir("/data/train/shard-1", parents=True)
        client.mkdir("/data/eval", parents=True)
        client.mkdir("/elsewhere", parents=True)
        client.write_bytes("/data/train/shard-0/part.bin", PAYLOAD, block_size=MIB)
        client.symlink("/data/train/shard-0/part.bin", "/data/latest")
    yield cluster


def _write_conf(path: Path, endpoints: str, fs_path: str, mnt: Path) -> Path:
    lines = []
    for ep in endpoints.split(","):
        host, port = ep.rsplit(":", 1)
        lines += [
            "[[client.master_addrs]]",
            f'hostname = "{host}"',
            f"port = {port}",
            "",
        ]
    lines += ["[fuse]", f'fs_path = "{fs_path}"', f'mnt_path = "{mnt}"', ""]
    path.write_text("\n".join(lines))
    return path


def test_listing_and_stat_through_the_kernel_match_the_cluster(
    dataset: MiniCluster, tmp_path: Path
) -> None:
    mnt = tmp_path / "mnt"
    conf = _write_conf(
        tmp_path / "curvine-cluster.toml", dataset.master_endpoints, "/data", mnt
    )
    args = ("--conf", conf, "--mnt-number", "1", "--io-threads", "4")
    with _mounted(mnt, *args, "--worker-threads", "8") as proc:
        with dataset.client() as client:
            assert sorted(os.listdir(mnt)) == sorted(client.listdir("/data"))
            assert sorted(os.listdir(mnt / "train")) == ["shard-0", "shard-1"]

            remote = client.stat("/data/train")
            local = os.stat(mnt / "train")
            assert local.st_mode & 0o170000 == 0o040000
            assert int(local.st_mtime) == int(remote.mtime)

            vfs = os.statvfs(mnt)
            info = client.info()
            assert vfs.f_blocks * vfs.f_frsize == info.capacity // 4096 * 4096
            # Free space is the host's and moves with whatever else runs here.
            free = vfs.f_bavail * vfs.f_frsize
            assert abs(free - info.available) < 256 * MIB

        with pytest.raises(FileNotFoundError):
            os.stat(mnt / "missing")
        with pytest.raises(OSError) as refused:
            os.mkdir(mnt / "new-dir")
        assert refused.value.errno == errno.EROFS

    assert proc.returncode == 0, _stderr(proc)
    assert not os.path.ismount(mnt)


def test_file_content_through_the_kernel_matches_what_was_written(
    dataset: MiniCluster, tmp_path: Path
) -> None:
    mnt = tmp_path / "mnt"
    args = ("--master-addrs", dataset.master_endpoints, "--mnt-path", mnt)
    with _mounted(mnt, *args, "--fs-path", "/data", "--conf", tmp_path / "x") as proc:
        part = mnt / "train" / "shard-0" / "part.bin"

        assert os.stat(part).st_size == len(PAYLOAD)
        digest = hashlib.sha256(part.read_bytes()).hexdigest()
        assert digest == hashlib.sha256(PAYLOAD).hexdigest()

        rng = random.Random(11)
        fd = os.open(part, os.O_RDONLY)
        try:
            for _ in range(20):
                offset = rng.randrange(len(PAYLOAD))
                length = rng.randrange(1, 300_000)
                expected = PAYLOAD[offset : offset + length]
                assert os.pread(fd, length, offset) == expected
            assert os.pread(fd, 100, len(PAYLOAD)) == b""
            assert os.pread(fd, 100, len(PAYLOAD) + 5000) == b""
        finally:
            os.close(fd)

        # The kernel sends reads of several processes' threads at once.
        def slice_matches(i: int) -> bool:
            start = i * len(PAYLOAD) // 8
            end = (i + 1) * len(PAYLOAD) // 8
            with open(part, "rb", buffering=0) as f:
                return os.pread(f.fileno(), end - start, start) == PAYLOAD[start:end]

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert all(pool.map(slice_matches, range(8)))

        assert os.readlink(mnt / "latest") == "/data/train/shard-0/part.bin"
        with pytest.raises(OSError) as refused:
            os.open(part, os.O_WRONLY)
        assert refused.value.errno == errno.EROFS
        with pytest.raises(IsADirectoryError):
            (mnt / "train").read_bytes()

    assert proc.returncode == 0, _stderr(proc)


def test_flags_override_the_config_and_sigterm_unmounts(
    dataset: MiniCluster, tmp_path: Path
) -> None:
    mnt = tmp_path / "mnt"
    conf = _write_conf(
        tmp_path / "curvine-cluster.toml",
        "127.0.0.1:1",
        "/elsewhere",
        tmp_path / "unused",
    )
    args = ("--conf", conf, "--master-addrs", dataset.master_endpoints)
    flags = ("--fs-path", "/data/train", "--mnt-path", mnt, "--io-threads", "1")
    client = ("--client.short-circuit", "false", "--client.audit-logging-enabled=1")
    with _mounted(
        mnt, *args, *flags, "-o", "default_permissions,big_write", *client
    ) as proc:
        assert sorted(os.listdir(mnt)) == ["shard-0", "shard-1"]
        assert not (tmp_path / "unused").exists()

        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        assert not os.path.ismount(mnt)

    assert code == 0
    err = _stderr(proc)
    assert "without effect in curvine-py-fuse: --client.audit-logging-enabled" in err
    assert "mount options without effect in curvine-py-fuse: big_write" in err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--mnt-number", "2"], "--mnt-number 2"),
        (["-o", "rw"], "-o rw"),
        (["--io-threads", "0"], "--io-threads 0"),
        (["--fs-path", "relative"], "--fs-path 'relative'"),
        (["--client.short-circuit", "maybe"], "client.short_circuit = 'maybe'"),
        (["--client.block-size"], "--client.block-size needs a value"),
    ],
)
def test_bad_flags_are_refused_with_one_line(
    dataset: MiniCluster, tmp_path: Path, extra: list[str], expected: str
) -> None:
    mnt = tmp_path / "mnt"
    result = subprocess.run(
        _fuse_cmd(
            "--master-addrs",
            dataset.master_endpoints,
            "--mnt-path",
            mnt,
            "--conf",
            tmp_path / "absent.toml",
            *extra,
        ),
        check=False,
        capture_output=True,
        timeout=60,
    )

    err = result.stderr.decode()
    assert result.returncode == 2
    assert expected in err
    assert "Traceback" not in err
    assert not os.path.ismount(mnt)


def test_a_missing_dataset_path_or_busy_mount_point_is_refused(
    dataset: MiniCluster, tmp_path: Path
) -> None:
    mnt = tmp_path / "mnt"
    missing = subprocess.run(
        _fuse_cmd(
            "--master-addrs",
            dataset.master_endpoints,
            "--mnt-path",
            mnt,
            "--fs-path",
            "/no/such/dataset",
            "--conf",
            tmp_path / "absent.toml",
        ),
        check=False,
        capture_output=True,
        timeout=60,
    )
    assert missing.returncode == 1
    assert "/no/such/dataset" in missing.stderr.decode()
    assert "Traceback" not in missing.stderr.decode()
    assert not os.path.ismount(mnt)

    (mnt / "left-over").write_text("x")
    busy = subprocess.run(
        _fuse_cmd(
            "--master-addrs",
            dataset.master_endpoints,
            "--mnt-path",
            mnt,
            "--conf",
            tmp_path / "absent.toml",
        ),
        check=False,
        capture_output=True,
        timeout=60,
    )
    assert busy.returncode == 2
    assert "not empty" in busy.stderr.decode()


def test_a_stale_mount_left_by_a_killed_program_is_named(
    dataset: MiniCluster, tmp_path: Path
) -> None:
    mnt = tmp_path / "mnt"
    args = ("--master-addrs", dataset.master_endpoints, "--mnt-path", mnt)
    with _mounted(mnt, *args, "--conf", tmp_path / "absent.toml") as proc:
        proc.kill()
        proc.wait(timeout=30)

        again = subprocess.run(
            _fuse_cmd(*args, "--conf", tmp_path / "absent.toml"),
            check=False,
            capture_output=True,
            timeout=60,
        )
        err = again.stderr.decode()
        assert again.returncode == 2
        assert f"fusermount3 -u {mnt}" in err
        assert "Traceback" not in err
