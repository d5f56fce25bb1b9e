"""The one place where a native status becomes a Python exception.

Every libcurvine call returns a status: 0 on success, a positive Curvine error
kind when a server refused the request, or a negative code raised by the
client itself. :func:`check` turns a failed status into an ``OSError``
subclass with the matching ``errno`` (``FileNotFoundError``,
``FileExistsError``, ``NotADirectoryError``, ``IsADirectoryError``,
``PermissionError``, ``TimeoutError``, ``ConnectionError``...), or into a
:class:`CurvineError` for the kinds with no POSIX meaning. Bad arguments that
only libcurvine can judge become ``ValueError``.

Each raised exception carries ``kind`` (the Curvine kind, or libcurvine's
negative code) and ``kind_name``; ``filename`` / ``filename2`` are the paths
involved, and the message is libcurvine's, which names the path and the
master or worker that answered.
"""

from __future__ import annotations

import errno
import io
import logging
from collections.abc import Sequence
from typing import Any, NamedTuple

from curvine_py._native import ffi, lib

__all__ = ["CurvineError", "check", "from_status", "kind_name"]

_log = logging.getLogger("curvine_py")


class CurvineError(OSError):
    """A Curvine failure with no closer builtin ``OSError`` subclass.

    ``kind`` and ``kind_name`` tell Curvine's error kind (for example
    ``Raft`` or ``NoAvailableWorker``); ``errno`` is the nearest POSIX code.
    """

    kind: int
    kind_name: str


class _Kind(NamedTuple):
    name: str
    errno: int
    cls: type[Exception] | None = None


# Curvine's error kinds as numbered on the wire, with the POSIX code each one
# means to a caller. ``cls`` is set where the class is not the one OSError
# picks for the errno by itself.
_SERVER_KINDS: dict[int, _Kind] = {
    1: _Kind("IO", errno.EIO),
    2: _Kind("NotLeaderMaster", errno.EHOSTUNREACH, ConnectionError),
    3: _Kind("Raft", errno.EIO),
    4: _Kind("Timeout", errno.ETIMEDOUT),
    5: _Kind("PBDecode", errno.EPROTO),
    6: _Kind("PBEncode", errno.EPROTO),
    7: _Kind("FileAlreadyExists", errno.EEXIST),
    8: _Kind("FileNotFound", errno.ENOENT),
    9: _Kind("InvalidFileSize", errno.EFBIG),
    10: _Kind("ParentNotDir", errno.ENOTDIR),
    11: _Kind("DirNotEmpty", errno.ENOTEMPTY),
    12: _Kind("AbnormalData", errno.EIO),
    13: _Kind("BlockIsWriting", errno.EBUSY),
    14: _Kind("BlockInfo", errno.EIO),
    15: _Kind("Lease", errno.EBUSY),
    16: _Kind("InvalidPath", errno.EINVAL),
    17: _Kind("DiskOutOfSpace", errno.ENOSPC),
    18: _Kind("InProgress", errno.EBUSY),
    19: _Kind("Unsupported", errno.EOPNOTSUPP, io.UnsupportedOperation),
    20: _Kind("Ufs", errno.EIO),
    21: _Kind("Expired", errno.EIO),
    22: _Kind("UnsupportedUfsRead", errno.EOPNOTSUPP, io.UnsupportedOperation),
    23: _Kind("JobNotFound", errno.ENOENT, CurvineError),
    24: _Kind("Pipeline", errno.EIO),
    25: _Kind("MinReplicasNotMet", errno.EIO),
    26: _Kind("IsADirectory", errno.EISDIR),
    27: _Kind("NotADirectory", errno.ENOTDIR),
    28: _Kind("InvalidArgument", errno.EINVAL),
    29: _Kind("BlockNotFound", errno.EIO),
    30: _Kind("ReadOnly", errno.EROFS),
    31: _Kind("NoAvailableWorker", errno.EIO),
    32: _Kind("NoLocalPath", errno.EIO),
    33: _Kind("TransferFailed", errno.EIO),
    34: _Kind("TransferNotFound", errno.ENOENT, CurvineError),
    35: _Kind("TransferConflict", errno.EBUSY),
    36: _Kind("TransferUnsupported", errno.EOPNOTSUPP, io.UnsupportedOperation),
    10000: _Kind("Common", errno.EIO),
}

