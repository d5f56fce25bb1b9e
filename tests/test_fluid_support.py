"""Helpers shared by the curvine-fluid tests (no tests of its own): config files
and runs of the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data" / "fluid"
SAMPLES = sorted((DATA / "configs").glob("*.json"))
REPO = Path(__file__).resolve().parent.parent
# Fluid's CRDs are read where the project's shared material keeps them; they
# are Fluid's text, not ours, so the repository holds no copy.
CRDS = REPO.parent / "shared" / "fluid" / "crds"


def write_config(directory: Path, document: Any, name: str = "config.json") -> Path:
    path = directory / name
    text = document if isinstance(document, str) else json.dumps(document)
    path.write_text(text)
    return path


def basic_config(
    endpoints: str, target: Path, mount_point: str = "curvine:///data", **options: str
) -> dict[str, Any]:
    """A config.json shaped like Fluid's thin-basic sample."""
    return {
        "mounts": [
            {
                "mountPoint": mount_point,
                "options": {"master-endpoints": endpoints, **options},
                "name": "curvine",
            }
        ],
        "targetPath": str(target),
        "accessModes": ["ReadOnlyMany"],
    }


def recorder(directory: Path) -> tuple[Path, Path]:
    """A tiny FUSE-client stand-in that writes its argv, one per line, and exits."""
    out = directory / "argv.txt"
    script = directory / "record-argv"
    script.write_text(
        "#!/bin/sh\n"
        f": > '{out}'\n"
        f'for a in "$0" "$@"; do printf "%s\\n" "$a" >> \'{out}\'; done\n'
        f"env > '{directory}/env.txt'\n"
    )
    script.chmod(0o755)
    return script, out


def fluid_args(
    cfg: str | os.PathLike[str],
    home: str | os.PathLike[str],
    fuse_bin: str | os.PathLike[str],
    *extra: str | os.PathLike[str],
) -> list[str]:
    """curvine-fluid's arguments for a config, a Curvine home and a FUSE program."""
    return [
        "--config",
        str(cfg),
        "--curvine-home",
        str(home),
        "--fuse-bin",
        str(fuse_bin),
        *map(str, extra),
    ]


def fluid_command(*args: str | os.PathLike[str]) -> list[str]:
    """The command line of ``python -m fluid`` with ``args``."""
    return [sys.executable, "-m", "fluid", *map(str, args)]


def run_fluid(
    *args: str | os.PathLike[str],
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m fluid`` with a clean Fluid/Curvine environment."""
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("CURVINE_", "FLUID_"))
    }
    base.update(env or {})
    return subprocess.run(
        fluid_command(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=base,
        cwd=REPO,
        check=False,
    )


def assert_clean_failure(proc: subprocess.CompletedProcess[str], code: int) -> None:
    """A failure with the given status, a message on stderr, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert proc.stderr.startswith("curvine-fluid: "), proc.stderr
