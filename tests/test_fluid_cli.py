"""curvine-fluid end to end as a process: config.json, checks against a real
mini cluster, the report, the exec, and every failure's exit status."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_fluid_support import (
    SAMPLES,
    assert_clean_failure,
    basic_config,
    recorder,
    run_fluid,
    write_config,
)

from curvine_py.testing import MiniCluster
from fluid.checks import CheckResult, Checks
from fluid.config import load
from fluid.errors import EXIT_CHECK, EXIT_CONFIG, EXIT_LAUNCH


@pytest.fixture(scope="module")
def dataset(cluster: MiniCluster) -> MiniCluster:
    with cluster.client() as client:
        client.mkdir("/data/train", parents=True, exist_ok=True)
        client.mkdir("/data/eval", parents=True, exist_ok=True)
    return cluster


@pytest.fixture
def fake_fuse(tmp_path: Path) -> tuple[Path, Path]:
    return recorder(tmp_path)


def _run(
    tmp_path: Path,
    document: object,
    fuse_bin: Path,
    *extra: str | Path,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    cfg = write_config(tmp_path, document)
    return run_fluid(
        "--config",
        cfg,
        "--curvine-home",
        tmp_path / "home",
        "--fuse-bin",
        fuse_bin,
        "--parent-wait",
        "0",
        "--check-timeout",
        "3",
        *extra,
        env=env,
        timeout=timeout,
    )


def _lines(proc: subprocess.CompletedProcess[str], prefix: str) -> list[str]:
    return [line for line in proc.stdout.splitlines() if line.startswith(prefix)]


def _check_line(proc: subprocess.CompletedProcess[str], name: str) -> str:
    found = [line for line in _lines(proc, "check ") if line[6:].startswith(name)]
    assert len(found) == 1, proc.stdout
    return found[0]


# -- a passing run ---------------------------------------------------------


def test_dry_run_against_a_mini_cluster(
    tmp_path: Path, dataset: MiniCluster, fake_fuse: tuple[Path, Path]
) -> None:
    fuse_bin, argv_file = fake_fuse
    target = tmp_path / "mnt" / "thin-fuse"
    target.parent.mkdir()
    doc = basic_config(dataset.master_endpoints, target, **{"io-threads": "4"})
    report = tmp_path / "report.json"
    # A node whose pipe-max-size fits curvine-fuse's splice pipes.
    limit = tmp_path / "pipe-max-size"
    limit.write_text(f"{64 << 20}\n")
    proc = _run(
        tmp_path,
        doc,
        fuse_bin,
        "--dry-run",
        "--report",
        report,
        env={"CURVINE_FLUID_PIPE_MAX_SIZE_FILE": str(limit)},
    )

    assert proc.returncode == 0, proc.stdout + proc.stderr
    checks = _lines(proc, "check ")
    assert len(checks) == 10
    assert all(" ok " in line for line in checks), proc.stdout
    assert f"leader {dataset.master_endpoints}" in _check_line(proc, "a leader answers")
    assert "/data is a directory" in _check_line(proc, "dataset path")
    dry = _lines(proc, "dry run: would exec ")
    assert dry and str(fuse_bin) in dry[0] and "--io-threads 4" in dry[0]
    assert not argv_file.exists(), "a dry run must not exec"
    assert not target.exists(), "a dry run must not create the target"

    data = json.loads(report.read_text())
    assert data["ok"] is True and data["exit_code"] == 0
    assert [c["status"] for c in data["checks"]] == ["ok"] * 10
    assert data["command"][0] == str(fuse_bin)
    assert data["mount"]["fs_path"] == "/data"
    assert data["mount"]["masters"] == [dataset.master_endpoints]
    conf = tomllib.loads(Path(data["toml"]).read_text())
    assert conf["client"]["master_addrs"][0]["port"] == int(
        dataset.master_endpoints.rsplit(":", 1)[1]
    )


def test_run_execs_the_fuse_client_with_the_guide_flags(
    tmp_path: Path, dataset: MiniCluster, fake_fuse: tuple[Path, Path]
) -> None:
    fuse_bin, argv_file = fake_fuse
    target = tmp_path / "mnt" / "thin-fuse"
    target.parent.mkdir()
    doc = basic_config(
        dataset.master_endpoints,
        target,
        **{"worker-threads": "7", "mnt-number": "1", "entry-timeout-ms": "250"},
    )
    home = tmp_path / "home"
    proc = _run(tmp_path, doc, fuse_bin)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    conf = home / "conf" / "curvine-cluster.toml"
    assert argv_file.read_text().splitlines() == [
        str(fuse_bin),
        "--mnt-path",
        str(target),
        "--mnt-number",
        "1",
        "--conf",
        str(conf),
        "--io-threads",
        "32",
        "--worker-threads",
        "7",
        "--entry-timeout-ms",
        "250",
    ]
    env = (tmp_path / "env.txt").read_text().splitlines()
    assert f"CURVINE_CONF_FILE={conf}" in env
    assert target.is_dir(), "the empty target is made ready for the mount"


def test_env_defaults_from_a_profile(
    tmp_path: Path, dataset: MiniCluster, fake_fuse: tuple[Path, Path]
) -> None:
    fuse_bin, argv_file = fake_fuse
    cfg = write_config(tmp_path, basic_config(dataset.master_endpoints, tmp_path / "t"))
    proc = run_fluid(
        "--curvine-home",
        tmp_path / "home",
        "--fuse-bin",
        fuse_bin,
        env={
            "FLUID_RUNTIME_CONFIG_PATH": str(cfg),
            "CURVINE_IO_THREADS": "3",
            "CURVINE_WORKER_THREADS": "5",
            "CURVINE_MNT_NUMBER": "1",
        },
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    argv = argv_file.read_text().splitlines()
    assert argv[argv.index("--io-threads") + 1] == "3"
    assert argv[argv.index("--worker-threads") + 1] == "5"


def test_curvine_home_from_the_environment(
    tmp_path: Path, dataset: MiniCluster
) -> None:
    home = tmp_path / "opt-curvine"
    fuse_bin, argv_file = recorder(tmp_path)
    (home / "lib").mkdir(parents=True)
    shutil.copy(fuse_bin, home / "lib" / "curvine-fuse")
    cfg = write_config(tmp_path, basic_config(dataset.master_endpoints, tmp_path / "t"))
    proc = run_fluid("--config", cfg, env={"CURVINE_HOME": str(home)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    argv = argv_file.read_text().splitlines()
    assert argv[0] == str(home / "lib" / "curvine-fuse")
    assert argv[argv.index("--conf") + 1] == str(home / "conf" / "curvine-cluster.toml")


def test_ha_cluster_whose_second_master_leads(
    tmp_path: Path, fake_fuse: tuple[Path, Path]
) -> None:
    with MiniCluster(masters=3, leader=1) as mc:
        with mc.client() as client:
            client.mkdir("/data", exist_ok=True)
        spaced = mc.master_endpoints.replace(",", " , ")
        doc = basic_config(spaced, tmp_path / "t")
        proc = _run(tmp_path, doc, fake_fuse[0], "--dry-run")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        second = mc.master_endpoints.split(",")[1]
        assert f"leader {second}" in _check_line(proc, "a leader answers")
        conf = tomllib.loads((tmp_path / "home/conf/curvine-cluster.toml").read_text())
        assert len(conf["client"]["master_addrs"]) == 3


# -- config errors: exit 3 -------------------------------------------------


def test_malformed_config_json(tmp_path: Path, fake_fuse: tuple[Path, Path]) -> None:
    proc = _run(tmp_path, '{"mounts": [', fake_fuse[0])
    assert_clean_failure(proc, EXIT_CONFIG)
    assert "config.json: not valid JSON" in proc.stderr
    assert not (tmp_path / "home").exists(), "nothing is written for a bad config"


def test_missing_config_file(tmp_path: Path) -> None:
    proc = run_fluid("--config", tmp_path / "nope.json")
    assert_clean_failure(proc, EXIT_CONFIG)
    assert (
        str(tmp_path / "nope.json") in proc.stderr and "does not exist" in proc.stderr
    )


def test_bad_endpoint_names_the_token(
    tmp_path: Path, fake_fuse: tuple[Path, Path]
) -> None:
    doc = basic_config("m0:8995,m1:99999", tmp_path / "t")
    proc = _run(tmp_path, doc, fake_fuse[0])
    assert_clean_failure(proc, EXIT_CONFIG)
    assert "mounts[0].options.master-endpoints: entry 2 'm1:99999'" in proc.stderr
    assert "outside 1..65535" in proc.stderr


def test_every_sample_reaches_the_checks(
    tmp_path: Path, fake_fuse: tuple[Path, Path]
) -> None:
    for sample in SAMPLES:
        doc = json.loads(sample.read_text())
        opts = doc["mounts"][0]["options"]
        if opts["master-endpoints"].startswith("/etc/fluid/secrets/"):
            continue
        opts["master-endpoints"] = "127.0.0.1:1"
        proc = _run(tmp_path, doc, fake_fuse[0], "--dry-run")
        assert_clean_failure(proc, EXIT_CHECK)
        assert "masters accept TCP" in proc.stderr


def test_config_error_report_json(tmp_path: Path, fake_fuse: tuple[Path, Path]) -> None:
    report = tmp_path / "r.json"
    doc = basic_config("127.0.0.1:1", tmp_path / "t", bogus="1")
    proc = _run(tmp_path, doc, fake_fuse[0], "--report", report)
    assert_clean_failure(proc, EXIT_CONFIG)
    data = json.loads(report.read_text())
    assert data["exit_code"] == EXIT_CONFIG and data["ok"] is False
    assert "mounts[0].options.bogus" in data["error"]
    assert data["checks"] == []


def test_usage_error_is_argparse_status_2(tmp_path: Path) -> None:
    proc = run_fluid("--no-such-flag")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


# -- failed checks: exit 4 -------------------------------------------------


def test_unreachable_master_fails_fast(
    tmp_path: Path, closed_port: int, fake_fuse: tuple[Path, Path]
) -> None:
    doc = basic_config(f"127.0.0.1:{closed_port}", tmp_path / "t")
    proc = _run(tmp_path, doc, fake_fuse[0], timeout=30)
    assert_clean_failure(proc, EXIT_CHECK)
    line = _check_line(proc, "masters accept TCP")
    assert "FAILED" in line and f"127.0.0.1:{closed_port}" in line
    assert "fix:" in line
    assert "skipped" in _check_line(proc, "a leader answers")


@pytest.fixture
def silent_master() -> Iterator[str]:
    """An endpoint that accepts TCP connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"127.0.0.1:{sock.getsockname()[1]}"


