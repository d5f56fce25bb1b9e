"""Curvine as an fsspec filesystem: ``curvine://`` URLs for pandas, pyarrow...

>>> import fsspec
>>> fs = fsspec.filesystem("curvine", masters="10.0.0.1:8995,10.0.0.2:8995")
>>> fs.ls("/data")

or, with the masters in the URL,
``pandas.read_parquet("curvine://10.0.0.1:8995,10.0.0.2:8995/data/x.parquet")``.

Needs the ``fsspec`` extra (``pip install curvine-py[fsspec]``). Importing
this module registers the ``curvine`` protocol with fsspec.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from fsspec import register_implementation  # type: ignore[import-untyped]
from fsspec.spec import AbstractFileSystem  # type: ignore[import-untyped]

from curvine_py.client import Client, FileStatus, connect

__all__ = ["CurvineFileSystem"]


def _entry(status: FileStatus) -> dict[str, Any]:
    kind = "directory" if status.is_dir else "link" if status.is_symlink else "file"
    return {
        "name": status.path,
        "size": status.size,
        "type": kind,
        "mtime": status.mtime,
        "atime": status.atime,
        "mode": status.mode,
        "owner": status.owner,
        "group": status.group,
        "replicas": status.replicas,
        "block_size": status.block_size,
        "islink": status.is_symlink,
        "destination": status.target,
        "complete": status.is_complete,
    }


class CurvineFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """fsspec's interface over a :class:`curvine_py.Client`.

    Parameters
    ----------
    masters, conf, timeout, options
        As for :func:`curvine_py.connect`. ``masters`` may also come from the
        URL's authority: ``curvine://host:port,host:port/path``.
    """

    protocol = "curvine"
    root_marker = "/"

    def __init__(
        self,
        masters: str | list[str] | None = None,
        conf: str | os.PathLike[str] | None = None,
        timeout: float | None = 10.0,
        options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.client: Client = connect(
            masters=masters, conf=conf, timeout=timeout, options=options
        )

    @classmethod
    def _strip_protocol(cls, path: str | list[str]) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        if path.startswith("curvine://"):
            path = urlsplit(path).path
        path = "/" + path.lstrip("/")
        return path.rstrip("/") or "/"

    @staticmethod
    def _get_kwargs_from_urls(path: str) -> dict[str, Any]:
        authority = urlsplit(path).netloc if path.startswith("curvine://") else ""
        return {"masters": authority} if authority else {}

    def unstrip_protocol(self, name: str) -> str:
        """The ``curvine://`` URL of a path (the masters stay in the options)."""
        return f"curvine://{self._strip_protocol(name)}"

    # -- listing and status ----------------------------------------------

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """The entries of a directory, or the file itself for a file."""
        path = self._strip_protocol(path)
        status = self.client.stat(path)
        entries = [status] if not status.is_dir else list(self.client.iterdir(path))
        if detail:
            return [_entry(e) for e in entries]
        return [e.path for e in entries]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """The status of one path as fsspec describes it."""
        return _entry(self.client.stat(self._strip_protocol(path)))

    def exists(self, path: str, **kwargs: Any) -> bool:
        """Whether ``path`` exists."""
        return self.client.exists(self._strip_protocol(path))

    def modified(self, path: str) -> Any:
        """The modification time as a datetime (UTC)."""
        mtime = self.client.stat(self._strip_protocol(path)).mtime
        return datetime.fromtimestamp(mtime, tz=UTC)

    # -- namespace changes -------------------------------------------------

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Create a directory (and its parents with ``create_parents``)."""
        path = self._strip_protocol(path)
        self.client.mkdir(path, parents=create_parents)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Create a directory and its parents."""
        self.client.mkdir(self._strip_protocol(path), parents=True, exist_ok=exist_ok)

    def rmdir(self, path: str) -> None:
        """Remove an empty directory."""
        path = self._strip_protocol(path)
        if not self.client.stat(path).is_dir:
            raise NotADirectoryError(20, "not a directory", path)
        self.client.remove(path)

    def rm_file(self, path: str) -> None:
        """Remove a file or a symlink (or an empty directory)."""
        self.client.remove(self._strip_protocol(path))

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def rm(
        self,
        path: str | list[str],
        recursive: bool = False,
        maxdepth: int | None = None,
    ) -> None:
        """Remove paths; ``recursive`` removes directories with what they hold."""
        paths = path if isinstance(path, list) else [path]
        if recursive and maxdepth is None:
            for item in paths:
                self.client.remove(self._strip_protocol(item), recursive=True)
            return
        super().rm(path, recursive=recursive, maxdepth=maxdepth)

    def mv(
        self,
        path1: str,
        path2: str,
        recursive: bool = False,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Rename ``path1`` to ``path2`` on the master (no data is copied)."""
        self.client.rename(self._strip_protocol(path1), self._strip_protocol(path2))

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Copy a file through this process, a buffer at a time."""
        source, target = self._strip_protocol(path1), self._strip_protocol(path2)
        with (
            self.client.open(source, "rb", buffering=0) as src,
            self.client.open(target, "wb", buffering=0) as out,
        ):
            buffer = bytearray(4 * 1024 * 1024)
            view = memoryview(buffer)
            while n := src.readinto(buffer):
                out.write(view[:n])

    def touch(self, path: str, truncate: bool = True, **kwargs: Any) -> None:
        """Create an empty file, or (without ``truncate``) update its times."""
        path = self._strip_protocol(path)
        if truncate or not self.client.exists(path):
            self.client.write_bytes(path, b"")
        else:
            self.client.utime(path)

    # -- data ----------------------------------------------------------------

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        """The bytes of a file, or of ``[start, end)`` (negative from the end)."""
        path = self._strip_protocol(path)
        if start is None and end is None:
            return self.client.read_bytes(path)
        size = self.client.stat(path).size
        first = 0 if start is None else start if start >= 0 else max(0, size + start)
        last = size if end is None else end if end >= 0 else max(0, size + end)
        if last <= first:
            return b""
        return self.client.pread(path, first, last - first)

    def pipe_file(
        self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any
    ) -> None:
        """Make ``path`` a file holding ``value``."""
        path = self._strip_protocol(path)
        if mode == "create" and self.client.exists(path):
            raise FileExistsError(17, "file exists", path)
        self.client.write_bytes(path, value)

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        if not autocommit:
            raise NotImplementedError(
                "curvine:// files are published when closed; autocommit=False "
                "(transactions) is not supported"
            )
        buffering = block_size if block_size and block_size > 1 else -1
        return self.client.open(
            self._strip_protocol(path),
            mode,
            buffering=buffering,
            block_size=kwargs.get("curvine_block_size"),
            replicas=kwargs.get("replicas"),
        )


register_implementation("curvine", CurvineFileSystem, clobber=True)
