"""Shared fixtures: a mini Curvine cluster per test module, and clients."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from curvine_py.testing import MiniCluster

if TYPE_CHECKING:
    from curvine_py.client import Client


@pytest.fixture(scope="module")
def cluster() -> Iterator[MiniCluster]:
    """One mini cluster (one master, one worker) for the whole module."""
    with MiniCluster() as mc:
        yield mc


@pytest.fixture(scope="module")
def client(cluster: MiniCluster) -> Iterator[Client]:
    """A client of the module's cluster."""
    with cluster.client() as c:
        yield c


@pytest.fixture
def root(client: Client) -> str:
    """A fresh directory of its own for each test."""
    path = f"/t-{uuid.uuid4().hex[:12]}"
    client.mkdir(path)
    return path


@pytest.fixture
def closed_port() -> int:
    """A local TCP port with nothing listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
