"""Failures of curvine-fluid and the exit status each one ends with."""

from __future__ import annotations

import re

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_CHECK = 4
EXIT_LAUNCH = 5


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: str) -> str:
    """``text`` with control characters escaped, so a message stays one line."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def clip(text: str, limit: int = 600) -> str:
    """``text`` cut in the middle to about ``limit`` characters, so a huge value
    cannot flood a log while the message's start and end (what to do) stay.

    Apply it after masking secrets: a secret cut in two would not be found.
    """
    if len(text) <= limit:
        return text
    keep = (limit - 30) // 2
    return f"{text[:keep]}...({len(text)} characters)...{text[-keep:]}"


class FluidError(Exception):
    """A failure that ends curvine-fluid with a message and no traceback."""

    exit_code = EXIT_INTERNAL


class UsageError(FluidError):
    """The command line asks for something that cannot work."""

    exit_code = EXIT_USAGE


class ConfigError(FluidError):
    """config.json, an option, an endpoint or a secret cannot work as given."""

    exit_code = EXIT_CONFIG

    def __init__(self, field: str, message: str) -> None:
        field, message = printable(field), printable(message)
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class CheckFailed(FluidError):
    """At least one pre-mount check failed; the report names it."""

    exit_code = EXIT_CHECK


class LaunchError(FluidError):
    """The FUSE client could not be started, or its files not written."""

    exit_code = EXIT_LAUNCH