def test_a_master_that_never_answers_fails_within_the_check_timeout(
    tmp_path: Path, silent_master: str, fake_fuse: tuple[Path, Path]
) -> None:
    doc = basic_config(silent_master, tmp_path / "t", **{"check-timeout": "2"})
    cfg = write_config(tmp_path, doc)
    # Curvine's own retries would take minutes; the bound here is far below.
    proc = run_fluid(
        "--config",
        cfg,
        "--curvine-home",
        tmp_path / "h",
        "--fuse-bin",
        fake_fuse[0],
        timeout=40,
    )
    assert_clean_failure(proc, EXIT_CHECK)
    line = _check_line(proc, "a leader answers")
    assert "FAILED" in line and silent_master in line


def test_missing_dataset_path(
    tmp_path: Path, dataset: MiniCluster, fake_fuse: tuple[Path, Path]
) -> None:
    doc = basic_config(dataset.master_endpoints, tmp_path / "t", "curvine:///no/such")
    proc = _run(tmp_path, doc, fake_fuse[0])
    assert_clean_failure(proc, EXIT_CHECK)
    line = _check_line(proc, "dataset path")
    assert "/no/such does not exist" in line and "create-dataset-path" in line
    assert "dataset path" in proc.stderr
    assert not fake_fuse[1].exists()


