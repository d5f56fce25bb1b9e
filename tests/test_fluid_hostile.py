"""curvine-fluid against careless and hostile input: odd files where config.json
should be, values that do not fit, secrets that must not show, names that never
resolve, and output that cannot be written."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_fluid_support import (
    REPO,
    assert_clean_failure,
    basic_config,
    fluid_args,
    fluid_command,
    recorder,
    run_fluid,
    write_config,
)

from fluid import config, options, toml
from fluid.endpoints import parse_endpoints
from fluid.errors import (
    EXIT_CHECK,
    EXIT_CONFIG,
    EXIT_LAUNCH,
    EXIT_OK,
    EXIT_USAGE,
    ConfigError,
)

HUGE = "1" * 5000


def _load(
    tmp_path: Path, document: Any, secrets_dir: Path | None = None
) -> config.Settings:
    path = write_config(tmp_path, document)
    return config.load(path, {}, secrets_dir=secrets_dir or tmp_path / "secrets")


def _refused(tmp_path: Path, document: Any, **kwargs: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, document, **kwargs)
    return info.value


def _doc(**opts: str) -> dict[str, Any]:
    return basic_config("127.0.0.1:1", Path("/runtime-mnt/t"), **opts)


def _dry(
    tmp_path: Path, cfg: Path, *extra: str | Path, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    script, _ = recorder(tmp_path)
    return run_fluid(
        "--config",
        cfg,
        "--curvine-home",
        tmp_path / "home",
        "--fuse-bin",
        script,
        "--parent-wait",
        "0",
        "--check-timeout",
        "1",
        "--dry-run",
        *extra,
        **kwargs,
    )


# -- what stands where config.json should be --------------------------------


def test_a_fifo_as_config_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    proc = _dry(tmp_path, fifo, timeout=20)
    assert_clean_failure(proc, EXIT_CONFIG)
    assert "not a regular file" in proc.stderr


def test_an_endless_device_as_config_is_refused(tmp_path: Path) -> None:
    proc = _dry(tmp_path, Path("/dev/zero"), timeout=20)
    assert_clean_failure(proc, EXIT_CONFIG)
    assert "not a regular file" in proc.stderr


def test_a_symlinked_config_as_kubelet_projects_it(tmp_path: Path) -> None:
    # A ConfigMap volume holds config.json -> ..data/config.json -> ..<ts>/...
    real = tmp_path / "..2026_01_01" / "config.json"
    real.parent.mkdir()
    real.write_text(json.dumps(_doc()))
    (tmp_path / "..data").symlink_to(real.parent.name)
    link = tmp_path / "config.json"
    link.symlink_to("..data/config.json")
    assert _load(tmp_path, json.dumps(_doc())).fs_path == "/data"
    assert config.read_json(link)["targetPath"] == "/runtime-mnt/t"


def test_a_huge_json_number_is_refused(tmp_path: Path) -> None:
    text = json.dumps(_doc())[:-1] + f', "x": {HUGE}}}'
    error = _refused(tmp_path, text)
    assert "number" in error.message


def test_an_empty_config_argument_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_fluid("--config", "", "--dry-run", timeout=20)
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert "--config" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "field",
    ["targetPath", "mountPoint", "option", "key"],
)
def test_unpaired_surrogates_are_refused_naming_the_field(
    tmp_path: Path, field: str
) -> None:
    doc = _doc()
    mount = doc["mounts"][0]
    if field == "targetPath":
        doc["targetPath"] = "/runtime-mnt/t\ud800"
    elif field == "mountPoint":
        mount["mountPoint"] = "curvine:///d\ud800"
    elif field == "option":
        mount["options"]["fuse.state_dir"] = "/x\udc80"
    else:
        mount["options"]["fuse.x\ud800"] = "1"
    # json.dumps writes them as \ud800 escapes, the way a careless writer could.
    error = _refused(tmp_path, json.dumps(doc))
    assert "surrogate" in error.message
    wanted = {
        "targetPath": "targetPath",
        "mountPoint": "mounts[0].mountPoint",
        "option": "mounts[0].options.fuse.state_dir",
        "key": "mounts[0].options",
    }[field]
    assert error.field.startswith(wanted), error.field


@pytest.mark.parametrize(
    "value, words",
    [
        (None, "null"),
        ({"a": 1}, "object"),
        ([1], "array"),
        (1.5, "number"),
    ],
)
def test_value_types_are_named_as_json_names_them(
    tmp_path: Path, value: object, words: str
) -> None:
    doc = _doc()
    doc["mounts"][0]["options"]["io-threads"] = value
    error = _refused(tmp_path, doc)
    assert error.field == "mounts[0].options.io-threads"
    assert words in error.message and "NoneType" not in error.message


def test_an_option_given_twice_with_stray_space_is_refused(tmp_path: Path) -> None:
    doc = _doc()
    doc["mounts"][0]["options"].update({"io-threads": "64", "io-threads ": "3"})
    error = _refused(tmp_path, doc)
    assert "io-threads" in error.field and "keep one" in error.message


def test_an_unknown_option_in_capitals_gets_a_suggestion(tmp_path: Path) -> None:
    error = _refused(tmp_path, _doc(**{"IO-Threads": "3"}))
    assert "did you mean 'io-threads'" in error.message


# -- values that do not fit ----------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["io-threads", "client.replicas", "fuse.some_new_key", "client.umask"],
)
def test_a_number_with_thousands_of_digits_is_refused(tmp_path: Path, key: str) -> None:
    value = "7" * 5000 if key.endswith("umask") else HUGE
    if key == "fuse.some_new_key":
        # An unknown key is written as text when it is no 64-bit integer.
        settings = _load(tmp_path, _doc(**{key: value}))
        assert settings.fuse_toml["some_new_key"] == value
        return
    error = _refused(tmp_path, _doc(**{key: value}))
    assert error.field.endswith(key)
    assert "too large" in error.message or "above the maximum" in error.message


@pytest.mark.parametrize(
    "key, value",
    [
        ("client.block_size", "99999999999999999999999"),
        ("client.block_size", "99999999999999999999999B"),
        ("fuse.meta_cache_timeout", "99999999999999999999999"),
        ("fuse.meta_cache_timeout", "99999999999999999999999ms"),
    ],
)
def test_sizes_and_durations_curvine_cannot_hold_are_refused(
    tmp_path: Path, key: str, value: str
) -> None:
    # Curvine reads a bare count of bytes or milliseconds as an unsigned 64-bit
    # integer and refuses one that does not fit.
    error = _refused(tmp_path, _doc(**{key: value}))
    assert error.field.endswith(key) and "64-bit" in error.message


# -- endpoints -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["0.0.0.0:8995", "[::]:8995", "255.255.255.255:8995", "224.0.0.1:8995"],
)
def test_addresses_no_master_can_have_are_refused(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_endpoints(text)
    assert text.rsplit(":", 1)[0].strip("[]") in str(info.value)
    assert "not an address a master" in str(info.value)


@pytest.mark.parametrize(
    "text", ["[fe80::1%$(reboot)]:8995", "[fe80::1%\x1b[31m]:8995", "[fe80::1%a/b]"]
)
def test_ipv6_zones_are_interface_names_only(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_endpoints(text)
    assert "zone" in str(info.value)
    assert "\x1b" not in str(info.value)


def test_an_ipv6_zone_that_names_an_interface_is_kept() -> None:
    assert str(parse_endpoints("[fe80::1%eth0]:8995")) == "[fe80::1%eth0]:8995"


def test_a_port_with_leading_zeros_is_read_as_a_number() -> None:
    assert str(parse_endpoints("h:0000000080")) == "h:80"
    with pytest.raises(ConfigError) as info:
        parse_endpoints("h:00000000000000000000000000065536")
    assert "outside 1..65535" in str(info.value)


# -- secrets ---------------------------------------------------------------------


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    root = tmp_path / "secrets"
    (root / "conn").mkdir(parents=True)
    return root


def _secret(secrets: Path, key: str, value: str) -> str:
    path = secrets / "conn" / key
    path.write_text(value)
    return str(path)


@pytest.mark.parametrize(
    "key, value, hidden",
    [
        ("fuse.fuse_opts", "allow_other,hunter2xyz\n", "hunter2xyz"),
        ("options", "allow_other,hunter2xyz\n", "hunter2xyz"),
        ("client.replicas", "731\n", "731"),
        ("fuse.uid", "-4242\n", "4242"),
        ("client.umask", "07777777\n", "7777777"),
    ],
)
def test_a_refused_secret_value_never_shows(
    tmp_path: Path, secrets: Path, key: str, value: str, hidden: str
) -> None:
    doc = _doc(**{key: _secret(secrets, key, value)})
    error = _refused(tmp_path, doc, secrets_dir=secrets)
    assert error.field.endswith(key)
    assert hidden not in str(error)


def test_a_secret_conflict_never_shows_the_value(tmp_path: Path, secrets: Path) -> None:
    doc = _doc(
        **{
            "max-background": "10",
            "congestion-threshold": _secret(secrets, "ct", "731"),
        }
    )
    error = _refused(tmp_path, doc, secrets_dir=secrets)
    assert "731" not in str(error) and "max-background" in str(error)


def test_a_secret_reference_cannot_climb_out_of_the_secrets_dir(
    tmp_path: Path, secrets: Path
) -> None:
    outside = tmp_path / "not-a-secret"
    outside.write_text("127.0.0.1:1")
    ref = f"{secrets}/conn/../../not-a-secret"
    error = _refused(tmp_path, _doc(**{"master-endpoints": ref}), secrets_dir=secrets)
    assert "outside" in error.message and str(secrets) in error.message


def test_a_secret_symlink_out_of_the_secrets_dir_is_refused(
    tmp_path: Path, secrets: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.write_text("127.0.0.1:1")
    (secrets / "conn" / "ep").symlink_to(outside)
    ref = f"{secrets}/conn/ep"
    error = _refused(tmp_path, _doc(**{"master-endpoints": ref}), secrets_dir=secrets)
    assert "outside" in error.message


def test_kubelet_style_secret_symlinks_are_read(tmp_path: Path, secrets: Path) -> None:
    stamp = secrets / "conn" / "..2026_01_01"
    stamp.mkdir()
    (stamp / "endpoints").write_text("127.0.0.1:8995\n")
    (secrets / "conn" / "..data").symlink_to(stamp.name)
    (secrets / "conn" / "endpoints").symlink_to("..data/endpoints")
    ref = f"{secrets}/conn/endpoints"
    settings = _load(tmp_path, _doc(**{"master-endpoints": ref}), secrets_dir=secrets)
    assert str(settings.endpoints) == "127.0.0.1:8995"


def test_an_empty_secret_file_names_the_secret(tmp_path: Path, secrets: Path) -> None:
    ref = _secret(secrets, "endpoints", "\n")
    error = _refused(tmp_path, _doc(**{"master-endpoints": ref}), secrets_dir=secrets)
    assert "is empty" in error.message and "'conn'" in error.message


@pytest.fixture(scope="module")
def leader() -> Iterator[str]:
    from curvine_py.testing import MiniCluster

    with MiniCluster() as mc:
        with mc.client() as client:
            client.mkdir("/data", exist_ok=True)
        yield mc.master_endpoints


def test_curvine_py_debug_log_never_shows_a_secret_endpoint(
    tmp_path: Path, secrets: Path, leader: str
) -> None:
    port = leader.rsplit(":", 1)[1]
    ref = _secret(secrets, "endpoints", f"localhost:{port}\n")
    doc = basic_config(ref, tmp_path / "t")
    cfg = write_config(tmp_path, doc)
    proc = _dry(
        tmp_path,
        cfg,
        "--secrets-dir",
        secrets,
        env={"CURVINE_PY_LOG": "DEBUG", "CURVINE_FLUID_LOG_LEVEL": "DEBUG"},
        timeout=30,
    )
    assert proc.returncode == EXIT_OK, proc.stdout + proc.stderr
    assert "curvine_py DEBUG" in proc.stderr
    assert port not in proc.stdout + proc.stderr


# -- the network: names that never resolve, many masters -------------------------


def _dns_blackhole() -> tuple[socket.socket, str] | None:
    """A UDP socket on a loopback address port 53 that reads and never answers."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return None
    for last in range(77, 120):
        address = f"127.0.53.{last}"
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((address, 53))
        except OSError:
            sock.close()
            continue
        return sock, address
    return None


