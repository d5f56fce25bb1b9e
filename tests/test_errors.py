"""How native failures become Python exceptions."""

from __future__ import annotations

import errno
import io

import pytest

from curvine_py import errors
from curvine_py._native import lib
from curvine_py.client import Client
from curvine_py.errors import CurvineError, from_status

POSIX_KINDS = [
    (lib.CV_KIND_FILE_NOT_FOUND, FileNotFoundError, errno.ENOENT),
    (lib.CV_KIND_FILE_ALREADY_EXISTS, FileExistsError, errno.EEXIST),
    (lib.CV_KIND_PARENT_NOT_DIR, NotADirectoryError, errno.ENOTDIR),
    (lib.CV_KIND_NOT_A_DIRECTORY, NotADirectoryError, errno.ENOTDIR),
    (lib.CV_KIND_IS_A_DIRECTORY, IsADirectoryError, errno.EISDIR),
    (lib.CV_KIND_DIR_NOT_EMPTY, OSError, errno.ENOTEMPTY),
    (4, TimeoutError, errno.ETIMEDOUT),
    (30, OSError, errno.EROFS),
    (17, OSError, errno.ENOSPC),
    (lib.CV_ERR_TIMEOUT, TimeoutError, errno.ETIMEDOUT),
    (lib.CV_ERR_UNAVAILABLE, ConnectionError, errno.EHOSTUNREACH),
    (lib.CV_KIND_NOT_LEADER_MASTER, ConnectionError, errno.EHOSTUNREACH),
]


@pytest.mark.parametrize("kind, cls, code", POSIX_KINDS)
def test_posix_kinds_keep_their_errno(kind: int, cls: type, code: int) -> None:
    exc = from_status(kind, "some message about /p", "/p")

    assert isinstance(exc, cls)
    assert isinstance(exc, OSError)
    assert exc.errno == code
    assert exc.filename == "/p"
    assert exc.kind == kind  # type: ignore[attr-defined]
    assert "some message about /p" in str(exc)


def test_two_paths_are_kept() -> None:
    exc = from_status(lib.CV_KIND_FILE_ALREADY_EXISTS, "exists", "/src", "/dst")

    assert isinstance(exc, FileExistsError)
    assert (exc.filename, exc.filename2) == ("/src", "/dst")


@pytest.mark.parametrize("kind", [3, 12, 24, 29, 31, lib.CV_KIND_COMMON, 4242])
def test_kinds_without_posix_meaning_are_curvine_errors(kind: int) -> None:
    exc = from_status(kind, "raft is unhappy", "/p")

    assert type(exc) is CurvineError
    assert exc.errno == errno.EIO
    assert exc.kind == kind
    assert exc.kind_name == errors.kind_name(kind)


def test_unsupported_is_io_unsupported_operation() -> None:
    exc = from_status(19, "append is not supported by this server", "/f")

    assert isinstance(exc, io.UnsupportedOperation)
    assert exc.errno == errno.EOPNOTSUPP


@pytest.mark.parametrize(
    "code", [lib.CV_ERR_INVALID_ARGUMENT, lib.CV_ERR_UNKNOWN_OPTION]
)
def test_bad_arguments_are_value_errors(code: int) -> None:
    exc = from_status(code, "master_addrs: bad endpoint 'x'")

    assert isinstance(exc, ValueError)
    assert "bad endpoint 'x'" in str(exc)


def test_permission_text_in_a_generic_error_is_permission_error() -> None:
    exc = from_status(
        lib.CV_ERR_IO, "open /data/blk_1: Permission denied (os error 13)"
    )

    assert isinstance(exc, PermissionError)
    assert exc.errno == errno.EACCES


def test_master_search_failure_names_every_master() -> None:
    masters = ["10.0.0.1:8995", "10.0.0.2:8995"]
    exc = from_status(lib.CV_ERR_UNAVAILABLE, "10.0.0.1:8995: refused", masters=masters)

    for endpoint in masters:
        assert endpoint in str(exc)


def test_kind_names() -> None:
    assert errors.kind_name(8) == "FileNotFound"
    assert errors.kind_name(11) == "DirNotEmpty"
    assert errors.kind_name(lib.CV_ERR_TIMEOUT) == "Timeout"
    assert errors.kind_name(77) == "Unknown(77)"


def test_real_not_found_carries_kind_and_master(client: Client, root: str) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        client.stat(f"{root}/gone")

    exc = caught.value
    assert exc.kind == lib.CV_KIND_FILE_NOT_FOUND  # type: ignore[attr-defined]
    assert exc.kind_name == "FileNotFound"  # type: ignore[attr-defined]
    assert f"{root}/gone" in str(exc)
    assert any(m in str(exc) for m in client.masters), str(exc)


def test_real_exists_error_is_not_swallowed(client: Client, root: str) -> None:
    with pytest.raises(FileExistsError) as caught:
        client.mkdir(root)

    assert caught.value.errno == errno.EEXIST
    assert caught.value.kind == lib.CV_KIND_FILE_ALREADY_EXISTS  # type: ignore[attr-defined]
