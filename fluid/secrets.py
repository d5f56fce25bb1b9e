"""Option values that came from Fluid's encryptOptions, and keeping them hidden.

In Fluid's default "configmap" mode such an option arrives as the path of a
file under ``/etc/fluid/secrets/<secret>/<key>`` whose content is the value;
in "secret" mode it arrives inline, inside a config.json that is itself a
Secret. Either way the value must not reach a log line, the report, a
process's argv or a file others can read.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from fluid.errors import ConfigError

DEFAULT_SECRETS_DIR = Path("/etc/fluid/secrets")
MAX_SECRET_BYTES = 64 * 1024

# Option names that hold credentials by their look, whatever mode Fluid used.
_SENSITIVE = re.compile(
    r"(secret|passw|token|credential|access[_-]?key|private[_-]?key|auth)",
    re.IGNORECASE,
)

MASK = "***"


def looks_sensitive(name: str) -> bool:
    return bool(_SENSITIVE.search(name))


def is_reference(value: str, secrets_dir: Path) -> bool:
    """Whether an option value is the path of a Fluid secret file."""
    root = str(secrets_dir).rstrip("/") + "/"
    return value.strip().startswith(root)


def read_reference(name: str, value: str, secrets_dir: Path) -> str:
    """Read the value a secret file reference stands for.

    The file, after every symlink, must lie inside ``secrets_dir``: an option
    cannot use the form of a reference to read some other file of the pod.
    """
    path = Path(value.strip())
    secret = _secret_name(path, secrets_dir)
    real = os.path.realpath(path)
    root = os.path.realpath(secrets_dir)
    if not real.startswith(root.rstrip("/") + "/"):
        raise ConfigError(
            name,
            f"its secret file {path} lies outside {secrets_dir}; give the path "
            "Fluid mounts the Secret at, <secrets dir>/<secret>/<key>",
        )
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigError(
            name,
            f"its secret file {path} does not exist; check that the Secret named "
            f"{secret!r} exists in the Dataset's namespace and has that key",
        ) from None
    except OSError as exc:
        raise ConfigError(
            name, f"its secret file {path} cannot be read: {exc.strerror}"
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(name, f"its secret file {path} is not a regular file")
        if info.st_size > MAX_SECRET_BYTES:
            raise ConfigError(
                name,
                f"its secret file {path} is larger than {MAX_SECRET_BYTES} bytes",
            )
        data = os.read(fd, MAX_SECRET_BYTES + 1)
    except OSError as exc:
        raise ConfigError(
            name, f"its secret file {path} cannot be read: {exc.strerror}"
        ) from None
    finally:
        os.close(fd)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(name, f"its secret file {path} is not UTF-8 text") from None
    text = text.rstrip("\r\n")
    if not text.strip():
        raise ConfigError(
            name,
            f"its secret file {path} is empty; give the key {path.name!r} of the "
            f"Secret {secret!r} a value",
        )
    return text


def _secret_name(path: Path, secrets_dir: Path) -> str:
    try:
        return path.relative_to(secrets_dir).parts[0]
    except (ValueError, IndexError):
        return str(path.parent.name)


@dataclass
class Redactor:
    """Replaces every known secret value in text meant for people."""

    values: set[str] = field(default_factory=set)
    hosts: set[str] = field(default_factory=set)

    def add(self, value: str) -> None:
        # Very short values would blank out ordinary words; they are still
        # kept out of argv and logs by construction, not by this filter.
        for part in {value, value.strip()}:
            if len(part) >= 3:
                self.values.add(part)

    def add_host(self, host: str) -> None:
        """A host name from a secret: masked where it stands as a name of its
        own, not where it is part of a word, a path or a URL's scheme (a master
        Service called ``curvine`` must not blank out ``curvine-fluid``)."""
        if len(host) >= 3:
            self.hosts.add(host)

    def scrub(self, text: str) -> str:
        for value in sorted(self.values, key=len, reverse=True):
            text = text.replace(value, MASK)
        for host in sorted(self.hosts, key=len, reverse=True):
            text = re.sub(
                rf"(?<![A-Za-z0-9._/-]){re.escape(host)}(?![A-Za-z0-9_/-]|://)",
                MASK,
                text,
            )
        return text

    def __bool__(self) -> bool:
        return bool(self.values or self.hosts)


def file_mode(private: bool) -> int:
    """The mode for a file curvine-fluid writes: owner-only when it holds secrets."""
    return 0o600 if private else 0o644
