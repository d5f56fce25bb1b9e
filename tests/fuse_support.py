"""Helpers shared by the tests that make real FUSE mounts (no tests of its own)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

MOUNT_WAIT_S = 30.0


def fuse_unusable_reason() -> str | None:
    """Why no FUSE mount can be made here, or None when one can."""
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
    except OSError as exc:
        return f"/dev/fuse is not usable here: {exc.strerror}"
    os.close(fd)
    if shutil.which("fusermount3") is None:
        return "fusermount3 is not installed (Debian package fuse3)"
    try:
        import mfusepy  # type: ignore[import-untyped]  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"mfusepy cannot load libfuse3: {exc}"
    return None


def fuse_marks() -> list[pytest.MarkDecorator]:
    """The marks of a module of FUSE tests: ``fuse``, skipped where FUSE is not."""
    reason = fuse_unusable_reason()
    return [
        pytest.mark.fuse,
        pytest.mark.skipif(reason is not None, reason=reason or ""),
    ]


def wait_mounted(
    target: Path,
    proc: subprocess.Popen[Any],
    ready: Callable[[Path], bool] = os.path.ismount,
) -> None:
    """Wait until ``ready(target)``; fail the test if ``proc`` exits first."""
    deadline = time.monotonic() + MOUNT_WAIT_S
    while time.monotonic() < deadline:
        if ready(target):
            return
        if proc.poll() is not None:
            out, err = (
                t.decode(errors="replace") if isinstance(t, bytes) else t or ""
                for t in proc.communicate()
            )
            pytest.fail(
                f"exited {proc.returncode} before {target} was mounted:\n{out}\n{err}"
            )
        time.sleep(0.05)
    pytest.fail(f"{target} was not mounted within {MOUNT_WAIT_S} s")
