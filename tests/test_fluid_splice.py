"""The splice pipe size check: curvine-fuse's zero-copy splice needs pipes
larger than a default node's fs.pipe-max-size allows."""

from __future__ import annotations

import fcntl
import json
import os
import tomllib
from pathlib import Path

import pytest
from test_fluid_support import basic_config, recorder, run_fluid, write_config

from curvine_py.testing import MiniCluster
from fluid import toml
from fluid.checks import (
    CAP_SYS_RESOURCE,
    PIPE_MAX_SIZE,
    CheckResult,
    Checks,
    has_capability,
    kernel_pipe_size,
    splice_pipe_request,
)
from fluid.config import Settings, load

PAGE = 4096
# What curvine-fuse asks for on 4 KiB pages, and what the kernel makes of it.
REQUEST = 256 * PAGE + 4096
NEED = 2 * 1024 * 1024
LINUX_DEFAULT = 1024 * 1024


def _status(directory: Path, cap_sys_resource: bool) -> Path:
    """A /proc/self/status with every capability but maybe CAP_SYS_RESOURCE."""
    mask = (1 << 41) - 1
    if not cap_sys_resource:
        mask &= ~(1 << CAP_SYS_RESOURCE)
    path = directory / "status"
    path.write_text(f"Name:\tpython3\nCapPrm:\t{mask:016x}\nCapEff:\t{mask:016x}\n")
    return path


def _settings(directory: Path, **options: str) -> Settings:
    doc = basic_config("127.0.0.1:1", directory / "mnt" / "t", **options)
    return load(write_config(directory, doc), {})


def _prepare(
    directory: Path,
    limit: int | str | None,
    options: dict[str, str] | None = None,
    cap: bool = False,
) -> tuple[CheckResult, Settings, Checks]:
    pipe_max = directory / "pipe-max-size"
    if limit is not None:
        pipe_max.write_text(f"{limit}\n")
    results: list[CheckResult] = []
    checks = Checks(
        _settings(directory, **(options or {})),
        Path("/bin/true"),
        results.append,
        pipe_max_size=pipe_max,
        proc_status=_status(directory, cap),
        page_size=PAGE,
    )
    settings = checks.prepare()
    assert [r.name for r in results] == ["splice pipe size"]
    return results[0], settings, checks


def test_the_request_and_its_kernel_rounding() -> None:
    assert splice_pipe_request(None, PAGE) == REQUEST
    assert kernel_pipe_size(REQUEST, PAGE) == NEED
    # A larger readahead than the FUSE buffer makes the buffer, and the pipe, larger.
    assert splice_pipe_request(4096, PAGE) == 4096 * 1024 + 4096
    assert kernel_pipe_size(4096 * 1024 + 4096, PAGE) == 8 * 1024 * 1024
    assert splice_pipe_request(512, PAGE) == REQUEST
    # 64 KiB pages (some arm64 kernels): 256 of them and the header.
    assert splice_pipe_request(None, 65536) == 16 * 1024 * 1024 + 4096
    assert kernel_pipe_size(16 * 1024 * 1024 + 4096, 65536) == 32 * 1024 * 1024
    assert kernel_pipe_size(100, PAGE) == PAGE
    assert kernel_pipe_size(2**31 + 1, PAGE) is None


def test_the_rounding_is_the_kernels() -> None:
    limit = int(PIPE_MAX_SIZE.read_text())
    page = os.sysconf("SC_PAGE_SIZE")
    asked = limit // 2 + 1
    reader, writer = os.pipe()
    try:
        got = fcntl.fcntl(writer, fcntl.F_SETPIPE_SZ, asked)
    finally:
        os.close(reader)
        os.close(writer)
    assert got == kernel_pipe_size(asked, page)


def test_splice_left_unset_is_turned_off_on_a_default_node(tmp_path: Path) -> None:
    result, settings, checks = _prepare(tmp_path, LINUX_DEFAULT)

    assert result.status == "warning", result
    assert f"need {NEED} bytes" in result.detail
    assert f"asks for {REQUEST}" in result.detail
    assert "wrote enable_splice = false to [fuse]" in result.detail
    assert f"fs.pipe-max-size on the node to at least {NEED}" in result.fix
    assert result.fix.startswith("to get splice back")
    assert settings.fuse_toml["enable_splice"] is False
    assert toml.render(settings)["fuse"]["enable_splice"] is False
    assert checks.splice == {
        "enabled": False,
        "set": False,
        "request_bytes": REQUEST,
        "pipe_bytes": NEED,
        "pipe_max_size": LINUX_DEFAULT,
    }


def test_splice_asked_for_fails_with_the_fix(tmp_path: Path) -> None:
    result, settings, _ = _prepare(
        tmp_path, LINUX_DEFAULT, {"fuse.enable_splice": "true"}
    )

    assert result.status == "failed", result
    assert "fuse.enable_splice is true" in result.detail
    assert f"sysctl -w fs.pipe-max-size={NEED}" in result.fix
    assert 'fuse.enable_splice: "false"' in result.fix
    assert settings.fuse_toml["enable_splice"] is True


