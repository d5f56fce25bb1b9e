"""curvine_py.Client against a real mini cluster over real sockets."""

from __future__ import annotations

import errno
import pickle
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path, PurePosixPath

import pytest

import curvine_py
from curvine_py.client import Client, FileStatus, parse_masters
from curvine_py.testing import MiniCluster


def test_info_reports_leader_capacity_and_workers(
    cluster: MiniCluster, client: Client
) -> None:
    info = client.info()

    assert info.leader == cluster.leader
    assert info.active_master
    assert info.cluster_id is None
    assert info.capacity > 0
    assert 0 <= info.available <= info.capacity
    assert len(info.live_workers) == len(cluster.workers) == 1
    assert info.lost_workers == []
    worker = info.live_workers[0]
    assert worker.address == cluster.workers[0]
    assert worker.capacity > 0
    assert 0 <= worker.available <= worker.capacity
    assert worker.hostname


def test_stat_root_is_a_directory(client: Client) -> None:
    st = client.stat("/")

    assert isinstance(st, FileStatus)
    assert st.path == "/"
    assert st.is_dir and not st.is_file and not st.is_symlink
    assert stat.S_ISDIR(st.mode)
    assert st.size == 0


def test_mkdir_then_stat(client: Client, root: str) -> None:
    before = time.time()
    client.mkdir(f"{root}/made", mode=0o750)
    st = client.stat(f"{root}/made")

    assert st.path == f"{root}/made"
    assert st.name == "made"
    assert st.is_dir and stat.S_ISDIR(st.mode)
    assert stat.S_IMODE(st.mode) == st.permissions == 0o750
    assert st.id > 0
    # Seconds, not milliseconds: close to this machine's clock.
    assert abs(st.mtime - before) < 600
    assert abs(st.atime - before) < 600


def test_exists(client: Client, root: str) -> None:
    assert client.exists(root)
    assert client.exists("/")
    assert not client.exists(f"{root}/nothing")
    assert not client.exists(f"{root}/nothing/below")


def test_listdir_names_every_entry(client: Client, root: str) -> None:
    names = ["a", "b b", "c-3", "ünï"]
    for name in names:
        client.mkdir(f"{root}/{name}")

    assert sorted(client.listdir(root)) == sorted(names)
    assert sorted(e.name for e in client.ls(root)) == sorted(names)
    assert all(e.is_dir for e in client.ls(root))
    assert client.listdir(f"{root}/a") == []
    assert root.lstrip("/") in client.listdir("/")


def test_listdir_missing_is_file_not_found(client: Client, root: str) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        client.listdir(f"{root}/missing")
    assert caught.value.errno == errno.ENOENT
    assert caught.value.filename == f"{root}/missing"


def test_stat_missing_names_the_path(client: Client, root: str) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        client.stat(f"{root}/missing")

    assert caught.value.errno == errno.ENOENT
    assert caught.value.filename == f"{root}/missing"
    assert f"{root}/missing" in str(caught.value)


def test_mkdir_existing_is_file_exists(client: Client, root: str) -> None:
    client.mkdir(f"{root}/d")

    with pytest.raises(FileExistsError) as caught:
        client.mkdir(f"{root}/d")
    assert caught.value.errno == errno.EEXIST
    with pytest.raises(FileExistsError):
        client.mkdir(f"{root}/d", parents=True)

    client.mkdir(f"{root}/d", exist_ok=True)
    client.mkdir(f"{root}/d", parents=True, exist_ok=True)
    assert client.stat(f"{root}/d").is_dir


def test_mkdir_without_parent_is_file_not_found(client: Client, root: str) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        client.mkdir(f"{root}/no/such/parent")

    assert caught.value.errno == errno.ENOENT
    assert caught.value.filename == f"{root}/no/such/parent"
    assert not client.exists(f"{root}/no")


def test_mkdir_parents_makes_the_chain(client: Client, root: str) -> None:
    client.mkdir(f"{root}/x/y/z", parents=True)

    for path in (f"{root}/x", f"{root}/x/y", f"{root}/x/y/z"):
        assert client.stat(path).is_dir
    assert client.listdir(f"{root}/x") == ["y"]


def test_paths_accept_pathlike_and_trailing_slash(client: Client, root: str) -> None:
    client.mkdir(PurePosixPath(root) / "p")

    assert client.stat(PurePosixPath(root) / "p").name == "p"
    assert client.stat(f"{root}/p/").path == f"{root}/p"
    assert client.exists(Path(root) / "p")


@pytest.mark.parametrize("bad", ["relative", "", "./x", "a/b"])
def test_relative_paths_are_refused(client: Client, bad: str) -> None:
    with pytest.raises(ValueError, match="absolute"):
        client.stat(bad)
    with pytest.raises(ValueError, match="absolute"):
        client.mkdir(bad)


