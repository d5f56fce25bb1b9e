"""config.json -> curvine-fluid -> exec of curvine-py-fuse -> a real kernel mount.

Also the mounts curvine-fluid finds at its target: a dead one (its FUSE server
was killed) is unmounted first; a live one is left alone and reported. And the
readiness probe of fluid/deploy tells the two apart.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fuse_support import MOUNT_WAIT_S, fuse_marks, wait_mounted
from test_fluid_support import (
    REPO,
    assert_clean_failure,
    basic_config,
    fluid_args,
    fluid_command,
    write_config,
)

from curvine_py.testing import MiniCluster
from fluid.errors import EXIT_CHECK

PROBE = REPO / "fluid" / "deploy" / "readiness-probe.sh"
pytestmark = fuse_marks()


def _fuse_program(directory: Path) -> Path:
    """curvine-py-fuse as an executable file, the way a FUSE pod holds it."""
    installed = Path(sys.executable).parent / "curvine-py-fuse"
    if installed.exists():
        return installed
    wrapper = directory / "curvine-py-fuse"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m curvine_py.fuse "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


@pytest.fixture(scope="module")
def tree(cluster: MiniCluster) -> MiniCluster:
    with cluster.client() as client:
        for path in ("/data/train/shard-0", "/data/train/shard-1", "/data/eval"):
            client.mkdir(path, parents=True, exist_ok=True)
        client.mkdir("/other", exist_ok=True)
    return cluster


def _config(directory: Path, cluster: MiniCluster, target: Path) -> Path:
    """A config.json in ``directory`` for ``target``, with two I/O threads."""
    doc = basic_config(cluster.master_endpoints, target, **{"io-threads": "2"})
    return write_config(directory, doc)


def _start(
    tmp_path: Path, cluster: MiniCluster, target: Path, *extra: str
) -> subprocess.Popen[str]:
    cfg = _config(tmp_path, cluster, target)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CURVINE_", "FLUID_"))
    }
    home, fuse_bin = tmp_path / "home", _fuse_program(tmp_path)
    return subprocess.Popen(
        fluid_command(*fluid_args(cfg, home, fuse_bin, "--parent-wait", "5", *extra)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


def _answers(target: Path) -> bool:
    """A mount is at ``target`` and its FUSE server answers statfs."""
    try:
        os.statvfs(target)
    except OSError:
        return False
    return os.path.ismount(target)


def _stop(target: Path, proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _force_unmount(target)


def _force_unmount(target: Path) -> None:
    for _ in range(3):
        try:
            os.stat(target)
            if not os.path.ismount(target):
                return
        except OSError as exc:
            if exc.errno != errno.ENOTCONN:
                return
        subprocess.run(["fusermount3", "-u", "-z", str(target)], check=False)
        time.sleep(0.1)


@pytest.fixture
def mounted(
    tmp_path: Path, tree: MiniCluster
) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    target = tmp_path / "runtime-mnt" / "thin-fuse"
    target.parent.mkdir()
    proc = _start(tmp_path, tree, target)
    try:
        wait_mounted(target, proc, _answers)
        yield target, proc
    finally:
        _stop(target, proc)


def _probe(target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(PROBE), str(target)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_listing_through_the_kernel_matches_the_cluster(
    mounted: tuple[Path, subprocess.Popen[str]], tree: MiniCluster
) -> None:
    target, proc = mounted
    with tree.client() as client:
        assert sorted(os.listdir(target)) == sorted(client.listdir("/data"))
        assert sorted(os.listdir(target / "train")) == sorted(
            client.listdir("/data/train")
        )
    assert sorted(os.listdir(target)) == ["eval", "train"]
    assert (target / "train" / "shard-1").is_dir()
    assert proc.poll() is None, "curvine-fluid became the FUSE server"


def test_probe_tells_a_live_mount_from_a_dead_one(
    mounted: tuple[Path, subprocess.Popen[str]],
) -> None:
    target, proc = mounted
    live = _probe(target)
    assert live.returncode == 0, live.stdout + live.stderr

    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with pytest.raises(OSError) as info:
        os.statvfs(target)
    assert info.value.errno == errno.ENOTCONN

    dead = _probe(target)
    assert dead.returncode != 0
    assert "not connected" in dead.stdout + dead.stderr


def test_probe_on_a_target_that_is_not_mounted(tmp_path: Path) -> None:
    result = _probe(tmp_path)
    assert result.returncode != 0
    assert "not mounted" in result.stdout + result.stderr


def test_a_dead_mount_is_unmounted_and_mounted_again(
    tmp_path: Path,
    tree: MiniCluster,
    mounted: tuple[Path, subprocess.Popen[str]],
) -> None:
    target, first = mounted
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)

    again = _start(tmp_path, tree, target)
    try:
        wait_mounted(target, again, _answers)
        assert sorted(os.listdir(target)) == ["eval", "train"]
    finally:
        _stop(target, again)
    out = again.stdout.read() if again.stdout else ""
    assert "held a dead FUSE mount; unmounted it" in out, out


def test_a_live_mount_is_left_alone_and_reported(
    tmp_path: Path,
    tree: MiniCluster,
    mounted: tuple[Path, subprocess.Popen[str]],
) -> None:
    target, first = mounted
    (tmp_path / "second").mkdir()
    second = _start(tmp_path / "second", tree, target)
    out, err = second.communicate(timeout=60)
    proc = subprocess.CompletedProcess(second.args, second.returncode, out, err)
    assert_clean_failure(proc, EXIT_CHECK)
    assert "already mounted" in out and "left alone" in out
    assert first.poll() is None
    assert sorted(os.listdir(target)) == ["eval", "train"]


def test_dry_run_reports_a_dead_mount_without_touching_it(
    tmp_path: Path,
    tree: MiniCluster,
    mounted: tuple[Path, subprocess.Popen[str]],
) -> None:
    target, first = mounted
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    (tmp_path / "dry").mkdir()
    dry = _start(tmp_path / "dry", tree, target, "--dry-run")
    out, err = dry.communicate(timeout=60)
    assert dry.returncode == 0, out + err
    assert "it would be unmounted" in out
    with pytest.raises(OSError) as info:
        os.statvfs(target)
    assert info.value.errno == errno.ENOTCONN


def test_a_hung_mount_is_reported_and_left_mounted(
    tmp_path: Path,
    tree: MiniCluster,
    mounted: tuple[Path, subprocess.Popen[str]],
) -> None:
    target, first = mounted
    first.send_signal(signal.SIGSTOP)
    try:
        probe = subprocess.run(
            ["sh", str(PROBE), str(target)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={**os.environ, "CURVINE_PROBE_TIMEOUT": "1"},
        )
        assert probe.returncode != 0
        assert "no answer within 1s" in probe.stdout

        (tmp_path / "again").mkdir()
        second = _start(tmp_path / "again", tree, target, "--check-timeout", "1")
        out, err = second.communicate(timeout=60)
        proc = subprocess.CompletedProcess(second.args, second.returncode, out, err)
        assert_clean_failure(proc, EXIT_CHECK)
        assert "does not answer within 1 s" in out
    finally:
        first.send_signal(signal.SIGCONT)
    assert sorted(os.listdir(target)) == ["eval", "train"]


def test_a_target_under_a_hung_mount_fails_within_the_check_timeout(
    tmp_path: Path,
    tree: MiniCluster,
    mounted: tuple[Path, subprocess.Popen[str]],
) -> None:
    target, first = mounted
    first.send_signal(signal.SIGSTOP)
    try:
        (tmp_path / "under").mkdir()
        inner = target / "train" / "thin-fuse"
        cfg = _config(tmp_path / "under", tree, inner)
        home = tmp_path / "under" / "home"
        # Without a bound the look at the parent would wait as long as the
        # stopped server does; this test's own timeout would end it first.
        args = fluid_args(
            cfg, home, "/bin/true", "--check-timeout", "1", "--parent-wait", "3600"
        )
        proc = subprocess.run(
            fluid_command(*args, "--dry-run"),
            capture_output=True,
            text=True,
            timeout=30,
            cwd=REPO,
            check=False,
        )
        assert_clean_failure(proc, EXIT_CHECK)
        line = [ln for ln in proc.stdout.splitlines() if "target parent" in ln]
        assert line and "FAILED" in line[0] and "within 1 s" in line[0], proc.stdout
    finally:
        first.send_signal(signal.SIGCONT)
    assert sorted(os.listdir(target)) == ["eval", "train"]


def _mount_entries(target: Path) -> int:
    text = Path("/proc/self/mountinfo").read_text()
    return sum(1 for line in text.splitlines() if line.split()[4] == str(target))


def test_two_dead_mounts_stacked_on_the_target_are_both_unmounted(
    tmp_path: Path, tree: MiniCluster
) -> None:
    target = tmp_path / "runtime-mnt" / "thin-fuse"
    target.parent.mkdir()
    # An empty dataset, so that a second server may mount over the first.
    doc = basic_config(tree.master_endpoints, target, "curvine:///other")
    cfg = write_config(tmp_path, doc)
    args = fluid_args(cfg, tmp_path / "home", _fuse_program(tmp_path), "--dry-run")
    dry = subprocess.run(
        fluid_command(*args),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert dry.returncode == 0, dry.stdout + dry.stderr
    script = tmp_path / "home" / "mount-curvine.sh"

    # Two FUSE servers on one target, the second over the first, both killed.
    servers = []
    try:
        for _ in range(2):
            server = subprocess.Popen(
                ["sh", str(script)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            servers.append(server)
            before = _mount_entries(target)
            deadline = time.monotonic() + MOUNT_WAIT_S
            while _mount_entries(target) == before and time.monotonic() < deadline:
                time.sleep(0.05)
        assert _mount_entries(target) == 2
        for server in servers:
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=30)

        (tmp_path / "again").mkdir()
        fake = tmp_path / "again" / "fake-fuse"
        fake.write_text("#!/bin/sh\nexit 0\n")
        fake.chmod(0o755)
        cfg = _config(tmp_path / "again", tree, target)
        home = tmp_path / "again" / "home"
        proc = subprocess.run(
            fluid_command(*fluid_args(cfg, home, fake, "--parent-wait", "5")),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "held 2 dead FUSE mounts; unmounted them" in proc.stdout, proc.stdout
        assert _mount_entries(target) == 0
    finally:
        for server in servers:
            if server.poll() is None:
                server.kill()
                server.wait()
        for _ in range(3):
            _force_unmount(target)
