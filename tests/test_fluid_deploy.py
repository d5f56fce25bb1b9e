"""fluid/deploy: every manifest against Fluid's CRDs, and the image's wiring."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from test_fluid_support import CRDS, REPO, recorder, run_fluid, write_config

from curvine_py.testing import MiniCluster
from fluid import config, options, toml

DEPLOY = REPO / "fluid" / "deploy"
MANIFESTS = sorted(DEPLOY.glob("*.yaml"))


def _documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in MANIFESTS:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found.append((path.name, doc))
    return found


DOCS = _documents()


def _kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in DOCS if doc["kind"] == kind]


def _crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    schemas = {}
    for path in CRDS.glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            api = f"{group}/{version['name']}"
            schemas[(api, kind)] = version["schema"]["openAPIV3Schema"]
    return schemas


SCHEMAS = _crd_schemas()


def unknown_fields(value: Any, schema: dict[str, Any], where: str = "") -> list[str]:
    """Fields the schema does not declare: Kubernetes would drop them silently."""
    found: list[str] = []
    if isinstance(value, dict) and schema.get("type") == "object":
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if schema.get("x-kubernetes-preserve-unknown-fields") or (
            props is None and extra is None
        ):
            return found
        for key, item in value.items():
            path = f"{where}.{key}" if where else key
            if props and key in props:
                found += unknown_fields(item, props[key], path)
            elif isinstance(extra, dict):
                found += unknown_fields(item, extra, path)
            elif key not in ("apiVersion", "kind", "metadata") or where:
                found.append(path)
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += unknown_fields(item, schema["items"], f"{where}[{index}]")
    return found


def validate(doc: dict[str, Any]) -> None:
    schema = SCHEMAS[(doc["apiVersion"], doc["kind"])]
    jsonschema.validate(doc, schema)
    assert unknown_fields(doc, schema) == []


needs_crds = pytest.mark.skipif(
    not CRDS.is_dir(), reason=f"Fluid's CRDs are not at {CRDS}"
)


@needs_crds
def test_the_crds_are_here() -> None:
    kinds = {kind for _, kind in SCHEMAS}
    assert {"Dataset", "ThinRuntime", "ThinRuntimeProfile"} <= kinds


def test_every_kind_is_deployed() -> None:
    kinds = {doc["kind"] for _, doc in DOCS}
    assert {"Dataset", "ThinRuntime", "ThinRuntimeProfile", "Pod"} <= kinds


@needs_crds
@pytest.mark.parametrize(
    "doc",
    [doc for _, doc in DOCS if doc["apiVersion"].startswith("data.fluid.io/")],
    ids=lambda d: f"{d['kind']}/{d['metadata']['name']}",
)
def test_fluid_manifests_match_the_crds(doc: dict[str, Any]) -> None:
    assert doc["metadata"]["name"]
    validate(doc)


@needs_crds
def test_validation_catches_mistakes() -> None:
    profile = copy.deepcopy(_kind("ThinRuntimeProfile")[0])
    profile["spec"]["fileSystemType"] = 7
    with pytest.raises(jsonschema.ValidationError):
        validate(profile)
    dataset = copy.deepcopy(_kind("Dataset")[0])
    dataset["spec"]["mounts"][0]["mountPont"] = dataset["spec"]["mounts"][0].pop(
        "mountPoint"
    )
    with pytest.raises((jsonschema.ValidationError, AssertionError)):
        validate(dataset)
    runtime = copy.deepcopy(_kind("ThinRuntime")[0])
    runtime["spec"]["profilename"] = "typo"
    assert unknown_fields(runtime, SCHEMAS[(runtime["apiVersion"], "ThinRuntime")]) == [
        "spec.profilename"
    ]


def test_profile_matches_what_curvine_fuse_mounts() -> None:
    (profile,) = _kind("ThinRuntimeProfile")
    # curvine-fuse mounts type "fuse" with subtype "curvinefs".
    assert profile["spec"]["fileSystemType"] == "fuse.curvinefs"
    fuse = profile["spec"]["fuse"]
    assert fuse["command"] == ["curvine-fluid"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert fuse[probe]["exec"]["command"] == ["curvine-readiness-probe"]


def test_profile_env_names_options_curvine_fluid_reads() -> None:
    (profile,) = _kind("ThinRuntimeProfile")
    names = [e["name"] for e in profile["spec"]["fuse"]["env"]]
    known = {
        "CURVINE_" + n.upper().replace("-", "_")
        for n in [*options.GENERAL, *options.FUSE_FLAGS]
    }
    assert names and set(names) <= known


def test_runtimes_datasets_profile_and_pod_fit_together() -> None:
    (profile,) = _kind("ThinRuntimeProfile")
    datasets = {d["metadata"]["name"] for d in _kind("Dataset")}
    for runtime in _kind("ThinRuntime"):
        assert runtime["spec"]["profileName"] == profile["metadata"]["name"]
        assert runtime["metadata"]["name"] in datasets
    for pod in _kind("Pod"):
        claims = [
            v["persistentVolumeClaim"]["claimName"]
            for v in pod["spec"]["volumes"]
            if "persistentVolumeClaim" in v
        ]
        assert claims and set(claims) <= datasets
    for dataset in _kind("Dataset"):
        for mount in dataset["spec"]["mounts"]:
            config.dataset_path(mount["mountPoint"])
            refs = [
                e["valueFrom"]["secretKeyRef"] for e in mount.get("encryptOptions", [])
            ]
            secrets = {s["metadata"]["name"]: s for s in _kind("Secret")}
            for ref in refs:
                assert ref["key"] in secrets[ref["name"]]["stringData"]


def test_dockerfile_wiring() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert stages[-1] == "ubuntu:24.04"
    assert re.search(r'^ENTRYPOINT \["curvine-fluid"\]$', text, re.MULTILINE)
    assert "/opt/curvine/lib/curvine-fuse" in text
    assert "CURVINE_HOME=/opt/curvine" in text
    for source in re.findall(r"^COPY (?!--from)(\S+) ", text, re.MULTILINE):
        if source != ".":
            assert (REPO / source).exists(), source
    assert "curvine-readiness-probe" in text


# -- the guide's Dataset, as Fluid turns it into config.json ----------------


def fluid_config(
    dataset: dict[str, Any],
    runtime: dict[str, Any],
    secrets_dir: Path = Path("/etc/fluid/secrets"),
) -> dict[str, Any]:
    """config.json the way Fluid's ThinRuntime controller writes it, with
    encryptOptions as secret file paths (its default configmap mode)."""
    spec = dataset["spec"]
    mounts = []
    for mount in spec["mounts"]:
        merged = {**spec.get("sharedOptions", {}), **mount.get("options", {})}
        for item in mount.get("encryptOptions", []):
            ref = item["valueFrom"]["secretKeyRef"]
            merged[item["name"]] = str(secrets_dir / ref["name"] / ref["key"])
        mounts.append(
            {
                "mountPoint": mount["mountPoint"],
                "options": dict(sorted(merged.items())),
                "name": mount.get("name", ""),
            }
        )
    namespace = dataset["metadata"].get("namespace", "default")
    name = dataset["metadata"]["name"]
    return {
        "mounts": mounts,
        "targetPath": f"/runtime-mnt/thin/{namespace}/{name}/thin-fuse",
        "runtimeOptions": runtime.get("spec", {}).get("fuse", {}).get("options", {}),
        "accessModes": spec.get("accessModes", []),
    }


def _guide() -> tuple[dict[str, Any], dict[str, Any]]:
    dataset = next(
        d for d in _kind("Dataset") if d["metadata"]["name"] == "curvine-dataset"
    )
    runtime = next(
        r for r in _kind("ThinRuntime") if r["metadata"]["name"] == "curvine-dataset"
    )
    return dataset, runtime


def test_the_guide_dataset_as_written(tmp_path: Path) -> None:
    dataset, runtime = _guide()
    doc = fluid_config(dataset, runtime)
    settings = config.load(write_config(tmp_path, doc), {})
    conf = toml.render(settings)
    written = dataset["spec"]["mounts"][0]["options"]["master-endpoints"].split(",")
    assert [
        f"{a['hostname']}:{a['port']}" for a in conf["client"]["master_addrs"]
    ] == written
    assert conf["master"]["web_port"] == 9000
    assert conf["fuse"]["fs_path"] == "/data"
    assert dict(settings.fuse_flags) == {
        "attr-timeout-ms": 30000,
        "entry-timeout-ms": 30000,
    }


def test_the_guide_dataset_against_a_mini_cluster(
    tmp_path: Path, cluster: MiniCluster
) -> None:
    with cluster.client() as client:
        client.mkdir("/data", exist_ok=True)
    dataset, runtime = _guide()
    doc = fluid_config(dataset, runtime)
    doc["mounts"][0]["options"]["master-endpoints"] = cluster.master_endpoints
    doc["targetPath"] = str(tmp_path / "runtime-mnt" / "thin-fuse")
    (tmp_path / "runtime-mnt").mkdir()
    fuse_bin, _ = recorder(tmp_path)
    proc = run_fluid(
        "--config",
        write_config(tmp_path, doc),
        "--curvine-home",
        tmp_path / "home",
        "--fuse-bin",
        fuse_bin,
        "--dry-run",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "--attr-timeout-ms 30000" in proc.stdout


SHARED = REPO.parent / "shared" / "fluid"


@pytest.mark.skipif(not SHARED.is_dir(), reason="no ../shared/fluid next to this clone")
def test_the_copied_samples_match_the_shared_ones() -> None:
    for path in sorted((SHARED / "configs").iterdir()):
        copy_ = REPO / "tests" / "data" / "fluid" / "configs" / path.name
        assert copy_.read_bytes() == path.read_bytes(), copy_


def test_the_secret_dataset_reads_its_secret(tmp_path: Path) -> None:
    (secret,) = _kind("Secret")
    dataset = next(
        d for d in _kind("Dataset") if "encryptOptions" in d["spec"]["mounts"][0]
    )
    runtime = next(
        r
        for r in _kind("ThinRuntime")
        if r["metadata"]["name"] == dataset["metadata"]["name"]
    )
    secrets = tmp_path / "secrets"
    for key, value in secret["stringData"].items():
        path = secrets / secret["metadata"]["name"] / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value)

    doc = fluid_config(dataset, runtime, secrets)
    settings = config.load(write_config(tmp_path, doc), {}, secrets_dir=secrets)
    assert settings.endpoints_secret and settings.has_secrets
    written = toml.render(settings)["client"]["master_addrs"]
    wanted = secret["stringData"]["endpoints"].split(",")
    assert [f"{a['hostname']}:{a['port']}" for a in written] == wanted