@pytest.fixture
def silent_dns(tmp_path: Path) -> Iterator[Path]:
    """A resolv.conf whose only name server never answers, for 60 s a try."""
    found = _dns_blackhole()
    if found is None:
        pytest.skip("needs root, unshare and a free loopback port 53")
    sock, address = found
    stop = threading.Event()

    def swallow() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                sock.recvfrom(4096)
            except OSError:
                pass

    thread = threading.Thread(target=swallow, daemon=True)
    thread.start()
    resolv = tmp_path / "resolv.conf"
    resolv.write_text(f"nameserver {address}\noptions timeout:60 attempts:1\n")
    try:
        yield resolv
    finally:
        stop.set()
        thread.join()
        sock.close()


def _run_with_resolv(
    tmp_path: Path, resolv: Path, endpoints: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    script, _ = recorder(tmp_path)
    cfg = write_config(tmp_path, basic_config(endpoints, tmp_path / "t"))
    args = fluid_args(cfg, tmp_path / "home", script, "--parent-wait", "0")
    inner = fluid_command(*args, "--check-timeout", "1", "--dry-run")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CURVINE_")}
    return subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            'mount --bind "$0" /etc/resolv.conf && exec "$@"',
            str(resolv),
            *inner,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
        check=False,
    )


def test_many_names_that_never_resolve_fail_within_the_check_timeout(
    tmp_path: Path, silent_dns: Path
) -> None:
    names = ",".join(f"m{i}.never.invalid:8995" for i in range(48))
    # Each lookup hangs 60 s: all of them together get the one check timeout.
    proc = _run_with_resolv(tmp_path, silent_dns, names, timeout=30)
    assert_clean_failure(proc, EXIT_CHECK)
    line = next(ln for ln in proc.stdout.splitlines() if "master names resolve" in ln)
    assert "no master name resolves" in line
    assert float(line.split()[5].rstrip("s")) < 3 * 1.0, line


