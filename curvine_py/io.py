"""File objects over libcurvine's readers and writers.

:class:`RawFile` is an ``io.RawIOBase``: one native call per ``readinto``
(straight into the caller's buffer) or ``write``. ``Client.open`` stacks the
standard ``io.BufferedReader`` / ``io.BufferedWriter`` and, for text modes,
``io.TextIOWrapper`` on top of it.

Curvine files are written once, front to back: a file is open for reading or
for writing, never both, and a writer can only append.
"""

from __future__ import annotations

import codecs
import errno
import io
import logging
import operator
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, cast

from curvine_py import errors
from curvine_py._native import ffi, lib, require

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from curvine_py.client import Client

__all__ = [
    "DEFAULT_BUFFER_SIZE",
    "BufferedReader",
    "BufferedWriter",
    "RawFile",
    "TextWriter",
    "open_file",
    "parse_mode",
]

log = logging.getLogger("curvine_py")

# Each native call carries this much at least when buffered: large enough
# that the boundary and the network round trip are paid rarely.
DEFAULT_BUFFER_SIZE = 1024 * 1024

# A buffer is allocated whole when a file is opened; larger is a mistake.
MAX_BUFFER_SIZE = 1024 * 1024 * 1024

Kind = Literal["r", "w", "a", "x"]


def parse_mode(mode: str) -> tuple[Kind, bool]:
    """Split an ``open()`` mode into its kind (r, w, a, x) and whether binary."""
    if not isinstance(mode, str):
        raise TypeError(f"mode must be str, got {mode!r}")
    kinds = [c for c in mode if c in "rwax"]
    rest = set(mode) - set("rwaxbt")
    if "+" in rest:
        raise ValueError(
            f"mode {mode!r}: '+' is not supported: a Curvine file is open for "
            "reading or for writing, not both"
        )
    if (
        rest
        or len(kinds) != 1
        or len(set(mode)) != len(mode)
        or ("b" in mode and "t" in mode)
    ):
        raise ValueError(
            f"invalid mode {mode!r}: want one of r, w, a, x, optionally with b or t"
        )
    return kinds[0], "b" in mode  # type: ignore[return-value]


# The largest values the native calls take (int64_t offsets, int32_t counts).
_MAX_OFFSET = 2**63 - 1
_MAX_REPLICAS = 99


