"""Master endpoint lists as people write them, normalized or refused."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from fluid.errors import ConfigError

DEFAULT_MASTER_PORT = 8995
# A raft group has a handful of masters; far more is a mistake in the list,
# and every check would hold a thread and a socket for each.
MAX_MASTERS = 64

_SEPARATORS = re.compile(r"[,;\s]+")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_PORT = re.compile(r"^[0-9]{1,32}$")
# An IPv6 zone names a network interface (Linux: at most 15 such characters).
_ZONE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")


@dataclass(frozen=True)
class Endpoint:
    """One master RPC address; ``host`` holds IPv6 literals without brackets."""

    host: str
    port: int

    @property
    def is_ipv6(self) -> bool:
        return ":" in self.host

    def __str__(self) -> str:
        if self.is_ipv6:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class EndpointList:
    """The normalized endpoints and what normalizing them changed."""

    endpoints: tuple[Endpoint, ...]
    notes: tuple[str, ...]

    def __str__(self) -> str:
        return ",".join(str(e) for e in self.endpoints)


def _describe(token: str, index: int, hidden: bool) -> str:
    return f"entry {index}" if hidden else f"entry {index} {token!r}"


def _shown(part: object, hidden: bool) -> str:
    """`` (value)`` for a message, or nothing when the value is a secret."""
    return "" if hidden else f" ({part!r})"


def _check_hostname(host: str, where: str, field: str, hidden: bool) -> str:
    name = host.removesuffix(".")
    if not name or len(name) > 253:
        raise ConfigError(field, f"{where}: the host name is empty or too long")
    for label in name.split("."):
        if "_" in label and _LABEL.match(label.replace("_", "-")):
            hint = "" if hidden else f": {label.replace('_', '-')!r}?"
            raise ConfigError(
                field,
                f"{where}: not a valid host name label{_shown(label, hidden)}; "
                f"'_' is not allowed, Kubernetes names use '-'{hint}",
            )
        if not _LABEL.match(label):
            raise ConfigError(
                field,
                f"{where}: not a valid host name label{_shown(label, hidden)}; "
                "labels are letters, digits and '-', at most 63 characters",
            )
    return name.lower()


def _parse_port(text: str, where: str, field: str, hidden: bool) -> int:
    if not _PORT.match(text):
        raise ConfigError(
            field, f"{where}: the port is not a number{_shown(text, hidden)}"
        )
    port = int(text.lstrip("0") or "0")
    if not 1 <= port <= 65535:
        raise ConfigError(
            field, f"{where}: the port is outside 1..65535{_shown(port, hidden)}"
        )
    return port


def _check_unicast(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    where: str,
    field: str,
    hidden: bool,
) -> None:
    """Refuse a listen-any, multicast or broadcast address: no master has one.

    ``0.0.0.0`` would reach this pod itself, a silent fall back to localhost.
    """
    broadcast = address == ipaddress.IPv4Address("255.255.255.255")
    if address.is_unspecified or address.is_multicast or broadcast:
        shown = "" if hidden else f" {address}"
        raise ConfigError(
            field,
            f"{where}:{shown} is not an address a master can have (it is a "
            "listen-any, multicast or broadcast address); give the master "
            "Service's name or a pod address",
        )


def _has_port(token: str) -> bool:
    return "]:" in token if token.startswith("[") else ":" in token


def parse_endpoint(token: str, index: int, field: str, hidden: bool) -> Endpoint:
    """Parse one ``host:port``, ``[v6]:port``, ``host`` or ``[v6]`` token."""
    where = _describe(token, index, hidden)
    if "://" in token:
        raise ConfigError(
            field, f"{where}: drop the scheme, write host:port (e.g. master-0:8995)"
        )

    if token.startswith("["):
        close = token.find("]")
        if close < 0:
            raise ConfigError(field, f"{where}: '[' without a closing ']'")
        literal, rest = token[1:close], token[close + 1 :]
        _, percent, zone = literal.partition("%")
        if percent and not _ZONE.match(zone):
            raise ConfigError(
                field,
                f"{where}: the IPv6 zone after '%' must name a network interface "
                "(letters, digits, '_', '.', '-')",
            )
        try:
            address = ipaddress.IPv6Address(literal)
        except ValueError:
            raise ConfigError(
                field, f"{where}: not an IPv6 address{_shown(literal, hidden)}"
            ) from None
        _check_unicast(address, where, field, hidden)
        if rest == "":
            return Endpoint(str(address), DEFAULT_MASTER_PORT)
        if not rest.startswith(":"):
            raise ConfigError(field, f"{where}: expected ':port' after ']'")
        return Endpoint(str(address), _parse_port(rest[1:], where, field, hidden))

    if token.count(":") > 1:
        raise ConfigError(
            field,
            f"{where}: write IPv6 addresses in brackets, e.g. [2001:db8::1]:8995",
        )

    host, sep, port_text = token.partition(":")
    if sep and not port_text:
        raise ConfigError(field, f"{where}: the port after ':' is missing")
    if not host:
        raise ConfigError(field, f"{where}: the host before ':' is missing")
    if sep:
        port = _parse_port(port_text, where, field, hidden)
    else:
        port = DEFAULT_MASTER_PORT

    try:
        v4 = ipaddress.IPv4Address(host)
    except ValueError:
        pass
    else:
        _check_unicast(v4, where, field, hidden)
        return Endpoint(str(v4), port)
    if re.fullmatch(r"[0-9.]+", host):
        raise ConfigError(
            field, f"{where}: not a valid IPv4 address{_shown(host, hidden)}"
        )
    return Endpoint(_check_hostname(host, where, field, hidden), port)


def parse_endpoints(
    text: str, field: str = "master-endpoints", hidden: bool = False
) -> EndpointList:
    """Split, normalize and de-duplicate a master endpoint list.

    Entries may be separated by commas, semicolons or white space; empty
    entries are skipped; a missing port means Curvine's default 8995; a
    repeated endpoint is kept once. With ``hidden`` (the list came from a
    secret) messages name entries by position only.
    """
    tokens = [t for t in _SEPARATORS.split(text.strip()) if t]
    if not tokens:
        raise ConfigError(
            field, "no master endpoint given; expected host:port[,host:port...]"
        )

    seen: dict[Endpoint, int] = {}
    notes: list[str] = []
    if len(tokens) > MAX_MASTERS:
        raise ConfigError(
            field,
            f"lists {len(tokens)} masters; give at most {MAX_MASTERS} (a Curvine "
            "cluster runs 3, 5 or 7), separated by commas",
        )
    for index, token in enumerate(tokens, start=1):
        endpoint = parse_endpoint(token, index, field, hidden)
        shown = f"entry {index}" if hidden else str(endpoint)
        if endpoint in seen:
            notes.append(f"{shown} repeats entry {seen[endpoint]}; kept once")
            continue
        if not _has_port(token):
            notes.append(f"{shown}: no port given, using {DEFAULT_MASTER_PORT}")
        seen[endpoint] = index
    return EndpointList(tuple(seen), tuple(notes))