def test_dataset_path_created_when_asked(
    tmp_path: Path, dataset: MiniCluster, fake_fuse: tuple[Path, Path]
) -> None:
    doc = basic_config(
        dataset.master_endpoints,
        tmp_path / "t",
        "curvine:///made/by/fluid",
        **{"create-dataset-path": "true"},
    )
    proc = _run(tmp_path, doc, fake_fuse[0])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "/made/by/fluid created" in _check_line(proc, "dataset path")
    with dataset.client() as client:
        assert client.stat("/made/by/fluid").is_dir


@pytest.mark.parametrize(("policy", "code"), [("fail", EXIT_CHECK), ("warn", 0)])
def test_no_live_workers(
    tmp_path: Path, fake_fuse: tuple[Path, Path], policy: str, code: int
) -> None:
    with MiniCluster(workers=0) as mc:
        with mc.client() as client:
            client.mkdir("/data", exist_ok=True)
        doc = basic_config(
            mc.master_endpoints, tmp_path / "t", **{"capacity-check": policy}
        )
        proc = _run(tmp_path, doc, fake_fuse[0], "--dry-run")
    line = _check_line(proc, "live workers and capacity")
    assert "no live worker" in line
    if code:
        assert_clean_failure(proc, code)
        assert "FAILED" in line and "capacity-check" in line
    else:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "warning" in line