def test_a_name_that_never_resolves_does_not_stall_the_tcp_check(
    tmp_path: Path, silent_dns: Path, closed_port: int
) -> None:
    endpoints = f"127.0.0.1:{closed_port},m.never.invalid:8995"
    proc = _run_with_resolv(tmp_path, silent_dns, endpoints, timeout=15)
    assert_clean_failure(proc, EXIT_CHECK)
    tcp = [ln for ln in proc.stdout.splitlines() if "masters accept TCP" in ln]
    assert tcp and "FAILED" in tcp[0] and "m.never.invalid:8995" in tcp[0]


# -- the command line and its output -----------------------------------------------


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "0"])
def test_a_bad_check_timeout_flag_is_a_usage_error(tmp_path: Path, value: str) -> None:
    cfg = write_config(tmp_path, _doc())
    proc = run_fluid("--config", cfg, "--dry-run", "--check-timeout", value)
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert "--check-timeout" in proc.stderr and "Traceback" not in proc.stderr


def test_output_into_a_closed_pipe_is_no_internal_error(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, _doc())
    script, _ = recorder(tmp_path)
    shell = (
        f"{sys.executable} -m fluid --config {cfg} --curvine-home {tmp_path}/h "
        f"--fuse-bin {script} --parent-wait 0 --check-timeout 1 --dry-run "
        "2>err.txt | head -c 1 >/dev/null"
    )
    subprocess.run(["sh", "-c", shell], cwd=tmp_path, timeout=30, check=False)
    err = (tmp_path / "err.txt").read_text()
    assert "internal error" not in err and "Traceback" not in err
    assert "masters accept TCP" in err or "check(s) failed" in err


