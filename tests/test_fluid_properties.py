"""Arbitrary JSON and option strings at the config layer: either a clear
refusal naming a field, or a TOML that tomllib reads back with the values
given. Never a traceback."""

from __future__ import annotations

import io
import json
import re
import tempfile
import tomllib
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fluid import config, options, toml
from fluid.__main__ import main
from fluid.endpoints import parse_endpoints
from fluid.errors import EXIT_CHECK, EXIT_CONFIG, ConfigError

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Text with lone surrogates too: json.dumps writes them as \ud800 escapes, as
# a careless writer of config.json could.
any_text = st.text(st.characters(exclude_categories=()), max_size=30)
huge_numbers = st.text("0123456789", min_size=4301, max_size=4400)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | any_text,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)

KNOWN_NAMES = sorted(
    [
        *options.GENERAL,
        *options.FUSE_FLAGS,
        *(f"client.{k}" for k in options.CLIENT_KEYS),
        *(f"fuse.{k}" for k in options.FUSE_KEYS),
    ]
)
option_names = st.sampled_from(KNOWN_NAMES) | st.text(max_size=20) | any_text
option_texts = st.one_of(
    st.text(max_size=30),
    any_text,
    huge_numbers,
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["true", "False", "yes", "off", "1MB", "12h", "022", "0o7", "a,b"]),
    st.floats(allow_nan=True).map(str),
)


def _valid_text(spec: options.Spec) -> st.SearchStrategy[str]:
    """Texts a spec accepts, padded and cased the way people write them."""
    lo = int(spec.lo) if spec.lo is not None else -(2**63)
    hi = int(spec.hi) if spec.hi is not None else 2**63 - 1
    number = r"[0-9]{1,4}(\.[0-9]{1,2})?"
    by_kind: dict[str, st.SearchStrategy[str]] = {
        "bool": st.sampled_from(["true", "FALSE", "Yes", "no", "on", "0", "1"]),
        "switch": st.sampled_from(["true", "false"]),
        "int": st.integers(lo, hi).map(str),
        "octal": st.integers(0, 0o7777).map(lambda n: f"0{n:o}"),
        "size": st.from_regex(rf"\A{number}\s?(B|KB|mb|G|tb|PB)?\Z"),
        "duration": st.from_regex(rf"\A{number}\s?(ms|s|m|h|d|second|DAY)?\Z"),
        "strlist": st.lists(
            st.sampled_from(sorted(options.FUSE_MOUNT_OPTIONS - {"rw", "sync"})),
            min_size=1,
            max_size=3,
            unique=True,
        ).map(", ".join),
        "floatlist": st.lists(st.integers(0, 10**6).map(str), min_size=1).map(",".join),
        "seconds": st.sampled_from(["0.5", "1", "30", "120"]),
        "choice": st.sampled_from(list(spec.choices or ("x",))),
    }
    text = by_kind.get(spec.kind, st.text(max_size=20))
    return st.tuples(text, st.sampled_from(["", " ", "\t"])).map(lambda p: p[1] + p[0])


def _valid_pairs() -> st.SearchStrategy[tuple[str, str]]:
    toml_keys = [
        *((f"client.{k}", s) for k, s in options.CLIENT_KEYS.items()),
        *((f"fuse.{k}", s) for k, s in options.FUSE_KEYS.items()),
    ]
    known = st.sampled_from(toml_keys).flatmap(
        lambda pair: st.tuples(st.just(pair[0]), _valid_text(pair[1]))
    )
    future = st.tuples(
        st.from_regex(r"\A(client|fuse)\.future_[a-z0-9_]{1,10}\Z"),
        st.text(max_size=20),
    )
    flags = st.sampled_from(
        [n for n, s in options.FUSE_FLAGS.items() if n != "options"]
    ).flatmap(lambda n: st.tuples(st.just(n), _valid_text(options.FUSE_FLAGS[n])))
    return known | future | flags


def _document(opts: dict[str, Any], runtime: Any = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "mounts": [
            {
                "mountPoint": "curvine:///data",
                "options": {"master-endpoints": "10.0.0.1:8995", **opts},
                "name": "curvine",
            }
        ],
        "targetPath": "/runtime-mnt/thin/ns/ds/thin-fuse",
    }
    if runtime is not None:
        doc["runtimeOptions"] = runtime
    return doc