def _patched_true(directory: Path, old: bytes, new: bytes) -> Path:
    data = Path("/bin/true").read_bytes()
    if data.count(old) != 1:
        pytest.skip(f"/bin/true here does not name {old!r} exactly once")
    path = directory / "curvine-fuse"
    path.write_bytes(data.replace(old, new))
    path.chmod(0o755)
    return path


@pytest.mark.skipif(shutil.which("ldd") is None, reason="no ldd on this machine")
def test_fuse_binary_needing_a_newer_glibc(
    tmp_path: Path, dataset: MiniCluster
) -> None:
    # A real program whose symbol versions ask for a glibc that does not exist.
    version = next(
        (
            v
            for v in (b"GLIBC_2.34\x00", b"GLIBC_2.14\x00", b"GLIBC_2.4\x00")
            if v in Path("/bin/true").read_bytes()
        ),
        None,
    )
    if version is None:
        pytest.skip("/bin/true here is not linked against glibc")
    fuse_bin = _patched_true(
        tmp_path, version, b"GLIBC_9." + b"9" * (len(version) - 9) + b"\x00"
    )
    proc = _run(
        tmp_path, basic_config(dataset.master_endpoints, tmp_path / "t"), fuse_bin
    )
    assert_clean_failure(proc, EXIT_CHECK)
    line = _check_line(proc, "FUSE binary")
    assert "needs GLIBC_9." in line and "this image's glibc is GLIBC_" in line
    assert "Ubuntu 24.04" in line


@pytest.mark.skipif(shutil.which("ldd") is None, reason="no ldd on this machine")
def test_fuse_binary_missing_a_shared_library(
    tmp_path: Path, dataset: MiniCluster
) -> None:
    fuse_bin = _patched_true(tmp_path, b"libc.so.6\x00", b"libq.so.6\x00")
    proc = _run(
        tmp_path, basic_config(dataset.master_endpoints, tmp_path / "t"), fuse_bin
    )
    assert_clean_failure(proc, EXIT_CHECK)
    assert "libq.so.6" in _check_line(proc, "FUSE binary")


def test_fuse_binary_missing_or_not_executable(
    tmp_path: Path, dataset: MiniCluster
) -> None:
    doc = basic_config(dataset.master_endpoints, tmp_path / "t")
    proc = _run(tmp_path, doc, tmp_path / "absent")
    assert_clean_failure(proc, EXIT_CHECK)
    assert "does not exist" in _check_line(proc, "FUSE binary")

    plain = tmp_path / "plain"
    plain.write_text("#!/bin/sh\n")
    proc = _run(tmp_path, doc, plain)
    assert_clean_failure(proc, EXIT_CHECK)
    assert "not executable" in _check_line(proc, "FUSE binary")

    real = tmp_path / "real-true"
    shutil.copy("/bin/true", real)
    proc = _run(tmp_path, doc, real, "--dry-run")
    assert proc.returncode == 0, proc.stdout
    assert "shared libraries resolve" in _check_line(proc, "FUSE binary")


def test_dev_fuse_that_cannot_be_opened(tmp_path: Path) -> None:
    settings = load(
        write_config(tmp_path, basic_config("127.0.0.1:1", tmp_path / "t")), {}
    )
    results: list[CheckResult] = []
    checks = Checks(
        settings, Path("/bin/true"), results.append, dev_fuse=tmp_path / "fuse"
    )
    checks._run("/dev/fuse opens", checks.fuse_device)
    assert results[0].status == "failed"
    assert "privileged" in results[0].fix


