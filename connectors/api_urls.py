"""Which API URLs a source may point at: one check for every entry point (``add_source``, the settings
page, ``source_create``) and again when a connector is built for a sync or a connection test.

The token is sent to whatever answers at the URL, so it must be http(s), carry no credentials of its
own, and not reach a cloud metadata service or another link-local address (169.254.0.0/16, fe80::/10;
from inside a cloud VM those hand out the machine's own credentials).  Loopback and private ranges stay
allowed: self-hosted GitLab and GitHub Enterprise live on private networks (and the tests' fakes on
127.0.0.1).  ``SEXTANT_ALLOW_METADATA_HOSTS=true`` lifts the link-local/metadata block for the rare
setup that needs it.

The host name is resolved when checked, so a name pointing at a blocked address is refused too; a name
that does not resolve (yet) is let through, its sync then fails to connect.  The clients resolve again
when they connect, so a DNS answer that changes between the check and the connection is not covered.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

from connectors.base import ConnectorError

ALLOW_ENV = "SEXTANT_ALLOW_METADATA_HOSTS"
METADATA_NAMES = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "100.100.100.200",  # AWS, ECS, AWS v6, Alibaba
    )
)
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def metadata_hosts_allowed() -> bool:
    return os.environ.get(ALLOW_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _blocked(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_link_local or address in METADATA_ADDRESSES


def _addresses(host: str, port: int) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []  # not resolvable now: nothing to block; connecting will fail with its own error
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def api_url_check(url: str, *, option: str = "api_url") -> str:
    """``url`` unchanged when a token may be sent there; else a permanent one-line ConnectorError."""
    # The URL itself is not echoed: it could carry a secret in its query or user part.
    try:
        parts = urlsplit(url.strip())
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:
        raise ConnectorError(f"{option} is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        scheme = f"{parts.scheme[:20]}://" if parts.scheme else "no scheme"
        raise ConnectorError(f"{option} must start with http:// or https:// (got {scheme})")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise ConnectorError(f"{option} has no host name")
    if parts.username is not None or parts.password is not None:
        raise ConnectorError(f"{option} must not carry a user name or password (the token goes separately)")
    if metadata_hosts_allowed():
        return url
    blocked = next((a for a in _addresses(host, port) if _blocked(a)), None)
    if host in METADATA_NAMES or blocked is not None:
        where = f" ({blocked})" if blocked is not None and str(blocked) != host else ""
        raise ConnectorError(
            f"{option} host {host}{where} is a link-local or cloud metadata address; set {ALLOW_ENV}=true "
            "to allow it"
        )
    return url