# libcurvine's own codes (CV_ERR_* in curvine.h).
_CLIENT_KINDS: dict[int, _Kind] = {
    -1: _Kind("InvalidArgument", errno.EINVAL, ValueError),
    -2: _Kind("Unavailable", errno.EHOSTUNREACH, ConnectionError),
    -3: _Kind("Timeout", errno.ETIMEDOUT),
    -4: _Kind("Protocol", errno.EPROTO),
    -5: _Kind("LocalIO", errno.EIO),
    -6: _Kind("Unsupported", errno.EOPNOTSUPP, io.UnsupportedOperation),
    -7: _Kind("UnknownOption", errno.EINVAL, ValueError),
    -99: _Kind("Internal", errno.EIO),
}

# Kinds whose failure is about reaching the masters: their message must name
# every endpoint that was tried.
_MASTER_SEARCH_KINDS = frozenset({2, -2, -3})

# Generic kinds that may wrap a local permission failure (a short-circuit
# block file, an under-file-system refusal), recognisable only by the text.
_GENERIC_KINDS = frozenset({1, 20, 10000, -5})
_PERMISSION_MARKS = ("permission denied", "os error 13")


def _about_workers(text: str) -> bool:
    """Whether a failure to reach something names workers, not the masters."""
    lowered = text.lower()
    return "worker " in lowered or "replica" in lowered


def kind_name(code: int) -> str:
    """Name a native status code: ``"FileNotFound"``, ``"Timeout"``..."""
    known = _SERVER_KINDS.get(code) or _CLIENT_KINDS.get(code)
    return known.name if known else f"Unknown({code})"


def from_status(
    code: int,
    message: str,
    path: str | None = None,
    path2: str | None = None,
    masters: Sequence[str] = (),
) -> Exception:
    """Build the exception for a failed native status ``code``."""
    table, fallback = (_SERVER_KINDS, 10000) if code > 0 else (_CLIENT_KINDS, -99)
    known = table.get(code, table[fallback])
    name = kind_name(code)
    text = message.strip() or name
    errno_value, cls = known.errno, known.cls

    if code in _GENERIC_KINDS and any(m in text.lower() for m in _PERMISSION_MARKS):
        errno_value, cls = errno.EACCES, None

    if code in _MASTER_SEARCH_KINDS and masters and not _about_workers(text):
        missing = [m for m in masters if m not in text]
        if missing:
            text = f"{text} (masters tried: {', '.join(masters)})"

    exc: Exception
    if cls is not None and issubclass(cls, ValueError) and not issubclass(cls, OSError):
        exc = cls(f"{text}: {path!r}" if path and path not in text else text)
    else:
        if cls is None:
            picked = type(OSError(errno_value, text))
            cls = CurvineError if picked is OSError else picked
        args: tuple[Any, ...] = (errno_value, text)
        if path is not None:
            args += (path, None, path2) if path2 is not None else (path,)
        exc = cls(*args)

    # Every exception for a native status carries the kind, whatever its class.
    exc.kind = code  # type: ignore[attr-defined]
    exc.kind_name = name  # type: ignore[attr-defined]
    return exc


def last_error_message() -> str:
    """The message libcurvine kept for the last failed call on this thread."""
    raw = lib.cv_last_error_message()
    if raw == ffi.NULL:
        return ""
    text: str = ffi.string(raw).decode("utf-8", "replace")
    return text


def check(
    status: int,
    path: str | None = None,
    path2: str | None = None,
    masters: Sequence[str] = (),
) -> None:
    """Raise the exception for ``status`` unless it is success (0).

    ``path`` and ``path2`` are the paths the call was about; ``masters`` the
    endpoints of the client, named in the message when no master answered.
    """
    if status == 0:
        return
    detail = lib.cv_last_error_detail()
    if detail != ffi.NULL and (raw := ffi.string(detail)):
        _log.debug("server's own text: %s", raw.decode("utf-8", "replace"))
    raise from_status(status, last_error_message(), path, path2, masters)
