"""Careless and hostile arguments, and files shared by threads and closed early."""

from __future__ import annotations

import array
import pickle
import threading

import pytest

import curvine_py
from curvine_py.client import Client
from curvine_py.testing import MiniCluster

DATA = bytes(range(256)) * 64


@pytest.fixture
def data_file(client: Client, root: str) -> str:
    path = f"{root}/f"
    client.write_bytes(path, DATA)
    return path


@pytest.mark.parametrize(
    ("spelling", "suffix"),
    [("//f", "/f"), ("/./f", "/f"), ("/x/../f", "/f"), ("/f/", "/f"), ("/.", "")],
)
def test_paths_are_normalised_by_name(
    client: Client, root: str, data_file: str, spelling: str, suffix: str
) -> None:
    assert client.stat(root + spelling).path == root + suffix


@pytest.mark.parametrize("path", ["/\ud800", "/a\udcffb/\ud83d"])
def test_lone_surrogates_in_paths_are_a_value_error(client: Client, path: str) -> None:
    for call in (client.write_bytes, client.pread):
        with pytest.raises(ValueError, match="not valid UTF-8"):
            call(path, b"x") if call is client.write_bytes else call(path, 0, 1)


@pytest.mark.parametrize(("owner", "group"), [("a\0b", None), (None, "g\0")])
def test_nul_in_owner_or_group_is_refused(
    client: Client, data_file: str, owner: str | None, group: str | None
) -> None:
    with pytest.raises(ValueError, match="NUL"):
        client.chown(data_file, owner, group)


def test_nul_in_symlink_target_is_refused(client: Client, root: str) -> None:
    with pytest.raises(ValueError, match="NUL"):
        client.symlink("/a\0b", f"{root}/ln")
    assert not client.exists(f"{root}/ln")


def test_wrong_types_name_the_value(client: Client, data_file: str) -> None:
    with pytest.raises(TypeError, match="owner must be str, got 5"):
        client.chown(data_file, 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str data"):
        client.write_text(data_file, b"abc")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="offset must be an int, got '1'"):
        client.pread(data_file, "1", 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="length must be an int, got None"):
        client.pread(data_file, 0, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="page_size must be an int"):
        list(client.iterdir("/", page_size="5"))  # type: ignore[arg-type]
    with client.open(data_file, "rb", buffering=0) as raw:
        with pytest.raises(TypeError, match="seek offset must be an int, got 1.5"):
            raw.seek(1.5)  # type: ignore[arg-type]
        assert raw.tell() == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"block_size": 0},
        {"block_size": 2**63},
        {"block_size": 2**64},
        {"replicas": 0},
        {"replicas": 100},
        {"replicas": 2**31},
        {"replicas": 2**64},
    ],
)
def test_layout_out_of_range_is_a_value_error(
    client: Client, root: str, kwargs: dict[str, int]
) -> None:
    for call in (
        lambda: client.write_bytes(f"{root}/w", b"abc", **kwargs),
        lambda: client.open(f"{root}/w", "wb", **kwargs),
    ):
        with pytest.raises(ValueError, match=str(next(iter(kwargs.values())))):
            call()
    assert not client.exists(f"{root}/w")


def test_huge_numbers_are_value_errors(client: Client, data_file: str) -> None:
    with pytest.raises(ValueError, match="atime"):
        client.utime(data_file, (1e30, 0))
    with pytest.raises(ValueError, match="mtime"):
        client.utime(data_file, (0, float("nan")))
    with pytest.raises(ValueError, match="finite"):
        curvine_py.connect("127.0.0.1:1", timeout=float("inf"))
    with pytest.raises(ValueError, match="buffering"):
        client.open(data_file, "rb", buffering=2**40)
    assert len(list(client.iterdir("/", page_size=2**40))) >= 1


@pytest.mark.parametrize("buffering", [-1, 0])
def test_huge_read_sizes_read_what_is_there(
    client: Client, data_file: str, buffering: int
) -> None:
    with client.open(data_file, "rb", buffering=buffering) as f:
        f.seek(10)
        assert f.read(2**62) == DATA[10:]
        assert f.read(2**62) == b""
        if buffering:
            f.seek(5)
            assert DATA[5:].startswith(f.read1(2**62))


def test_huge_text_read_sizes(client: Client, data_file: str) -> None:
    with client.open(data_file, "r", encoding="latin-1", newline="") as f:
        assert f.read(2**62) == DATA.decode("latin-1")


def test_readinto_odd_buffers(client: Client, data_file: str) -> None:
    with client.open(data_file, "rb", buffering=0) as raw:
        with pytest.raises(TypeError, match="C-contiguous"):
            raw.readinto(memoryview(bytearray(10))[::2])
        with pytest.raises(TypeError, match="writable"):
            raw.readinto(memoryview(b"abc"))

        grid = bytearray(12)
        assert raw.readinto(memoryview(grid).cast("B", (3, 4))) == 12
        assert grid == DATA[:12]
        words = array.array("q", [0, 0])
        assert raw.readinto(words) == 16
        assert words.tobytes() == DATA[12:28]