def test_a_node_with_room_keeps_splice(tmp_path: Path) -> None:
    result, settings, _ = _prepare(tmp_path, NEED)

    assert result.status == "ok", result
    assert f"need {NEED} bytes" in result.detail
    assert "enable_splice" not in settings.fuse_toml
    # The kernel compares the rounded size: one byte short of it is too little.
    assert _prepare(tmp_path, NEED - 1)[0].status == "warning"


def test_cap_sys_resource_lifts_the_limit(tmp_path: Path) -> None:
    result, settings, _ = _prepare(
        tmp_path, LINUX_DEFAULT, {"fuse.enable_splice": "yes"}, cap=True
    )

    assert result.status == "ok", result
    assert "CAP_SYS_RESOURCE" in result.detail
    assert settings.fuse_toml["enable_splice"] is True


def test_splice_turned_off_needs_no_pipe(tmp_path: Path) -> None:
    result, settings, _ = _prepare(tmp_path, None, {"fuse.enable_splice": "off"})

    assert result.status == "ok", result
    assert "splice is off" in result.detail
    assert settings.fuse_toml["enable_splice"] is False


def test_max_readahead_sets_the_pipe_size(tmp_path: Path) -> None:
    options = {"fuse.max_readahead_kb": "4096"}
    assert _prepare(tmp_path, 4 * 1024 * 1024, options)[0].status == "warning"
    result, settings, _ = _prepare(tmp_path, 8 * 1024 * 1024, options)
    assert result.status == "ok", result
    assert "enable_splice" not in settings.fuse_toml


def test_a_readahead_beyond_any_pipe_fails_when_splice_is_asked_for(
    tmp_path: Path,
) -> None:
    options = {"fuse.max_readahead_kb": str(4 * 1024 * 1024)}
    result, _, _ = _prepare(tmp_path, 2**31, options)
    assert result.status == "warning" and "2 GiB" in result.detail
    result, _, _ = _prepare(tmp_path, 2**31, {**options, "fuse.enable_splice": "1"})
    assert result.status == "failed" and "lower fuse.max_readahead_kb" in result.fix


@pytest.mark.parametrize("content", [None, "many\n"])
def test_an_unreadable_limit_is_a_warning_that_changes_nothing(
    tmp_path: Path, content: str | None
) -> None:
    result, settings, _ = _prepare(tmp_path, content)

    assert result.status == "warning", result
    assert "were not checked" in result.detail
    assert "enable_splice" not in settings.fuse_toml


def test_the_cli_turns_splice_off_on_a_default_node(
    tmp_path: Path, cluster: MiniCluster
) -> None:
    fuse_bin, argv_file = recorder(tmp_path)
    (tmp_path / "mnt").mkdir()
    limit = tmp_path / "pipe-max-size"
    limit.write_text(f"{LINUX_DEFAULT}\n")
    report = tmp_path / "report.json"
    home = tmp_path / "home"
    doc = basic_config(
        cluster.master_endpoints, tmp_path / "mnt" / "t", mount_point="curvine:///"
    )
    env = {"CURVINE_FLUID_PIPE_MAX_SIZE_FILE": str(limit)}

    proc = run_fluid(
        "--config",
        write_config(tmp_path, doc),
        "--curvine-home",
        home,
        "--fuse-bin",
        fuse_bin,
        "--parent-wait",
        "0",
        "--check-timeout",
        "3",
        "--dry-run",
        "--report",
        report,
        env=env,
    )

    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("check ")]
    assert lines[0].startswith("check splice pipe size"), proc.stdout
    conf = tomllib.loads((home / "conf" / "curvine-cluster.toml").read_text())
    data = json.loads(report.read_text())
    check = data["checks"][0]
    assert check["name"] == "splice pipe size"
    assert not argv_file.exists()
    # The FUSE client inherits this process's capabilities.
    if has_capability(CAP_SYS_RESOURCE):
        assert " ok " in lines[0] and "CAP_SYS_RESOURCE" in lines[0]
        assert "enable_splice" not in conf["fuse"]
        assert data["splice"]["enabled"] is True
    else:
        assert " warning " in lines[0], lines[0]
        assert "-- fix: to get splice back, raise fs.pipe-max-size" in lines[0]
        assert conf["fuse"]["enable_splice"] is False
        assert check["status"] == "warning"
        page = os.sysconf("SC_PAGE_SIZE")
        request = splice_pipe_request(None, page)
        need = kernel_pipe_size(request, page)
        assert f"to at least {need} " in check["fix"]
        assert data["splice"] == {
            "enabled": False,
            "set": False,
            "request_bytes": request,
            "pipe_bytes": need,
            "pipe_max_size": LINUX_DEFAULT,
        }