def test_target_parent_appears_within_the_wait(
    tmp_path: Path, dataset: MiniCluster, fake_fuse: tuple[Path, Path]
) -> None:
    parent = tmp_path / "late" / "dataset"
    doc = basic_config(dataset.master_endpoints, parent / "thin-fuse")
    cfg = write_config(tmp_path, doc)
    timer = threading.Timer(1.0, lambda: parent.mkdir(parents=True))
    timer.start()
    try:
        proc = run_fluid(
            "--config",
            cfg,
            "--curvine-home",
            tmp_path / "h",
            "--fuse-bin",
            fake_fuse[0],
            "--parent-wait",
            "20",
        )
    finally:
        timer.cancel()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "waited for it" in _check_line(proc, "target parent exists")


def test_target_parent_that_never_appears(
    tmp_path: Path, dataset: MiniCluster, fake_fuse: tuple[Path, Path]
) -> None:
    doc = basic_config(dataset.master_endpoints, tmp_path / "never" / "thin-fuse")
    proc = _run(tmp_path, doc, fake_fuse[0], "--parent-wait", "0.5")
    assert_clean_failure(proc, EXIT_CHECK)
    assert "did not appear within 0.5 s" in _check_line(proc, "target parent exists")
    assert "skipped" in _check_line(proc, "target is free")


def test_target_that_is_not_empty(
    tmp_path: Path, dataset: MiniCluster, fake_fuse: tuple[Path, Path]
) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "leftover").write_text("x")
    proc = _run(tmp_path, basic_config(dataset.master_endpoints, target), fake_fuse[0])
    assert_clean_failure(proc, EXIT_CHECK)
    assert "is not empty" in _check_line(proc, "target is free")


# -- launch failures: exit 5 -----------------------------------------------


def test_exec_that_fails(tmp_path: Path, dataset: MiniCluster) -> None:
    (tmp_path / "not-an-interpreter").mkdir()
    fuse_bin = tmp_path / "curvine-fuse"
    fuse_bin.write_text(f"#!{tmp_path}/not-an-interpreter\n")
    fuse_bin.chmod(0o755)
    proc = _run(
        tmp_path, basic_config(dataset.master_endpoints, tmp_path / "t"), fuse_bin
    )
    assert_clean_failure(proc, EXIT_LAUNCH)
    assert f"cannot start the FUSE client {fuse_bin}" in proc.stderr


def test_curvine_home_that_cannot_be_written(
    tmp_path: Path, fake_fuse: tuple[Path, Path]
) -> None:
    blocker = tmp_path / "home"
    blocker.write_text("a file where a directory should be")
    proc = _run(tmp_path, basic_config("127.0.0.1:1", tmp_path / "t"), fake_fuse[0])
    assert_clean_failure(proc, EXIT_LAUNCH)
    assert "cannot write" in proc.stderr and str(blocker) in proc.stderr


# -- secrets and the hand-run script ---------------------------------------


def test_secret_endpoints_never_leave_the_private_toml(
    tmp_path: Path, dataset: MiniCluster, fake_fuse: tuple[Path, Path]
) -> None:
    fuse_bin, argv_file = fake_fuse
    secrets = tmp_path / "secrets"
    (secrets / "conn").mkdir(parents=True)
    (secrets / "conn" / "endpoints").write_text(dataset.master_endpoints + "\n")
    (secrets / "conn" / "token").write_text("tok-123456")
    doc = basic_config(
        str(secrets / "conn" / "endpoints"),
        tmp_path / "t",
        **{"client.auth_token": str(secrets / "conn" / "token")},
    )
    report = tmp_path / "report.json"
    proc = _run(tmp_path, doc, fuse_bin, "--secrets-dir", secrets, "--report", report)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    home = tmp_path / "home"
    conf = home / "conf" / "curvine-cluster.toml"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    parsed = tomllib.loads(conf.read_text())
    assert parsed["client"]["auth_token"] == "tok-123456"
    port = dataset.master_endpoints.rsplit(":", 1)[1]
    for text in (
        proc.stdout,
        proc.stderr,
        report.read_text(),
        argv_file.read_text(),
        (home / "mount-curvine.sh").read_text(),
    ):
        assert port not in text and "tok-123456" not in text
    assert "master #1" in proc.stdout


