"""The FUSE client's command line, ``mount-curvine.sh``, and the exec."""

from __future__ import annotations

import errno
import logging
import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from fluid import options as opts
from fluid.config import Settings
from fluid.errors import LaunchError
from fluid.toml import write_atomic

log = logging.getLogger("fluid")

SCRIPT_NAME = "mount-curvine.sh"


def default_fuse_bin(curvine_home: Path) -> Path:
    return curvine_home / "lib" / "curvine-fuse"


def _flag_args(name: str, value: opts.Value) -> list[str]:
    if opts.FUSE_FLAGS[name].kind == "switch":
        return [f"--{name}"] if value is True else []
    if isinstance(value, bool):
        return [f"--{name}", "true" if value else "false"]
    if isinstance(value, list):
        return [f"--{name}", ",".join(str(v) for v in value)]
    return [f"--{name}", str(value)]


def command(settings: Settings, fuse_bin: Path, conf: Path) -> list[str]:
    """The argv of the FUSE client; it holds no secret (those are in the TOML)."""
    argv = [
        str(fuse_bin),
        "--mnt-path",
        settings.target_path,
        "--mnt-number",
        str(settings.mnt_number),
        "--conf",
        str(conf),
        "--io-threads",
        str(settings.io_threads),
        "--worker-threads",
        str(settings.worker_threads),
    ]
    for name, value in settings.fuse_flags:
        argv.extend(_flag_args(name, value))
    return argv


def script_text(argv: list[str], curvine_home: Path, conf: Path) -> str:
    """A shell script running ``argv``; every value is quoted for the shell."""
    lines = [
        "#!/bin/sh",
        "# Written by curvine-fluid: starts the same FUSE client by hand.",
        "set -eu",
        f"export CURVINE_HOME={shlex.quote(str(curvine_home))}",
        f"export CURVINE_CONF_FILE={shlex.quote(str(conf))}",
        "exec " + " ".join(shlex.quote(arg) for arg in argv),
        "",
    ]
    return "\n".join(lines)


def write_script(argv: list[str], curvine_home: Path, conf: Path) -> Path:
    path = curvine_home / SCRIPT_NAME
    text = script_text(argv, curvine_home, conf)
    # surrogateescape gives back the bytes of a path that is not UTF-8.
    write_atomic(
        path, text.encode("utf-8", "surrogateescape"), private=False, mode=0o755
    )
    return path


def child_env(
    curvine_home: Path, conf: Path, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    base = dict(os.environ if env is None else env)
    base["CURVINE_HOME"] = str(curvine_home)
    base["CURVINE_CONF_FILE"] = str(conf)
    return base


def execute(argv: list[str], env: dict[str, str]) -> None:
    """Replace this process with the FUSE client; return only by raising."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # what was not printed is in the report
    try:
        os.execve(argv[0], argv, env)
    except OSError as exc:
        raise LaunchError(
            f"cannot start the FUSE client {argv[0]}: {exc.strerror}"
            + _exec_fix(exc.errno)
        ) from None


def _exec_fix(errno_value: int | None) -> str:
    if errno_value == errno.ENOENT:
        return "; install curvine-fuse there or pass --fuse-bin"
    if errno_value == errno.EACCES:
        return "; make it executable (chmod +x) on a filesystem mounted with exec"
    if errno_value == errno.ENOEXEC:
        return "; it is not a program for this machine (wrong architecture?)"
    return ""