def test_a_full_stdout_does_not_stop_the_exec(tmp_path: Path, leader: str) -> None:
    script, out = recorder(tmp_path)
    cfg = write_config(tmp_path, basic_config(leader, tmp_path / "t"))
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            fluid_command(
                *fluid_args(cfg, tmp_path / "h", script, "--parent-wait", "0")
            ),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=30,
            cwd=REPO,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().splitlines()[0] == str(script)


def test_a_non_utf8_curvine_home_is_no_internal_error(tmp_path: Path) -> None:
    home = os.fsdecode(bytes(tmp_path) + b"/h\xff")
    cfg = write_config(tmp_path, _doc())
    script, _ = recorder(tmp_path)
    proc = run_fluid(
        "--config",
        cfg,
        "--curvine-home",
        home,
        "--fuse-bin",
        script,
        "--parent-wait",
        "0",
        "--check-timeout",
        "1",
        "--dry-run",
        timeout=30,
    )
    assert "internal error" not in proc.stderr, proc.stderr
    assert proc.returncode == EXIT_CHECK, proc.stderr


def test_the_options_module_types_every_huge_integer_kind() -> None:
    for name, spec in {**options.GENERAL, **options.FUSE_FLAGS}.items():
        if spec.kind not in ("int", "octal"):
            continue
        with pytest.raises(ConfigError):
            options.coerce(name, HUGE, spec)
    assert options.infer(HUGE) == HUGE


