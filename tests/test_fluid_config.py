"""config.json, options, endpoints and secrets into curvine-cluster.toml."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest
from test_fluid_support import SAMPLES, basic_config, write_config

from fluid import config, toml
from fluid.endpoints import Endpoint, parse_endpoints
from fluid.errors import ConfigError


def load(
    tmp_path: Path,
    document: Any,
    env: dict[str, str] | None = None,
    secrets_dir: Path | None = None,
) -> config.Settings:
    path = write_config(tmp_path, document)
    return config.load(path, env or {}, secrets_dir=secrets_dir or tmp_path / "secrets")


def rendered(tmp_path: Path, document: Any, **kwargs: Any) -> dict[str, Any]:
    """Write the TOML as curvine-fluid does and read it back with tomllib."""
    settings = load(tmp_path, document, **kwargs)
    path = toml.write(settings, tmp_path / "home")
    with path.open("rb") as handle:
        return tomllib.load(handle)


def refused(tmp_path: Path, document: Any, **kwargs: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, document, **kwargs)
    return info.value


# -- the samples Fluid writes ----------------------------------------------


def test_every_sample_is_here() -> None:
    names = {p.name for p in SAMPLES}
    assert {"thin-basic.json", "thin-ha-runtime-options.json"} <= names
    assert len(SAMPLES) >= 4


def test_basic_sample(tmp_path: Path) -> None:
    doc = json.loads((SAMPLES[0].parent / "thin-basic.json").read_text())
    conf = rendered(tmp_path, doc)
    assert conf["master"] == {
        "hostname": "192.0.2.10",
        "rpc_port": 8995,
        "web_port": 9001,
    }
    assert conf["client"]["master_addrs"] == [{"hostname": "192.0.2.10", "port": 8995}]
    assert (
        conf["fuse"]["mnt_path"]
        == "/runtime-mnt/thin/default/curvine-dataset/thin-fuse"
    )
    assert conf["fuse"]["fs_path"] == "/data"
    assert conf["fuse"]["io_threads"] == 32
    assert conf["fuse"]["worker_threads"] == 56
    assert conf["fuse"]["mnt_number"] == 1


def test_ha_sample_with_runtime_options(tmp_path: Path) -> None:
    doc = json.loads((SAMPLES[0].parent / "thin-ha-runtime-options.json").read_text())
    settings = load(tmp_path, doc)
    conf = rendered(tmp_path, doc)
    hosts = [a["hostname"] for a in conf["client"]["master_addrs"]]
    assert hosts == [
        f"curvine-master-{i}.curvine-master.storage.svc.cluster.local" for i in range(3)
    ]
    assert {a["port"] for a in conf["client"]["master_addrs"]} == {8995}
    assert conf["master"]["hostname"] == hosts[0]
    assert conf["master"]["web_port"] == 9000
    assert conf["fuse"]["fs_path"] == "/prod-data"
    assert (conf["fuse"]["io_threads"], conf["fuse"]["worker_threads"]) == (64, 128)
    assert dict(settings.fuse_flags) == {
        "attr-timeout-ms": 30000,
        "entry-timeout-ms": 30000,
    }


def test_advanced_sample_types_the_toml_keys(tmp_path: Path) -> None:
    doc = json.loads(
        (SAMPLES[0].parent / "thin-advanced-toml-options.json").read_text()
    )
    settings = load(tmp_path, doc)
    conf = rendered(tmp_path, doc)
    assert conf["client"]["enable_unified_fs"] is False
    assert conf["client"]["read_chunk_size"] == "1MB"
    assert conf["fuse"]["enable_meta_cache"] is True
    assert conf["fuse"]["entry_timeout_ms"] == 300000
    assert conf["fuse"]["meta_cache_timeout"] == "12h"
    assert conf["fuse"]["fs_path"] == "/starrocks/datacache"
    assert conf["fuse"]["mnt_number"] == 2
    assert [a["hostname"] for a in conf["client"]["master_addrs"]] == [
        "master-0.example",
        "master-1.example",
    ]
    assert dict(settings.fuse_flags) == {"write-back-cache": True}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
@pytest.mark.parametrize("masters", [1, 3])
def test_every_sample_with_one_or_several_endpoints(
    tmp_path: Path, sample: Path, masters: int
) -> None:
    doc = json.loads(sample.read_text())
    wanted = [(f"m{i}.curvine.svc", 9000 + i) for i in range(masters)]
    text = ", ".join(f"{h}:{p}" for h, p in wanted)
    doc["mounts"][0]["options"]["master-endpoints"] = text
    conf = rendered(tmp_path, doc)
    got = [(a["hostname"], a["port"]) for a in conf["client"]["master_addrs"]]
    assert got == wanted
    assert conf["fuse"]["mnt_path"] == doc["targetPath"]
    point = doc["mounts"][0]["mountPoint"]
    assert conf["fuse"]["fs_path"] == "/" + point.removeprefix("curvine://").strip("/")


def test_configmap_secret_sample_reads_the_secret_file(tmp_path: Path) -> None:
    doc = json.loads(
        (SAMPLES[0].parent / "thin-configmap-secret-refs.json").read_text()
    )
    secrets = tmp_path / "secrets"
    ref = doc["mounts"][0]["options"]["master-endpoints"]
    relative = Path(ref).relative_to("/etc/fluid/secrets")
    doc["mounts"][0]["options"]["master-endpoints"] = str(secrets / relative)
    (secrets / relative).parent.mkdir(parents=True)
    (secrets / relative).write_text("10.1.0.5:8995,10.1.0.6:8995\n")

    settings = load(tmp_path, doc, secrets_dir=secrets)
    path = toml.write(settings, tmp_path / "home")
    conf = tomllib.loads(path.read_text())
    assert conf["client"]["master_addrs"] == [
        {"hostname": "10.1.0.5", "port": 8995},
        {"hostname": "10.1.0.6", "port": 8995},
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings.shown_endpoints() == ["master #1", "master #2"]
    assert settings.redactor.scrub("to 10.1.0.5:8995 now") == "to *** now"


# -- where config.json is found --------------------------------------------


def test_config_path_precedence(tmp_path: Path) -> None:
    new, old = tmp_path / "config" / "config.json", tmp_path / "config.json"
    defaults = (new, old)
    assert config.find_config(
        "/x.json", {"FLUID_RUNTIME_CONFIG_PATH": "/y"}, defaults
    ) == Path("/x.json")
    assert config.find_config(
        None, {"FLUID_RUNTIME_CONFIG_PATH": "/y"}, defaults
    ) == Path("/y")
    with pytest.raises(ConfigError, match="FLUID_RUNTIME_CONFIG_PATH"):
        config.find_config(None, {}, defaults)
    old.write_text("{}")
    assert config.find_config(None, {}, defaults) == old
    new.parent.mkdir()
    new.write_text("{}")
    assert config.find_config(None, {}, defaults) == new


# -- refusals that name the field ------------------------------------------


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("", "config.json", "empty"),
        ("{not json", "config.json", "not valid JSON"),
        ("[1, 2]", "config.json", "expected a JSON object"),
        ('{"targetPath": "/t"}', "mounts", "missing"),
        ('{"mounts": [], "targetPath": "/t"}', "mounts", "empty"),
        ('{"mounts": {}, "targetPath": "/t"}', "mounts", "expected a list"),
        ('{"mounts": [7], "targetPath": "/t"}', "mounts[0]", "expected an object"),
    ],
)
def test_malformed_documents(tmp_path: Path, text: str, field: str, words: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.load(path, {})
    expected = str(path) if field == "config.json" else field
    assert info.value.field == expected
    assert words in info.value.message


def test_two_mounts_are_refused(tmp_path: Path) -> None:
    doc = basic_config("10.0.0.1:8995", tmp_path / "t")
    doc["mounts"].append(dict(doc["mounts"][0], name="second"))
    err = refused(tmp_path, doc)
    assert err.field == "mounts" and "has 2 mounts" in err.message


@pytest.mark.parametrize(
    ("point", "words"),
    [
        ("s3://bucket/data", "not a Curvine path"),
        ("/data", "not a Curvine path"),
        ("curvine://master-0:8995/data", "names a host"),
        ("curvine:///a/../b", "'..'"),
        ("", "missing"),
    ],
)
def test_mount_points_that_are_not_curvine_paths(
    tmp_path: Path, point: str, words: str
) -> None:
    err = refused(tmp_path, basic_config("10.0.0.1:8995", tmp_path / "t", point))
    assert err.field == "mounts[0].mountPoint"
    assert words in err.message


@pytest.mark.parametrize(
    ("point", "fs_path"),
    [
        ("curvine:///", "/"),
        ("curvine:///data/", "/data"),
        ("curvine:////a//b/", "/a/b"),
        ("  curvine:///x y  ", "/x y"),
    ],
)
def test_mount_points_normalized(tmp_path: Path, point: str, fs_path: str) -> None:
    settings = load(tmp_path, basic_config("10.0.0.1:8995", tmp_path / "t", point))
    assert settings.fs_path == fs_path


@pytest.mark.parametrize("target", [None, "", "relative/path", "/"])
def test_bad_target_paths(tmp_path: Path, target: str | None) -> None:
    doc = basic_config("10.0.0.1:8995", tmp_path)
    doc["targetPath"] = target
    assert refused(tmp_path, doc).field == "targetPath"


def test_missing_endpoints_name_the_field(tmp_path: Path) -> None:
    doc = basic_config("x", tmp_path / "t")
    del doc["mounts"][0]["options"]["master-endpoints"]
    err = refused(tmp_path, doc)
    assert err.field == "mounts[0].options.master-endpoints"
    assert "missing" in err.message and "CURVINE_MASTER_ENDPOINTS" in err.message


@pytest.mark.parametrize("text", ["", " , ;", "\n"])
def test_empty_endpoint_lists(tmp_path: Path, text: str) -> None:
    doc = basic_config(text, tmp_path / "t")
    # An empty value counts as not given, so the refusal is "missing".
    err = refused(tmp_path, doc)
    assert err.field.endswith("master-endpoints")


def test_unknown_option_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    err = refused(
        tmp_path, basic_config("10.0.0.1:8995", tmp_path / "t", **{"io-thread": "4"})
    )
    assert err.field == "mounts[0].options.io-thread"
    assert "did you mean 'io-threads'" in err.message


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("io-threads", "many", "not a whole number"),
        ("io-threads", "0", "below the minimum 1"),
        ("mnt-number", "-2", "below the minimum"),
        ("master-web-port", "70000", "above the maximum 65535"),
        ("write-back-cache", "perhaps", "not a boolean"),
        ("meta-cache-ttl", "12 fortnights", "not a duration"),
        ("capacity-check", "sometimes", "not one of fail, warn, off"),
        ("options", "allow_other,,ro", "empty entry"),
        ("options", "auto_unmount", "not a mount option curvine-fuse accepts"),
        ("options", "ro,rw", "conflict"),
        ("client.read_chunk_size", "1 megabyte", "not a size"),
        ("client.replicas", "100", "above the maximum 99"),
        ("client.umask", "0999", "not an octal mask"),
        ("fuse.max_background", "0", "below the minimum 1"),
        ("fuse.Bad-Key", "1", "lower case"),
    ],
)
def test_bad_values_name_the_option(
    tmp_path: Path, key: str, value: str, words: str
) -> None:
    err = refused(
        tmp_path, basic_config("10.0.0.1:8995", tmp_path / "t", **{key: value})
    )
    assert err.field == f"mounts[0].options.{key}"
    assert words in err.message


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("client.master_addrs", "master-endpoints"),
        ("fuse.mnt_path", "targetPath"),
        ("fuse.fs_path", "mount point"),
        ("fuse.io_threads", "io-threads"),
        ("fuse.mnt_number", "mnt-number"),
    ],
)
def test_managed_keys_are_refused_with_the_reason(
    tmp_path: Path, key: str, reason: str
) -> None:
    err = refused(tmp_path, basic_config("10.0.0.1:8995", tmp_path / "t", **{key: "1"}))
    assert err.field == f"mounts[0].options.{key}"
    assert "curvine-fluid sets this key itself" in err.message
    assert reason in err.message


def test_conflicts_curvine_fuse_would_refuse_late(tmp_path: Path) -> None:
    doc = basic_config(
        "10.0.0.1:8995",
        tmp_path / "t",
        **{"direct-io": "true", "fuse.write_back_cache": "true"},
    )
    err = refused(tmp_path, doc)
    assert "direct I/O" in err.message
    doc = basic_config(
        "10.0.0.1:8995",
        tmp_path / "t",
        **{"max-background": "8", "congestion-threshold": "9"},
    )
    assert "above max-background" in refused(tmp_path, doc).message


def test_a_flag_and_its_toml_key_in_one_place_are_refused(tmp_path: Path) -> None:
    doc = basic_config(
        "10.0.0.1:8995",
        tmp_path / "t",
        **{"write-back-cache": "true", "fuse.write_back_cache": "false"},
    )
    assert "sets the same thing" in refused(tmp_path, doc).message


def test_two_spellings_of_one_key_are_refused(tmp_path: Path) -> None:
    doc = basic_config(
        "10.0.0.1:8995",
        tmp_path / "t",
        **{"client.block_size": "1MB", "client.block_size_str": "2MB"},
    )
    assert "sets the same key" in refused(tmp_path, doc).message
    doc = basic_config(
        "10.0.0.1:8995", tmp_path / "t", **{"mnt-per-task": "1", "tasks-per-mnt": "2"}
    )
    assert "mean the same" in refused(tmp_path, doc).message


# -- precedence ------------------------------------------------------------


def test_precedence_dataset_over_runtime_over_env_over_default(tmp_path: Path) -> None:
    doc = basic_config("10.0.0.1:8995", tmp_path / "t", **{"io-threads": "8"})
    doc["runtimeOptions"] = {"io-threads": "16", "worker-threads": "24"}
    env = {
        "CURVINE_IO_THREADS": "99",
        "CURVINE_WORKER_THREADS": "99",
        "CURVINE_MNT_NUMBER": "3",
    }
    settings = load(tmp_path, doc, env=env)
    assert settings.io_threads == 8  # Dataset option
    assert settings.worker_threads == 24  # runtimeOptions
    assert settings.mnt_number == 3  # environment
    assert settings.master_web_port == 9001  # default


def test_env_supplies_endpoints_and_flags(tmp_path: Path) -> None:
    doc = basic_config("x", tmp_path / "t")
    del doc["mounts"][0]["options"]["master-endpoints"]
    env = {
        "CURVINE_MASTER_ENDPOINTS": "a.example:1,b.example:2",
        "CURVINE_WRITE_BACK_CACHE": "yes",
    }
    settings = load(tmp_path, doc, env=env)
    assert [str(e) for e in settings.endpoints.endpoints] == [
        "a.example:1",
        "b.example:2",
    ]
    assert dict(settings.fuse_flags) == {"write-back-cache": True}


def test_toml_key_from_dataset_beats_flag_from_runtime(tmp_path: Path) -> None:
    doc = basic_config("10.0.0.1:8995", tmp_path / "t", **{"fuse.attr_timeout_ms": "5"})
    doc["runtimeOptions"] = {"attr-timeout-ms": "30000", "fuse.attr_timeout_ms": "7"}
    settings = load(tmp_path, doc)
    assert "attr-timeout-ms" not in dict(settings.fuse_flags)
    assert settings.fuse_toml["attr_timeout_ms"] == 5


def test_readonly_mount_adds_the_readonly_flag(tmp_path: Path) -> None:
    doc = basic_config("10.0.0.1:8995", tmp_path / "t")
    doc["mounts"][0]["readOnly"] = True
    assert dict(load(tmp_path, doc).fuse_flags) == {"readonly": True}


def test_unknown_toml_keys_are_inferred_and_noted(tmp_path: Path) -> None:
    doc = basic_config(
        "10.0.0.1:8995",
        tmp_path / "t",
        **{"client.future_knob": "12", "fuse.other_knob": "TRUE", "fuse.name": "x y"},
    )
    settings = load(tmp_path, doc)
    conf = rendered(tmp_path, doc)
    assert conf["client"]["future_knob"] == 12
    assert conf["fuse"]["other_knob"] is True
    assert conf["fuse"]["name"] == "x y"
    assert any("client.future_knob" in n for n in settings.notes)


# -- endpoints -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("m0:8995", ["m0:8995"]),
        (" m0:8995 , m1:8996 ", ["m0:8995", "m1:8996"]),
        ("m0:8995;m1:8995 m2:8995\tm3:8995\nm4:8995", [f"m{i}:8995" for i in range(5)]),
        ("m0:8995,,m1:8995,", ["m0:8995", "m1:8995"]),
        ("M0.Example:8995,m0.example:8995", ["m0.example:8995"]),
        ("m0", ["m0:8995"]),
        ("[::1]:9000,[2001:DB8::1]", ["[::1]:9000", "[2001:db8::1]:8995"]),
        ("10.0.0.1:08995", ["10.0.0.1:8995"]),
        ("fqdn.example.:1", ["fqdn.example:1"]),
    ],
)
def test_endpoint_normalization(text: str, expected: list[str]) -> None:
    assert [str(e) for e in parse_endpoints(text).endpoints] == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("m0:", "port after ':' is missing"),
        (":8995", "host before ':' is missing"),
        ("m0:http", "is not a number ('http')"),
        ("m0:0", "outside 1..65535"),
        ("m0:65536", "outside 1..65535 (65536)"),
        ("::1:8995", "brackets"),
        ("[::1", "closing"),
        ("[zz::1]:1", "not an IPv6 address ('zz::1')"),
        ("[::1]8995", "expected ':port'"),
        ("curvine://m0:8995", "drop the scheme"),
        ("bad_host:1", "not a valid host name label"),
        ("-a:1", "not a valid host name label"),
        ("300.1.1.1:1", "not a valid IPv4 address ('300.1.1.1')"),
        ("ok:1,x..y:2", "entry 2"),
    ],
)
def test_bad_endpoints_name_the_token(text: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_endpoints(text)
    assert words in info.value.message
    assert info.value.field == "master-endpoints"


def test_hidden_endpoints_are_named_by_position_only() -> None:
    with pytest.raises(ConfigError) as info:
        parse_endpoints("secret-host:1,other-secret:x", hidden=True)
    assert "entry 2" in info.value.message
    assert "secret" not in info.value.message


def test_ipv6_hosts_go_to_the_toml_without_brackets(tmp_path: Path) -> None:
    conf = rendered(tmp_path, basic_config("[fd00::5]:8995", tmp_path / "t"))
    assert conf["client"]["master_addrs"] == [{"hostname": "fd00::5", "port": 8995}]
    assert Endpoint("fd00::5", 1).is_ipv6


# -- secrets ---------------------------------------------------------------


def test_missing_secret_file_names_option_and_secret(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    ref = secrets / "conn" / "endpoints"
    err = refused(tmp_path, basic_config(str(ref), tmp_path / "t"), secrets_dir=secrets)
    assert err.field == "mounts[0].options.master-endpoints"
    assert "'conn'" in err.message and str(ref) in err.message


def test_inline_secret_by_name_is_hidden_and_private(tmp_path: Path) -> None:
    doc = basic_config(
        "10.0.0.1:8995",
        tmp_path / "t",
        **{
            "client.access_key_secret": "s3cr3t-value",
            "secret-options": "client.hostname",
            "client.hostname": "node-a",
        },
    )
    settings = load(tmp_path, doc)
    assert settings.has_secrets
    assert settings.redactor.scrub("x s3cr3t-value node-a") == "x *** ***"
    path = toml.write(settings, tmp_path / "home")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (
        tomllib.loads(path.read_text())["client"]["access_key_secret"] == "s3cr3t-value"
    )


def test_a_secret_flag_goes_to_the_toml_not_argv(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    (secrets / "s").mkdir(parents=True)
    (secrets / "s" / "port").write_text("7777")
    doc = basic_config(
        "10.0.0.1:8995", tmp_path / "t", **{"web-port": str(secrets / "s" / "port")}
    )
    settings = load(tmp_path, doc, secrets_dir=secrets)
    assert "web-port" not in dict(settings.fuse_flags)
    assert settings.fuse_toml["web_port"] == 7777


def test_a_bad_secret_value_is_refused_without_the_value(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    (secrets / "s").mkdir(parents=True)
    (secrets / "s" / "n").write_text("hunter2-not-a-number")
    doc = basic_config(
        "10.0.0.1:8995", tmp_path / "t", **{"io-threads": str(secrets / "s" / "n")}
    )
    err = refused(tmp_path, doc, secrets_dir=secrets)
    assert "hunter2" not in str(err)


def test_toml_is_replaced_atomically_and_public_without_secrets(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = load(tmp_path, basic_config("10.0.0.1:8995", tmp_path / "t"))
    path = toml.write(first, home)
    inode = path.stat().st_ino
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    second = load(tmp_path, basic_config("10.0.0.2:8995", tmp_path / "t"))
    toml.write(second, home)
    assert path.stat().st_ino != inode
    assert "10.0.0.2" in path.read_text()
    assert [p.name for p in path.parent.iterdir()] == ["curvine-cluster.toml"]