def _load(directory: Path, document: Any) -> config.Settings:
    path = directory / "config.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return config.load(path, {}, secrets_dir=directory / "secrets")


def _clear(error: ConfigError) -> None:
    assert error.field and error.message
    assert "\n" not in str(error)
    assert "Traceback" not in str(error)


def _expected(spec: options.Spec | None, text: str) -> Any:
    """The typed value a given option text must come back as."""
    raw = text.strip()
    if spec is None:
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        if re.fullmatch(r"[+-]?[0-9]+", raw) and abs(int(raw)) < 2**63:
            return int(raw)
        return text
    if spec.kind in ("bool", "switch"):
        return raw.lower() in ("true", "yes", "on", "1")
    if spec.kind == "int":
        return int(raw)
    if spec.kind == "octal":
        return int(raw[2:] if raw.lower().startswith("0o") else raw, 8)
    if spec.kind in ("size", "duration"):
        return raw
    if spec.kind == "strlist":
        return [item.strip() for item in raw.split(",")]
    if spec.kind == "floatlist":
        return [float(item) for item in raw.split(",")]
    return text


@SETTINGS
@given(document=json_values)
def test_arbitrary_json_is_refused_clearly(document: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            _load(Path(tmp), document)
        except ConfigError as error:
            _clear(error)


@SETTINGS
@given(text=st.text(max_size=200))
def test_arbitrary_text_as_config_json(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            _load(Path(tmp), text)
        except ConfigError as error:
            _clear(error)


@SETTINGS
@given(
    mount_options=st.dictionaries(option_names, option_texts, max_size=3)
    | st.lists(_valid_pairs(), max_size=8).map(dict),
    runtime=st.none()
    | st.dictionaries(option_names, option_texts, max_size=3)
    | st.lists(_valid_pairs(), max_size=5).map(dict),
)
def test_options_either_refused_or_read_back(
    mount_options: dict[str, str], runtime: dict[str, str] | None
) -> None:
    mount_options.pop("master-endpoints", None)
    if runtime is not None:
        runtime.pop("master-endpoints", None)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        try:
            settings_ = _load(directory, _document(mount_options, runtime))
        except ConfigError as error:
            _clear(error)
            return
        path = toml.write(settings_, directory / "home")
        conf = tomllib.loads(path.read_text())

    # Dataset options win over runtimeOptions for the same key.
    given_ = {**(runtime or {}), **mount_options}
    for name, text in given_.items():
        name = name.strip()
        if not text.strip():
            continue
        section, _, key = name.partition(".")
        if section not in ("client", "fuse") or not key:
            continue
        canonical, spec = options.toml_key(section, key, name)
        flags = {
            options.FUSE_FLAGS[f].toml: f for f in options.FUSE_FLAGS if f in given_
        }
        if section == "fuse" and canonical in flags:
            continue  # a flag of the same meaning; precedence decides which
        assert conf[section][canonical] == _expected(spec, text), name


@SETTINGS
@given(text=st.text(max_size=60))
def test_endpoint_text_is_refused_or_normalized(text: str) -> None:
    try:
        parsed = parse_endpoints(text)
    except ConfigError as error:
        _clear(error)
        return
    endpoints = parsed.endpoints
    assert endpoints, "never an empty list, never a default host"
    assert len(set(endpoints)) == len(endpoints)
    again = parse_endpoints(",".join(str(e) for e in endpoints)).endpoints
    assert again == endpoints
    assert all(1 <= e.port <= 65535 for e in endpoints)


@settings(max_examples=40, deadline=None)
@given(document=json_values)
def test_the_command_never_shows_a_traceback(document: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(document))
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(
                [
                    "--config",
                    str(path),
                    "--curvine-home",
                    str(Path(tmp) / "home"),
                    "--dry-run",
                    "--check-timeout",
                    "0.5",
                    "--parent-wait",
                    "0",
                ]
            )
    assume(code != 0)
    assert code in (EXIT_CONFIG, EXIT_CHECK)
    assert "Traceback" not in err.getvalue() + out.getvalue()
    assert err.getvalue().startswith("curvine-fluid: ")
