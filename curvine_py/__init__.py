"""curvine-py: reach a Curvine cluster from Python.

``curvine_py.connect(...)`` returns a :class:`~curvine_py.client.Client`.
The native part is loaded on first use of the client, so that
``curvine_py.testing`` works from a checkout where it is not built yet.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Client",
    "CurvineError",
    "FileStatus",
    "FsInfo",
    "MountInfo",
    "WorkerInfo",
    "__version__",
    "connect",
]

_CLIENT_NAMES = {"Client", "FileStatus", "FsInfo", "MountInfo", "WorkerInfo", "connect"}

# CURVINE_PY_LOG=DEBUG (or INFO...) shows this package's log on stderr even
# where the application configures no logging.
_logger = logging.getLogger("curvine_py")
_level = os.environ.get("CURVINE_PY_LOG", "").upper()
if _level in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    _logger.setLevel(_level)
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    _logger.addHandler(_handler)

if TYPE_CHECKING:
    from curvine_py.client import (
        Client,
        FileStatus,
        FsInfo,
        MountInfo,
        WorkerInfo,
        connect,
    )
    from curvine_py.errors import CurvineError


def __getattr__(name: str) -> Any:
    if name in _CLIENT_NAMES:
        from curvine_py import client

        return getattr(client, name)
    if name == "CurvineError":
        from curvine_py.errors import CurvineError

        return CurvineError
    raise AttributeError(f"module 'curvine_py' has no attribute {name!r}")