def test_bytes_paths_are_refused(client: Client) -> None:
    with pytest.raises(TypeError, match="str"):
        client.stat(b"/bytes")  # type: ignore[arg-type]


def test_close_is_idempotent_and_final(cluster: MiniCluster) -> None:
    c = cluster.client()
    assert c.exists("/")

    c.close()
    c.close()
    assert c.closed
    with pytest.raises(ValueError, match="closed"):
        c.stat("/")


def test_context_manager_closes(cluster: MiniCluster) -> None:
    with curvine_py.connect(masters=cluster.master_endpoints) as c:
        assert c.stat("/").is_dir
    assert c.closed
    with pytest.raises(ValueError, match="closed"):
        c.listdir("/")


def test_connect_takes_a_list(cluster: MiniCluster) -> None:
    with curvine_py.connect(masters=list(cluster.masters)) as c:
        assert c.info().leader == cluster.leader
        assert c.masters == tuple(cluster.masters)


def test_connect_needs_masters_or_conf() -> None:
    with pytest.raises(ValueError, match="masters=.*conf="):
        curvine_py.connect()


@pytest.mark.parametrize(
    "masters, token",
    [
        ("host", "host"),
        ("host:", "host:"),
        (":8995", ":8995"),
        ("host:port", "host:port"),
        ("host:70000", "host:70000"),
        ("host:0", "host:0"),
        ("127.0.0.1:8995,bad", "bad"),
        ("::1:8995", "::1:8995"),
        ("[::1]8995", "[::1]8995"),
    ],
)
def test_bad_endpoints_name_the_token(masters: str, token: str) -> None:
    with pytest.raises(ValueError) as caught:
        curvine_py.connect(masters=masters)
    assert repr(token) in str(caught.value)


@pytest.mark.parametrize("masters", ["", " ", "a:1,,b:2", ",a:1", []])
def test_empty_endpoints_are_refused(masters: str | list[str]) -> None:
    with pytest.raises(ValueError, match="endpoint"):
        curvine_py.connect(masters=masters)


def test_parse_masters_normalises() -> None:
    assert parse_masters(" a:1 , b:02,[::1]:3,a:1") == ["a:1", "b:2", "[::1]:3"]
    assert parse_masters(["h:9"]) == ["h:9"]


def test_bad_timeout_is_refused(cluster: MiniCluster) -> None:
    with pytest.raises(ValueError, match="timeout"):
        cluster.client(timeout=0)


def test_unknown_option_is_refused(cluster: MiniCluster) -> None:
    with pytest.raises(ValueError, match="no_such_option"):
        cluster.client(options={"no_such_option": "1"})


def test_unreachable_masters_fail_within_the_timeout(closed_port: int) -> None:
    masters = [f"127.0.0.1:{closed_port}", f"localhost:{closed_port}"]
    started = time.monotonic()

    with (
        curvine_py.connect(masters=masters, timeout=2.0) as c,
        pytest.raises((ConnectionError, TimeoutError)) as caught,
    ):
        c.info()

    elapsed = time.monotonic() - started
    assert elapsed < 2.0 + 8.0, f"took {elapsed:.1f} s for a 2 s timeout"
    for endpoint in masters:
        assert endpoint in str(caught.value)


def test_conf_file_gives_masters_and_cluster_id(
    cluster: MiniCluster, tmp_path: Path
) -> None:
    entries = "".join(
        f'[[client.master_addrs]]\nhostname = "{m.rsplit(":", 1)[0]}"\n'
        f"port = {m.rsplit(':', 1)[1]}\n\n"
        for m in cluster.masters
    )
    conf = tmp_path / "curvine-cluster.toml"
    conf.write_text(
        'cluster_id = "demo-cluster"\n\n'
        "[client]\n"
        "rpc_timeout_ms = 20000\n"
        "metric_report_enable = false\n"
        'block_size = "64MB"\n\n'
        f"{entries}"
    )

    with curvine_py.connect(conf=conf) as c:
        info = c.info()
        assert info.cluster_id == "demo-cluster"
        assert info.leader == cluster.leader
        assert c.masters == tuple(cluster.masters)


def test_conf_without_masters_is_refused(tmp_path: Path) -> None:
    conf = tmp_path / "curvine-cluster.toml"
    conf.write_text('cluster_id = "x"\n[client]\nrpc_timeout_ms = 1000\n')

    with pytest.raises(ValueError, match="master_addrs"):
        curvine_py.connect(conf=conf)


