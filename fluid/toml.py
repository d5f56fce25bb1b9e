"""curvine-cluster.toml for the FUSE client, rendered with tomli-w and written
atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import tomli_w

from fluid.config import Settings
from fluid.errors import LaunchError
from fluid.secrets import file_mode

TOML_NAME = "curvine-cluster.toml"


def conf_path(curvine_home: Path) -> Path:
    return curvine_home / "conf" / TOML_NAME


def render(settings: Settings) -> dict[str, Any]:
    """The TOML document as a dict: [master], [client] and [fuse]."""
    first = settings.endpoints.endpoints[0]
    client: dict[str, Any] = dict(settings.client_toml)
    client["master_addrs"] = [
        {"hostname": e.host, "port": e.port} for e in settings.endpoints.endpoints
    ]
    fuse: dict[str, Any] = {
        "mnt_path": settings.target_path,
        "fs_path": settings.fs_path,
        "mnt_number": settings.mnt_number,
        "io_threads": settings.io_threads,
        "worker_threads": settings.worker_threads,
    }
    fuse.update(settings.fuse_toml)
    return {
        "master": {
            "hostname": first.host,
            "rpc_port": first.port,
            "web_port": settings.master_web_port,
        },
        "client": client,
        "fuse": fuse,
    }


def write_atomic(
    path: Path, data: bytes, private: bool, mode: int | None = None
) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    The temporary file gets its final mode before any byte is written, so a
    secret is never readable by others, not even for a moment.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise LaunchError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), file_mode(private) if mode is None else mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise LaunchError(f"cannot write {path}: {exc.strerror}") from None

    # The rename is durable only once the directory entry is on disk.
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def write(settings: Settings, curvine_home: Path) -> Path:
    """Render and write the TOML under ``<curvine home>/conf/``; return its path."""
    path = conf_path(curvine_home)
    data = tomli_w.dumps(render(settings)).encode("utf-8")
    write_atomic(path, data, private=settings.has_secrets)
    return path