def whole_number(value: object, what: str) -> int:
    """``value`` as an int, or a TypeError naming it (bools and floats refused)."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an int, got {value!r}")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{what} must be an int, got {value!r}") from None


def _whole(buffer: Buffer, writable: bool = False) -> Any:
    """The bytes of ``buffer`` as a C array, shared, not copied.

    A buffer that is not contiguous is copied for a write, refused for a read.
    """
    try:
        view = memoryview(buffer)
    except TypeError:
        raise TypeError(
            f"a bytes-like object is needed, got {type(buffer).__name__}"
        ) from None
    if writable and view.readonly:
        raise TypeError(
            f"readinto needs a writable buffer, got {type(buffer).__name__}"
        )
    if not view.c_contiguous:
        if writable:
            raise TypeError(
                "readinto needs a C-contiguous buffer, got a non-contiguous "
                f"{type(buffer).__name__} (strides {view.strides})"
            )
        view = memoryview(view.tobytes())
    return ffi.from_buffer("uint8_t[]", view, require_writable=writable)


def check_layout(block_size: object, replicas: object) -> tuple[int, int]:
    """Validate ``block_size`` and ``replicas`` of a new file (0 = default)."""
    size = 0 if block_size is None else whole_number(block_size, "block_size")
    count = 0 if replicas is None else whole_number(replicas, "replicas")
    if block_size is not None and not 0 < size <= _MAX_OFFSET:
        raise ValueError(
            f"block_size must be a positive byte count below 2**63, got {size}"
        )
    if replicas is not None and not 0 < count <= _MAX_REPLICAS:
        raise ValueError(f"replicas must be from 1 to {_MAX_REPLICAS}, got {count}")
    return size, count


class RawFile(io.RawIOBase):
    """An unbuffered Curvine file: a native reader or a native writer.

    Reads are positional (``pread`` underneath), so ``seek`` is free and
    reading at or past the end returns ``b""``. A writer appends only:
    ``tell`` works, ``seek`` elsewhere does not. ``close`` on a writer makes
    the file complete and visible with its full length.
    """

    def __init__(
        self,
        client: Client,
        path: str,
        kind: Kind = "r",
        block_size: int | None = None,
        replicas: int | None = None,
    ) -> None:
        super().__init__()
        self.name = path
        self.mode = f"{kind}b"
        self._client = client
        self._kind = kind
        self._pos = 0
        self._size = 0
        self._failed = False
        self._handle: Any = None
        self._pid = os.getpid()
        self._idle = threading.Condition()
        self._inflight = 0
        self._closing = False
        if kind == "r":
            self._open_reader()
        else:
            self._open_writer(block_size, replicas)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # A writer whose block raised is abandoned, not completed.
        if exc_type is not None and self._kind != "r":
            self.abort()
        else:
            self.close()

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return f"<curvine_py.RawFile {self.name!r} mode={self.mode!r}{state}>"

    def __reduce__(self) -> Any:
        raise TypeError(
            f"cannot pickle the open file {self.name!r}: pass its path and "
            "open it again in the other process"
        )

    # -- native handles ----------------------------------------------------

    def _open_reader(self) -> None:
        out = ffi.new("cv_reader **")
        with self._client._native() as native:
            self._check(require("cv_reader_open")(native, _encode(self.name), out))
        self._handle = ffi.gc(out[0], require("cv_reader_close"))
        self._size = int(require("cv_reader_len")(self._handle))

    def _open_writer(self, block_size: int | None, replicas: int | None) -> None:
        size, count = check_layout(block_size, replicas)
        flags = {"w": lib.CV_WRITE_OVERWRITE, "x": 0, "a": lib.CV_WRITE_APPEND}
        out = ffi.new("cv_writer **")
        with self._client._native() as native:
            self._check(
                require("cv_writer_open")(
                    native,
                    _encode(self.name),
                    flags[self._kind],
                    size,
                    count,
                    out,
                )
            )
        self._handle = ffi.gc(out[0], require("cv_writer_abort"))
        self._pos = int(require("cv_writer_pos")(self._handle))

    def _check(self, status: int) -> None:
        errors.check(status, self.name, masters=self._client.masters)

    @contextmanager
    def _live(self) -> Iterator[Any]:
        """Lend the native handle of this process for one call.

        A close from another thread waits for the calls in flight, so that
        no handle is freed while a native call still uses it.
        """
        if self._pid != os.getpid():
            self._after_fork()
        with self._idle:
            if self.closed or self._closing:
                raise ValueError(f"I/O operation on closed file {self.name!r}")
            if self._handle is None:
                raise OSError(
                    errno.EBADF,
                    "a file open for writing cannot be used after fork(); "
                    "open it again in the child",
                    self.name,
                )
            self._inflight += 1
            handle = self._handle
        try:
            yield handle
        finally:
            with self._idle:
                self._inflight -= 1
                self._idle.notify_all()

    def _take_handle(self) -> Any:
        """Mark the file closing and return its handle once no call uses it."""
        with self._idle:
            if self._closing:
                return None
            self._closing = True
            self._idle.wait_for(lambda: self._inflight == 0)
            handle, self._handle = self._handle, None
            return handle

    def _forget_parent(self) -> None:
        # The handle and its sockets belong to the parent: leave them alone.
        if self._handle is not None:
            ffi.gc(self._handle, None)
        self._handle = None
        self._pid = os.getpid()
        # A parent's thread may have held the condition, or been in a call,
        # at fork time.
        self._idle = threading.Condition()
        self._inflight = 0

    def _after_fork(self) -> None:
        # A reader is opened again for this process; a writer cannot be.
        self._forget_parent()
        if self._kind == "r" and not (self.closed or self._closing):
            log.debug("process %d reopens %s after fork", self._pid, self.name)
            self._open_reader()

    # -- io.RawIOBase --------------------------------------------------------

    def readable(self) -> bool:
        """True for a file opened for reading."""
        self._checkClosed()
        return self._kind == "r"

    def writable(self) -> bool:
        """True for a file opened for writing."""
        self._checkClosed()
        return self._kind != "r"

    def seekable(self) -> bool:
        """True for a reader; a writer only appends."""
        self._checkClosed()
        return self._kind == "r"

    @property
    def size(self) -> int:
        """The length of the file: fixed for a reader, growing for a writer."""
        return self._size if self._kind == "r" else self._pos

    def tell(self) -> int:
        """The current position."""
        self._checkClosed()
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move the read position; past the end is allowed (reads give b"")."""
        self._checkClosed()
        offset = whole_number(offset, "seek offset")
        if whence == os.SEEK_SET:
            target = offset
        elif whence == os.SEEK_CUR:
            target = self._pos + offset
        elif whence == os.SEEK_END:
            target = self.size + offset
        else:
            raise ValueError(f"whence must be 0, 1 or 2, got {whence}")
        if target == self._pos:
            return self._pos
        if self._kind != "r":
            raise io.UnsupportedOperation(
                f"{self.name}: a file open for writing cannot seek"
            )
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        self._pos = target
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes from the current position (all with -1)."""
        if size is None:
            return self.readall()
        size = whole_number(size, "read size")
        if size < 0:
            return self.readall()
        data = self.pread(size, self._pos)
        self._pos += len(data)
        return data

    def readinto(self, buffer: Buffer) -> int:
        """Read into ``buffer`` from the current position; 0 at the end."""
        got = self.preadinto(buffer, self._pos)
        self._pos += got
        return got

    def preadinto(self, buffer: Buffer, offset: int) -> int:
        """Read into ``buffer`` from ``offset`` without moving the position.

        Like ``os.preadv``: safe from several threads at once on one reader.
        """
        offset = whole_number(offset, "read offset")
        self._checkClosed()
        if self._kind != "r":
            raise io.UnsupportedOperation(f"{self.name}: not open for reading")
        if offset < 0:
            raise ValueError(f"negative read offset {offset}")
        target = _whole(buffer, writable=True)
        wanted = min(len(target), self._size - offset)
        if wanted <= 0:
            return 0

        done = ffi.new("size_t *")
        with self._live() as handle:
            status = require("cv_reader_pread")(handle, offset, target, wanted, done)
        self._check(status)
        return int(done[0])

    def pread(self, size: int, offset: int) -> bytes:
        """Up to ``size`` bytes from ``offset`` (like ``os.pread``); b"" past the end."""
        size = whole_number(size, "read size")
        offset = whole_number(offset, "read offset")
        if size < 0:
            raise ValueError(f"negative read size {size}")
        self._checkClosed()
        if self._kind != "r":
            raise io.UnsupportedOperation(f"{self.name}: not open for reading")
        data = bytearray(max(0, min(size, self._size - offset)))
        got = self.preadinto(data, offset) if data else 0
        return bytes(data) if got == len(data) else bytes(data[:got])

    def readall(self) -> bytes:
        """Read to the end in one native call."""
        self._checkClosed()
        remaining = self._size - self._pos
        if remaining <= 0:
            return b""
        data = bytearray(remaining)
        view = memoryview(data)
        got = 0
        while got < remaining:
            n = self.readinto(view[got:])
            if not n:
                break
            got += n
        return bytes(view[:got])

    def write(self, data: Buffer) -> int:
        """Append all of ``data`` (one native call) and return its length."""
        self._checkClosed()
        if self._kind == "r":
            raise io.UnsupportedOperation(f"{self.name}: not open for writing")
        source = _whole(data)
        if not len(source):
            return 0
        with self._live() as handle:
            status = require("cv_writer_write")(handle, source, len(source))
        if status:
            # A writer that failed can only be given up: close() aborts it.
            self._failed = True
            self._check(status)
        self._pos += len(source)
        return len(source)

    def abort(self) -> None:
        """Give up a writer: cancel its streams; the file is not completed."""
        if self.closed:
            return
        if self._pid != os.getpid():
            self._forget_parent()
        handle = self._take_handle()
        if handle is not None:
            ffi.release(handle)
        super().close()

    def close(self) -> None:
        """Close the file; for a writer, complete it. Safe to call twice.

        A writer whose write failed is abandoned, and its close raises
        OSError(EIO) once, so the failure is not mistaken for success.
        """
        if self.closed or self._closing:
            return
        if self._pid != os.getpid():
            self._forget_parent()
        handle = self._take_handle()
        try:
            if handle is None:
                pass
            elif self._kind == "r":
                ffi.release(handle)
            elif self._failed:
                ffi.release(handle)
                raise OSError(
                    errno.EIO,
                    "file not completed: an earlier write to it failed, so it "
                    "was abandoned (write it again)",
                    self.name,
                )
            else:
                # Completing consumes the writer whatever the outcome.
                ffi.gc(handle, None)
                self._check(require("cv_writer_close")(handle))
        finally:
            super().close()


class _AbortOnError:
    """Leaves a file unfinished when its ``with`` block raises.

    A writer closed after an exception would publish whatever part of the
    data had been written as a complete file; aborting keeps it marked
    incomplete, so that no reader mistakes it for the whole.
    """

    def _raw(self) -> RawFile:
        raise NotImplementedError

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()  # type: ignore[attr-defined]
        else:
            self._raw().abort()


class BufferedReader(io.BufferedReader):
    """``io.BufferedReader`` whose ``read(n)`` allocates no more than is left."""

    def _capped(self, size: int | None) -> int | None:
        if size is None:
            return None
        size = whole_number(size, "read size")
        if size > 0:
            left = cast(RawFile, self.raw).size - self.tell()
            size = max(0, min(size, left))
        return size

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all with -1 or None)."""
        return super().read(self._capped(size))

    def read1(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes with at most one native call."""
        capped = self._capped(size)
        return super().read1(-1 if capped is None else capped)


class BufferedWriter(_AbortOnError, io.BufferedWriter):
    """``io.BufferedWriter`` that abandons the file when its block raises."""

    def _raw(self) -> RawFile:
        return cast(RawFile, self.raw)


class TextWriter(_AbortOnError, io.TextIOWrapper):
    """``io.TextIOWrapper`` for writing that abandons the file on error."""

    def _raw(self) -> RawFile:
        return cast(RawFile, self.buffer.raw)  # type: ignore[attr-defined]


def _encode(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def open_file(
    client: Client,
    path: str,
    mode: str = "rb",
    buffering: int = -1,
    block_size: int | None = None,
    replicas: int | None = None,
    encoding: str | None = None,
    errors_: str | None = None,
    newline: str | None = None,
) -> Any:
    """Open ``path``; see ``Client.open``."""
    kind, binary = parse_mode(mode)
    buffering = whole_number(buffering, "buffering")
    if binary and (encoding is not None or errors_ is not None or newline is not None):
        raise ValueError("binary mode takes no encoding, errors or newline")
    if buffering == 0 and not binary:
        raise ValueError("text mode needs buffering (buffering=0 is binary only)")
    if buffering == 1 and binary:
        raise ValueError("line buffering (buffering=1) is for text mode")
    if buffering > MAX_BUFFER_SIZE:
        raise ValueError(
            f"buffering must be at most {MAX_BUFFER_SIZE} bytes, got {buffering}"
        )
    check_layout(block_size, replicas)
    if kind == "r" and (block_size is not None or replicas is not None):
        raise ValueError("block_size and replicas apply to files opened for writing")
    if not binary:
        _check_text_options(encoding, errors_, newline)

    raw = RawFile(client, path, kind, block_size, replicas)
    if buffering == 0:
        return raw

    size = buffering if buffering > 1 else DEFAULT_BUFFER_SIZE
    buffered: io.BufferedIOBase
    if kind == "r":
        buffered = BufferedReader(raw, buffer_size=size)
    else:
        buffered = BufferedWriter(raw, buffer_size=size)
    if binary:
        return buffered

    wrapper = io.TextIOWrapper if kind == "r" else TextWriter
    text = wrapper(
        buffered,
        encoding=encoding or "utf-8",
        errors=errors_,
        newline=newline,
        line_buffering=buffering == 1,
    )
    text.mode = mode  # type: ignore[misc]
    return text


def _check_text_options(
    encoding: str | None, errors_: str | None, newline: str | None
) -> None:
    """Refuse a bad text option before any file is opened or replaced."""
    for value, what in ((encoding, "encoding"), (errors_, "errors")):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{what} must be str or None, got {value!r}")
    try:
        codecs.lookup(encoding or "utf-8")
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r}") from None
    if errors_ is not None:
        try:
            codecs.lookup_error(errors_)
        except LookupError:
            raise ValueError(f"unknown error handler {errors_!r}") from None
    if newline not in (None, "", "\n", "\r", "\r\n"):
        raise ValueError(
            f"newline must be None, '', '\\n', '\\r' or '\\r\\n', got {newline!r}"
        )
