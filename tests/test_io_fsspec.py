"""curvine:// through fsspec, against a real mini cluster."""

from __future__ import annotations

import io
import subprocess
import sys
import uuid
from typing import Any

import fsspec  # type: ignore[import-untyped]
import pytest

import curvine_py.spec  # noqa: F401  (registers the protocol)
from curvine_py.testing import MiniCluster


@pytest.fixture(scope="module")
def cfs(cluster: MiniCluster) -> Any:
    return fsspec.filesystem("curvine", masters=cluster.master_endpoints)


@pytest.fixture
def top(cfs: Any) -> str:
    path = f"/fss-{uuid.uuid4().hex[:10]}"
    cfs.mkdir(path)
    return path


def test_pipe_cat_and_ranges(cfs: Any, top: str) -> None:
    cfs.pipe_file(f"{top}/f", b"0123456789")

    assert cfs.cat_file(f"{top}/f") == b"0123456789"
    assert cfs.cat_file(f"{top}/f", start=2, end=5) == b"234"
    assert cfs.cat_file(f"{top}/f", start=-3) == b"789"
    assert cfs.cat_file(f"{top}/f", start=8, end=100) == b"89"
    assert cfs.cat_file(f"{top}/f", start=20) == b""
    assert cfs.cat(f"curvine://{top}/f") == b"0123456789"


def test_info_ls_find_and_du(cfs: Any, top: str) -> None:
    cfs.makedirs(f"{top}/a/b")
    cfs.pipe_file(f"{top}/a/x", b"xx")
    cfs.pipe_file(f"{top}/a/b/y", b"yyy")

    info = cfs.info(f"{top}/a/x")
    assert (info["name"], info["size"], info["type"]) == (f"{top}/a/x", 2, "file")
    assert cfs.info(f"{top}/a")["type"] == "directory"
    assert sorted(cfs.ls(f"{top}/a", detail=False)) == [f"{top}/a/b", f"{top}/a/x"]
    assert cfs.ls(f"{top}/a/x", detail=False) == [f"{top}/a/x"]
    assert sorted(cfs.find(top)) == [f"{top}/a/b/y", f"{top}/a/x"]
    assert cfs.du(top) == 5
    assert cfs.isdir(f"{top}/a") and cfs.isfile(f"{top}/a/x")
    assert sorted(cfs.glob(f"{top}/a/*")) == [f"{top}/a/b", f"{top}/a/x"]
    assert cfs.modified(f"{top}/a/x").tzinfo is not None
    with pytest.raises(FileNotFoundError):
        cfs.info(f"{top}/missing")


def test_open_binary_and_text(cfs: Any, top: str) -> None:
    with cfs.open(f"{top}/b.bin", "wb") as out:
        out.write(b"\x00\x01" * 1000)
    with cfs.open(f"{top}/b.bin", "rb") as src:
        assert isinstance(src, io.BufferedReader)
        src.seek(1998)
        assert src.read() == b"\x00\x01"

    with cfs.open(f"{top}/t.txt", "w") as text:
        text.write("línea\n")
    with cfs.open(f"{top}/t.txt", "r") as text_in:
        assert text_in.read() == "línea\n"


def test_urls_carry_the_masters(cluster: MiniCluster, cfs: Any, top: str) -> None:
    cfs.pipe_file(f"{top}/u", b"by url")
    url = f"curvine://{cluster.master_endpoints}{top}/u"

    with fsspec.open(url, "rb") as src:
        assert src.read() == b"by url"
    fs, path = fsspec.core.url_to_fs(url)
    assert path == f"{top}/u"
    assert fs.client.masters == tuple(cluster.masters)


def test_mv_cp_rm(cfs: Any, top: str) -> None:
    cfs.pipe_file(f"{top}/one", b"1" * 300_000)

    cfs.cp_file(f"{top}/one", f"{top}/two")
    assert cfs.cat_file(f"{top}/two") == b"1" * 300_000
    cfs.mv(f"{top}/two", f"{top}/three")
    assert not cfs.exists(f"{top}/two")
    assert cfs.exists(f"{top}/three")

    cfs.makedirs(f"{top}/d/e")
    cfs.pipe_file(f"{top}/d/e/f", b"f")
    with pytest.raises(OSError):
        cfs.rmdir(f"{top}/d")
    cfs.rm(f"{top}/d", recursive=True)
    assert not cfs.exists(f"{top}/d")
    cfs.rm_file(f"{top}/one")
    assert cfs.ls(top, detail=False) == [f"{top}/three"]

    cfs.touch(f"{top}/empty")
    assert cfs.cat_file(f"{top}/empty") == b""


def test_the_protocol_is_found_without_importing_curvine_py() -> None:
    code = (
        "import sys, fsspec\n"
        "cls = fsspec.get_filesystem_class('curvine')\n"
        "print(cls.__module__, cls.__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout

    assert out.split() == ["curvine_py.spec", "CurvineFileSystem"]