def test_mount_script_quotes_every_value(tmp_path: Path, dataset: MiniCluster) -> None:
    fuse_bin, argv_file = recorder(tmp_path)
    canary = tmp_path / "pwned"
    parent = tmp_path / "it's a $(touch pwned) `touch pwned` dir"
    parent.mkdir()
    target = parent / "thin fuse;touch pwned"
    doc = basic_config(dataset.master_endpoints, target, options="allow_other")
    proc = _run(tmp_path, doc, fuse_bin, "--dry-run")
    assert proc.returncode == 0, proc.stdout + proc.stderr

    script = tmp_path / "home" / "mount-curvine.sh"
    assert os.access(script, os.X_OK)
    subprocess.run([str(script)], cwd=tmp_path, check=True, timeout=30)
    argv = argv_file.read_text().splitlines()
    assert argv[argv.index("--mnt-path") + 1] == str(target)
    assert argv[argv.index("--options") + 1] == "allow_other"
    assert not canary.exists()


def test_a_name_that_does_not_resolve(
    tmp_path: Path, fake_fuse: tuple[Path, Path]
) -> None:
    doc = basic_config("curvine-master.invalid:8995", tmp_path / "t")
    proc = _run(tmp_path, doc, fake_fuse[0], timeout=60)
    assert_clean_failure(proc, EXIT_CHECK)
    line = _check_line(proc, "master names resolve")
    assert "FAILED" in line and "curvine-master.invalid:8995" in line
    assert "kubectl get svc" in line
    assert "skipped" in _check_line(proc, "masters accept TCP")


def test_one_master_of_three_down_is_a_warning(
    tmp_path: Path, fake_fuse: tuple[Path, Path]
) -> None:
    with MiniCluster(masters=3, leader=0) as mc:
        with mc.client() as client:
            client.mkdir("/data", exist_ok=True)
        down = mc.master_endpoints.split(",")[2]
        mc.stop_master(2)
        doc = basic_config(mc.master_endpoints, tmp_path / "t")
        proc = _run(tmp_path, doc, fake_fuse[0], "--dry-run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = _check_line(proc, "masters accept TCP")
    assert "warning" in line and "2 of 3 accept connections" in line and down in line
    assert " ok " in _check_line(proc, "a leader answers")


def test_secret_endpoints_stay_hidden_when_checks_fail(
    tmp_path: Path, closed_port: int, fake_fuse: tuple[Path, Path]
) -> None:
    secrets = tmp_path / "secrets"
    (secrets / "conn").mkdir(parents=True)
    (secrets / "conn" / "endpoints").write_text(f"127.0.0.1:{closed_port}")
    doc = basic_config(str(secrets / "conn" / "endpoints"), tmp_path / "t")
    report = tmp_path / "report.json"
    proc = _run(
        tmp_path, doc, fake_fuse[0], "--secrets-dir", secrets, "--report", report
    )
    assert_clean_failure(proc, EXIT_CHECK)
    assert "master #1" in _check_line(proc, "masters accept TCP")
    for text in (proc.stdout, proc.stderr, report.read_text()):
        assert str(closed_port) not in text


def test_a_malformed_secret_endpoint_is_named_by_position(
    tmp_path: Path, fake_fuse: tuple[Path, Path]
) -> None:
    secrets = tmp_path / "secrets"
    (secrets / "conn").mkdir(parents=True)
    (secrets / "conn" / "endpoints").write_text("hidden-a:8995,hidden-b:notaport")
    doc = basic_config(str(secrets / "conn" / "endpoints"), tmp_path / "t")
    proc = _run(tmp_path, doc, fake_fuse[0], "--secrets-dir", secrets)
    assert_clean_failure(proc, EXIT_CONFIG)
    assert "entry 2: the port is not a number" in proc.stderr
    assert "hidden" not in proc.stderr + proc.stdout
    assert "notaport" not in proc.stderr + proc.stdout