def test_strided_data_is_written_as_its_bytes(client: Client, root: str) -> None:
    client.write_bytes(f"{root}/s", memoryview(b"abcdef")[::2])
    assert client.read_bytes(f"{root}/s") == b"ace"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"encoding": "no-such-codec"}, "unknown encoding"),
        ({"errors": "no-such-handler"}, "unknown error handler"),
        ({"newline": "x"}, "newline"),
    ],
)
def test_bad_text_options_leave_the_file_alone(
    client: Client, data_file: str, options: dict[str, str], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        client.open(data_file, "w", **options)  # type: ignore[arg-type]
    assert client.read_bytes(data_file) == DATA


def test_close_while_other_threads_read(client: Client, data_file: str) -> None:
    raw = client.open(data_file, "rb", buffering=0)
    started, failures = threading.Barrier(5), []

    def reader() -> None:
        started.wait()
        for _ in range(300):
            try:
                if raw.pread(100, 7) != DATA[7:107]:
                    failures.append("wrong data")
            except ValueError:
                return
            except Exception as exc:  # noqa: BLE001 - any other is the bug
                failures.append(repr(exc))
                return

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    started.wait()
    raw.close()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    with pytest.raises(ValueError, match="closed"):
        raw.pread(1, 0)


def test_close_while_other_threads_write(client: Client, root: str) -> None:
    path = f"{root}/w"
    raw = client.open(path, "wb", buffering=0)
    started, failures, written = threading.Barrier(4), [], []

    def writer() -> None:
        started.wait()
        for _ in range(200):
            try:
                raw.write(b"z" * 4096)
            except ValueError:
                return
            except Exception as exc:  # noqa: BLE001 - any other is the bug
                failures.append(repr(exc))
                return
            written.append(4096)

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for thread in threads:
        thread.start()
    started.wait()
    raw.close()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    status = client.stat(path)
    assert status.is_complete
    assert status.size == sum(written)
    assert client.read_bytes(path) == b"z" * status.size


def test_mkdir_of_the_root(client: Client) -> None:
    client.mkdir("/", exist_ok=True)
    client.mkdir("/", parents=True, exist_ok=True)
    client.mkdir("/.", parents=True, exist_ok=True)
    with pytest.raises(FileExistsError):
        client.mkdir("/")


def test_an_open_file_refuses_pickling_by_name(client: Client, data_file: str) -> None:
    raw = client.open(data_file, "rb", buffering=0)
    with raw, pytest.raises(TypeError, match="open it again"):
        pickle.dumps(raw)


@pytest.mark.parametrize("hostname", ["localhost", "remote-host"])
def test_a_write_cut_off_by_a_stopped_worker_never_looks_complete(
    hostname: str,
) -> None:
    options = {"block_size": 256 * 1024, "hostname": "localhost"}
    with (
        MiniCluster(worker_hostname=hostname) as mc,
        mc.client(options=options) as c,
    ):
        raw = c.open("/cut", "wb", buffering=0)
        raw.write(b"a" * 300 * 1024)
        mc.stop_worker(0)
        with pytest.raises(OSError, match="/cut") as failed:
            raw.write(b"b" * 300 * 1024)
        # The worker failed, not the masters: they are not named as tried.
        assert "worker" in str(failed.value)
        assert "masters tried" not in str(failed.value)
        # Closing does not pass the failed file off as written.
        with pytest.raises(OSError, match="not completed"):
            raw.close()
        raw.close()
        status = c.stat("/cut")
        assert not status.is_complete
        assert status.size < 600 * 1024

        mc.start_worker(0)
        with pytest.raises(OSError), c.open("/cut2", "wb") as out:
            out.write(b"c" * 300 * 1024)
            out.flush()
            mc.stop_worker(0)
            out.write(b"d" * 300 * 1024)
        assert not c.stat("/cut2").is_complete


def test_mkdir_with_parents_through_a_file_is_not_a_directory(
    client: Client, data_file: str
) -> None:
    for exist_ok in (False, True):
        with pytest.raises(NotADirectoryError, match=data_file):
            client.mkdir(f"{data_file}/x/y", parents=True, exist_ok=exist_ok)


def test_modes_and_counts_must_be_ints(client: Client, data_file: str) -> None:
    with pytest.raises(TypeError, match="mode must be an int, got '755'"):
        client.chmod(data_file, "755")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="mode must be an int, got 1.5"):
        client.mkdir(f"{data_file}-d", mode=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="replicas must be an int, got '2'"):
        client.set_replicas(data_file, "2")  # type: ignore[arg-type]
