"""What curvine-fluid tells people: one line per step for ``kubectl logs``, and
the same report as JSON for ``--report FILE``."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from fluid.checks import FAILED, CheckResult
from fluid.secrets import Redactor

_MARKS = {"ok": "ok", "failed": "FAILED", "warning": "warning", "skipped": "skipped"}


@dataclass
class Report:
    """Collects check results and prints each as it arrives."""

    out: TextIO
    redactor: Redactor = field(default_factory=Redactor)
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    lost: bool = False

    def say(self, text: str) -> None:
        """Print one line for people, with any secret value masked.

        Output nobody can read (a closed pipe, a full disk) is dropped: it
        must not stop the mount.
        """
        if self.lost:
            return
        try:
            self.out.write(self.redactor.scrub(text) + "\n")
            self.out.flush()
        except (OSError, ValueError):
            self.lost = True
            _drop(self.out)

    def note(self, text: str) -> None:
        self.notes.append(self.redactor.scrub(text))
        self.say(f"note: {text}")

    def check(self, result: CheckResult) -> None:
        result.detail = self.redactor.scrub(result.detail)
        result.fix = self.redactor.scrub(result.fix)
        self.checks.append(result)
        line = (
            f"check {result.name:<26} {_MARKS[result.status]:<7} "
            f"{result.seconds:6.2f}s  {result.detail}"
        )
        if result.fix and result.status != "ok":
            line += f" -- fix: {result.fix}"
        self.say(line)

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == FAILED]

    def as_dict(self, exit_code: int, error: str | None) -> dict[str, Any]:
        return {
            "ok": exit_code == 0,
            "exit_code": exit_code,
            "error": self.redactor.scrub(error) if error else None,
            "started": self.started,
            "checks": [asdict(c) for c in self.checks],
            "notes": self.notes,
            **{k: _scrub_any(self.redactor, v) for k, v in self.facts.items()},
        }

    def write_json(self, path: Path, exit_code: int, error: str | None) -> None:
        from fluid.toml import write_atomic

        text = json.dumps(self.as_dict(exit_code, error), indent=2) + "\n"
        write_atomic(path, text.encode("utf-8"), private=False)


def _drop(stream: TextIO) -> None:
    """Point a stream that cannot be written at /dev/null, so that neither the
    final flush at exit nor a program exec'd on it meets the error again."""
    try:
        fd = stream.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


def _scrub_any(redactor: Redactor, value: Any) -> Any:
    if isinstance(value, str):
        return redactor.scrub(value)
    if isinstance(value, list):
        return [_scrub_any(redactor, v) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_any(redactor, v) for k, v in value.items()}
    return value