def test_conf_that_is_not_toml_names_the_file(tmp_path: Path) -> None:
    conf = tmp_path / "broken.toml"
    conf.write_text("[client\n")

    with pytest.raises(ValueError, match="broken.toml"):
        curvine_py.connect(conf=conf)


def test_masters_override_conf(
    cluster: MiniCluster, tmp_path: Path, closed_port: int
) -> None:
    conf = tmp_path / "curvine-cluster.toml"
    conf.write_text(
        f'[[client.master_addrs]]\nhostname = "127.0.0.1"\nport = {closed_port}\n'
    )

    with curvine_py.connect(masters=cluster.master_endpoints, conf=conf) as c:
        assert c.info().leader == cluster.leader


def test_second_of_three_masters_is_found_as_leader() -> None:
    with MiniCluster(masters=3, leader=1) as mc, mc.client() as c:
        assert mc.leader == mc.masters[1]

        assert c.info().leader == mc.masters[1]
        c.mkdir("/from-the-leader")
        assert c.exists("/from-the-leader")


def test_leader_switch_while_connected() -> None:
    with MiniCluster(masters=3, leader=0) as mc, mc.client() as c:
        c.mkdir("/before")
        assert c.info().leader == mc.masters[0]

        mc.set_leader(2)
        assert c.info().leader == mc.masters[2]
        c.mkdir("/after")
        assert c.exists("/before") and c.exists("/after")

        mc.stop_master(2)
        mc.set_leader(1)
        assert c.info().leader == mc.masters[1]
        assert sorted(c.listdir("/")) == ["after", "before"]
        mc.start_master(2)


def test_a_pickled_client_reconnects(cluster: MiniCluster, client: Client) -> None:
    copy = pickle.loads(pickle.dumps(client))
    try:
        assert copy is not client
        assert copy.masters == client.masters
        assert copy.info().leader == cluster.leader
    finally:
        copy.close()


def test_missing_native_part_says_how_to_build() -> None:
    code = (
        "import sys\n"
        "sys.modules['curvine_py._libcurvine'] = None\n"
        "import curvine_py\n"
        "try:\n"
        "    curvine_py.connect('h:1')\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout

    assert "libcurvine" in out
    assert "maturin develop" in out


def test_a_waiting_native_call_lets_other_threads_run() -> None:
    # A master that takes connections and never answers: the call waits for
    # its whole timeout inside libcurvine.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        endpoint = f"127.0.0.1:{silent.getsockname()[1]}"
        done = threading.Event()
        failures: list[BaseException] = []

        def call(c: Client) -> None:
            try:
                c.info()
            except (ConnectionError, TimeoutError) as exc:
                failures.append(exc)
            finally:
                done.set()

        with curvine_py.connect(masters=endpoint, timeout=1.5) as c:
            waiter = threading.Thread(target=call, args=(c,))
            waiter.start()
            time.sleep(0.1)
            spins = 0
            while not done.is_set():
                spins += 1
            waiter.join()

    # Had the call held the GIL, this thread could not have run meanwhile.
    assert spins > 10_000
    assert len(failures) == 1
    assert endpoint in str(failures[0])


def test_close_while_a_call_waits_lets_it_finish() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        c = curvine_py.connect(
            masters=f"127.0.0.1:{silent.getsockname()[1]}", timeout=1.0
        )
        outcome: list[BaseException] = []

        def call() -> None:
            try:
                c.info()
            except (ConnectionError, TimeoutError) as exc:
                outcome.append(exc)

        waiter = threading.Thread(target=call)
        waiter.start()
        time.sleep(0.2)
        c.close()
        assert c.closed
        with pytest.raises(ValueError, match="closed"):
            c.exists("/")
        waiter.join()

    # The waiting call ended with its own error, not with a freed client.
    assert len(outcome) == 1


def test_mount_table_round_trip(client: Client, root: str) -> None:
    point = f"{root}/bucket"
    client.mount(point, "s3://bucket/prefix", {"s3.endpoint": "http://s3", "k": "v"})

    mounts = {m.cv_path: m for m in client.mounts()}
    assert point in mounts
    entry = mounts[point]
    assert entry.ufs_path == "s3://bucket/prefix"
    assert not entry.read_write
    assert entry.properties == {"s3.endpoint": "http://s3", "k": "v"}
    # Properties may carry credentials: they stay out of the repr.
    assert "http://s3" not in repr(entry)
    assert client.stat(point).is_dir

    inodes, freed = client.free(point, recursive=True)
    assert inodes >= 0 and freed >= 0

    client.unmount(point)
    assert point not in {m.cv_path for m in client.mounts()}
    with pytest.raises(OSError, match="bucket"):
        client.unmount(point)
    with pytest.raises(ValueError, match="URI"):
        client.mount(point, "not-a-uri")
