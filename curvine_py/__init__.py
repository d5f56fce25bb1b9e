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

__all__ = ["Client", "FileStatus", "FsInfo", "WorkerInfo", "__version__", "connect"]

_logger = logging.getLogger("curvine_py")
_level = os.environ.get("CURVINE_PY_LOG", "").upper()
if _level in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    _logger.setLevel(_level)

if TYPE_CHECKING:
    from curvine_py.client import Client, FileStatus, FsInfo, WorkerInfo, connect


def __getattr__(name: str) -> Any:
    if name in {"Client", "FileStatus", "FsInfo", "WorkerInfo", "connect"}:
        from curvine_py import client

        return getattr(client, name)
    raise AttributeError(f"module 'curvine_py' has no attribute {name!r}")