def test_toml_keeps_a_unicode_value(tmp_path: Path) -> None:
    settings = _load(tmp_path, _doc(**{"fuse.state_dir": "/var/lib/cürvine ☃"}))
    path = toml.write(settings, tmp_path / "home")
    assert "cürvine ☃" in path.read_text(encoding="utf-8")


# -- the target ----------------------------------------------------------------------


def test_a_target_parent_that_is_a_file_fails_without_waiting(
    tmp_path: Path,
) -> None:
    (tmp_path / "file").write_text("")
    doc = basic_config("127.0.0.1:1", tmp_path / "file" / "thin-fuse")
    cfg = write_config(tmp_path, doc)
    script, _ = recorder(tmp_path)
    # A parent-wait of an hour: the check must see there is nothing to wait for.
    proc = run_fluid(
        "--config",
        cfg,
        "--curvine-home",
        tmp_path / "home",
        "--fuse-bin",
        script,
        "--check-timeout",
        "1",
        "--parent-wait",
        "3600",
        "--dry-run",
        timeout=30,
    )
    assert_clean_failure(proc, EXIT_CHECK)
    line = next(ln for ln in proc.stdout.splitlines() if "target parent" in ln)
    assert "FAILED" in line and "not a directory" in line


def test_thousands_of_endpoints_are_refused() -> None:
    text = ",".join(f"10.0.{i // 250}.{i % 250 + 1}:8995" for i in range(5000))
    with pytest.raises(ConfigError) as info:
        parse_endpoints(text)
    assert "5000 masters" in str(info.value) and "at most 64" in str(info.value)
    assert len(parse_endpoints(",".join(text.split(",")[:64])).endpoints) == 64


