"""curvine_py.testing.MiniCluster: start, commands, and a clean exit."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curvine_py import testing
from curvine_py.testing import MiniCluster, MiniClusterError, find_binary


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _refused(endpoint: str) -> bool:
    host, port = endpoint.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2.0):
            return False
    except ConnectionRefusedError:
        return True


def test_exposes_endpoints_and_leaves_no_process() -> None:
    with MiniCluster(masters=3, leader=2, workers=2) as mc:
        pid = mc.pid
        assert pid is not None and _alive(pid)
        assert len(mc.masters) == 3
        assert mc.leader == mc.masters[2]
        assert mc.master_endpoints == ",".join(mc.masters)
        assert len(mc.workers) == 2
        assert mc.data_dir and Path(mc.data_dir).is_dir()
        for endpoint in mc.masters + mc.workers:
            assert not _refused(endpoint)
        data_dir = mc.data_dir

    assert not _alive(pid)
    for endpoint in mc.masters + mc.workers:
        assert _refused(endpoint)
    # A data directory the cluster made for itself goes with it.
    assert not Path(data_dir).exists()


def test_given_data_dir_is_used_and_kept(tmp_path: Path) -> None:
    with MiniCluster(data_dir=tmp_path / "blocks") as mc:
        assert Path(mc.data_dir).resolve() == (tmp_path / "blocks").resolve()

    assert (tmp_path / "blocks").is_dir()


def test_stop_and_start_master_close_and_reopen_the_port() -> None:
    with MiniCluster(masters=2) as mc:
        mc.stop_master(1)
        assert _refused(mc.masters[1])

        mc.start_master(1)
        assert not _refused(mc.masters[1])


def test_stop_and_start_worker_close_and_reopen_the_port() -> None:
    with MiniCluster(workers=2) as mc:
        mc.stop_worker(0)
        assert _refused(mc.workers[0])
        assert not _refused(mc.workers[1])

        mc.start_worker(0)
        assert not _refused(mc.workers[0])


def test_bad_indexes_are_refused() -> None:
    with MiniCluster(masters=2) as mc:
        with pytest.raises(IndexError, match="from 0 to 1"):
            mc.set_leader(5)
        with pytest.raises(IndexError, match="worker"):
            mc.stop_worker(3)


def test_a_refused_command_is_an_error() -> None:
    with MiniCluster(masters=2) as mc:
        with pytest.raises(MiniClusterError, match="'leader 7'.*error"):
            mc.command("leader 7")
        with pytest.raises(MiniClusterError, match="no-such-command"):
            mc.command("no-such-command")
        mc.set_leader(1)


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="leader"):
        MiniCluster(masters=2, leader=2)
    with pytest.raises(ValueError, match="masters"):
        MiniCluster(masters=0)


def test_missing_binary_lists_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        MiniCluster(binary=tmp_path / "nothing-here")

    monkeypatch.setenv("CURVINE_MINI_BIN", str(tmp_path / "not-this-either"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(testing, "_candidates", lambda: [tmp_path / "pkg" / "bin"])
    with pytest.raises(FileNotFoundError) as caught:
        find_binary()

    message = str(caught.value)
    for place in ("not-this-either", "CURVINE_MINI_BIN", str(tmp_path / "pkg"), "PATH"):
        assert place in message
    assert "cargo build" in message


def test_a_binary_that_exits_early_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "curvine-mini"
    fake.write_text("#!/bin/sh\necho 'cannot bind' >&2\nexit 3\n")
    fake.chmod(0o755)

    with pytest.raises(MiniClusterError, match="(?s)status 3.*cannot bind"):
        MiniCluster(binary=fake).start()


def test_foreground_command_prints_endpoints_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "curvine_py.testing", "--masters", "2", "--leader", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        assert len(ready["masters"]) == 2
        assert ready["leader"] == ready["masters"][1]
        assert ready["master_endpoints"] == ",".join(ready["masters"])

        from curvine_py import connect

        with connect(masters=ready["master_endpoints"]) as c:
            assert c.info().leader == ready["leader"]

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    deadline = time.monotonic() + 5
    while not all(_refused(m) for m in ready["masters"]):
        assert time.monotonic() < deadline, "the mini cluster outlived its runner"
        time.sleep(0.1)


def test_the_cluster_does_not_outlive_a_killed_parent() -> None:
    code = (
        "import json, time\n"
        "from curvine_py.testing import MiniCluster\n"
        "mc = MiniCluster(masters=2).start()\n"
        "print(json.dumps(mc.masters), flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        masters = json.loads(parent.stdout.readline())
        assert not any(_refused(m) for m in masters)
    finally:
        parent.kill()
        parent.wait()

    deadline = time.monotonic() + 10
    while not all(_refused(m) for m in masters):
        assert time.monotonic() < deadline, "curvine-mini outlived its parent"
        time.sleep(0.1)


def test_min_block_size_is_passed_on() -> None:
    with MiniCluster(min_block_size=1024 * 1024) as mc, mc.client() as c:
        with pytest.raises(OSError, match="block"):
            c.write_bytes("/small-blocks", b"x", block_size=64 * 1024)
        c.write_bytes("/big-blocks", b"x", block_size=1024 * 1024)
        assert c.stat("/big-blocks").block_size == 1024 * 1024