def test_a_relative_fuse_bin_runs_the_same_program_by_hand(tmp_path: Path) -> None:
    script, _ = recorder(tmp_path)
    cfg = write_config(tmp_path, _doc())
    args = fluid_args(cfg, tmp_path / "home", script.name, "--check-timeout", "1")
    proc = subprocess.run(
        fluid_command(*args, "--parent-wait", "0", "--dry-run"),
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert "Traceback" not in proc.stderr
    text = (tmp_path / "home" / "mount-curvine.sh").read_text()
    # By hand, a bare name would be looked up in $PATH instead.
    assert f"exec {script} " in text, text


def test_a_mistyped_profile_variable_is_noted(tmp_path: Path) -> None:
    path = write_config(tmp_path, _doc())
    settings = config.load(
        path, {"CURVINE_IO_THREAD": "64"}, secrets_dir=tmp_path / "secrets"
    )
    assert settings.io_threads == 32
    assert any(
        "CURVINE_IO_THREAD" in n and "CURVINE_IO_THREADS" in n for n in settings.notes
    ), settings.notes


def test_a_secret_host_named_like_a_word_hides_only_the_host() -> None:
    from fluid.secrets import Redactor

    redactor = Redactor()
    redactor.add("curvine:8995")
    redactor.add_host("curvine")
    text = (
        "curvine-fluid: curvine:///data; wrote /opt/curvine/conf/curvine-cluster.toml;"
        " no leader at curvine:8995; lookup of curvine failed; [curvine]"
    )
    scrubbed = redactor.scrub(text)
    assert scrubbed == (
        "curvine-fluid: curvine:///data; wrote /opt/curvine/conf/curvine-cluster.toml;"
        " no leader at ***; lookup of *** failed; [***]"
    )


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A tiny tmpfs with an old TOML on it and no room for anything else."""
    home = tmp_path / "full"
    home.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(home)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        (home / "conf").mkdir()
        (home / "conf" / "curvine-cluster.toml").write_text("# the old one\n")
        with open(home / "filler", "wb", buffering=0) as filler:
            try:
                while True:
                    filler.write(b"\0" * 512)
            except OSError:
                pass
        yield home
    finally:
        subprocess.run(["umount", "-l", str(home)], check=False)


def test_a_full_disk_keeps_the_old_toml_and_leaves_no_temporary(
    tmp_path: Path, full_disk: Path
) -> None:
    cfg = write_config(tmp_path, _doc())
    script, _ = recorder(tmp_path)
    proc = run_fluid(
        "--config",
        cfg,
        "--curvine-home",
        full_disk,
        "--fuse-bin",
        script,
        "--dry-run",
        timeout=30,
    )
    assert_clean_failure(proc, EXIT_LAUNCH)
    assert "No space left on device" in proc.stderr
    conf = full_disk / "conf"
    assert os.listdir(conf) == ["curvine-cluster.toml"]
    assert (conf / "curvine-cluster.toml").read_text() == "# the old one\n"


def test_a_report_that_cannot_be_written_does_not_stop_the_mount(
    tmp_path: Path, leader: str
) -> None:
    script, out = recorder(tmp_path)
    cfg = write_config(tmp_path, basic_config(leader, tmp_path / "t"))
    proc = run_fluid(
        "--config",
        cfg,
        "--curvine-home",
        tmp_path / "h",
        "--fuse-bin",
        script,
        "--parent-wait",
        "0",
        "--report",
        "/proc/version/report.json",
        timeout=30,
    )
    assert proc.returncode == EXIT_OK, proc.stdout + proc.stderr
    assert "/proc/version/report.json" in proc.stderr
    assert out.read_text().splitlines()[0] == str(script)


def test_an_underscore_in_a_host_name_says_what_to_write() -> None:
    with pytest.raises(ConfigError) as info:
        parse_endpoints("curvine_master-0.svc:8995")
    assert "'_'" in str(info.value) and "curvine-master-0" in str(info.value)


def test_the_probe_reads_a_quoted_target_from_the_toml(tmp_path: Path) -> None:
    import tomli_w

    target = tmp_path / 'odd "dir" \\ here'
    target.mkdir()
    conf = tmp_path / "curvine-cluster.toml"
    conf.write_text(tomli_w.dumps({"fuse": {"mnt_path": str(target)}}))
    probe = REPO / "fluid" / "deploy" / "readiness-probe.sh"
    result = subprocess.run(
        ["sh", str(probe)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "CURVINE_CONF_FILE": str(conf), "LC_ALL": "C"},
        check=False,
    )
    assert result.returncode != 0
    assert result.stdout.strip() == f"not ready: {target} is not mounted"


def test_the_probe_on_a_missing_target_says_so(tmp_path: Path) -> None:
    probe = REPO / "fluid" / "deploy" / "readiness-probe.sh"
    missing = tmp_path / "gone"
    result = subprocess.run(
        ["sh", str(probe), str(missing)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "LC_ALL": "C"},
        check=False,
    )
    assert result.returncode != 0
    assert result.stdout.strip() == f"not ready: {missing} does not exist"


def test_a_mount_that_refuses_to_be_looked_at_is_not_called_hung(
    tmp_path: Path,
) -> None:
    from fluid.checks import mount_state

    # The table says a mount is there; statfs fails at once with an error
    # that is neither a dead server nor a wait (here ENOTDIR).
    path = Path("/proc/version/x")
    state = mount_state(path, {str(path): "fuse.curvinefs"}, 1.0)
    assert state.startswith("error:") and "Not a directory" in state


def test_a_huge_bad_value_gives_a_short_message(tmp_path: Path) -> None:
    for opts in ({"io-threads": "x" * 100_000}, {"k" * 100_000: "1"}):
        proc = _dry(tmp_path, write_config(tmp_path, _doc(**opts)), timeout=30)
        assert_clean_failure(proc, EXIT_CONFIG)
        assert len(proc.stderr) < 1000, len(proc.stderr)
    assert proc.stderr.startswith("curvine-fluid: mounts[0].options.kkk")
    assert proc.stderr.rstrip().endswith("for Curvine TOML keys")


@pytest.fixture
def web_server() -> Iterator[str]:
    """An endpoint that answers like a web port: an HTTP reply, then close."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.recv(4096)
                    conn.sendall(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
                    )
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        sock.close()


def test_a_web_port_given_as_a_master_says_which_port_to_use(
    tmp_path: Path, web_server: str
) -> None:
    cfg = write_config(tmp_path, basic_config(web_server, tmp_path / "t"))
    proc = _dry(tmp_path, cfg, timeout=30)
    assert_clean_failure(proc, EXIT_CHECK)
    line = next(ln for ln in proc.stdout.splitlines() if "a leader answers" in ln)
    assert "FAILED" in line and "RPC port" in line and "web port" in line


@pytest.mark.parametrize(
    "point, words",
    [
        ("curvine://", "no path"),
        ("curvine:/data", "curvine:///data"),
        ("curvine:data", "curvine:///data"),
        ("curvine://data", "curvine:///data"),
    ],
)
def test_near_miss_mount_points_get_the_spelling_to_use(point: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.dataset_path(point)
    assert words in str(info.value)


CONSOLE = Path(sys.executable).parent / "curvine-fluid"


@pytest.mark.skipif(not CONSOLE.exists(), reason="curvine-fluid is not installed")
@pytest.mark.parametrize(
    "text, extra, code",
    [
        ("{not json", (), EXIT_CONFIG),
        ('{"mounts": []}', (), EXIT_CONFIG),
        (json.dumps(_doc()), ("--check-timeout", "soon"), EXIT_USAGE),
        (json.dumps(_doc(**{"io-threads": HUGE})), (), EXIT_CONFIG),
    ],
)
def test_the_console_script_fails_as_python_m_fluid_does(
    tmp_path: Path, text: str, extra: tuple[str, ...], code: int
) -> None:
    cfg = write_config(tmp_path, text)
    common = ["--config", str(cfg), "--curvine-home", str(tmp_path / "h"), *extra]
    script = subprocess.run(
        [str(CONSOLE), *common],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    module = run_fluid(*common, timeout=30)
    for proc in (script, module):
        assert proc.returncode == code, proc.stderr
        assert "Traceback" not in proc.stderr + proc.stdout
    assert script.stderr == module.stderr


@pytest.mark.parametrize("which", ["toml", "script", "config"])
def test_a_report_over_a_file_curvine_fluid_needs_is_refused(
    tmp_path: Path, which: str
) -> None:
    cfg = write_config(tmp_path, _doc())
    home = tmp_path / "home"
    report = {
        "toml": home / "conf" / "curvine-cluster.toml",
        "script": home / "mount-curvine.sh",
        "config": cfg,
    }[which]
    before = cfg.read_text()
    proc = _dry(tmp_path, cfg, "--report", report, timeout=30)
    assert_clean_failure(proc, EXIT_USAGE)
    assert "--report" in proc.stderr
    assert cfg.read_text() == before


@pytest.mark.parametrize("key", ["readonly", "fuse.readonly"])
def test_a_read_only_mount_cannot_be_made_writable_by_an_option(
    tmp_path: Path, key: str
) -> None:
    doc = _doc(**{key: "false"})
    doc["mounts"][0]["readOnly"] = True
    error = _refused(tmp_path, doc)
    assert error.field.endswith(key) and "readOnly" in error.message


def test_a_fuse_wrapper_with_windows_line_ends_fails_its_check(
    tmp_path: Path,
) -> None:
    wrapper = tmp_path / "curvine-fuse"
    wrapper.write_bytes(b"#!/bin/sh\r\nexec true\r\n")
    wrapper.chmod(0o755)
    cfg = write_config(tmp_path, _doc())
    proc = run_fluid(
        "--config",
        cfg,
        "--curvine-home",
        tmp_path / "home",
        "--fuse-bin",
        wrapper,
        "--check-timeout",
        "1",
        "--parent-wait",
        "0",
        "--dry-run",
        timeout=30,
    )
    assert_clean_failure(proc, EXIT_CHECK)
    line = next(ln for ln in proc.stdout.splitlines() if "FUSE binary" in ln)
    assert "FAILED" in line and "CRLF" in line
