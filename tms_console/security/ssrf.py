"""Server-side request forgery guard for the URLs agents give to the outgoing webhook.

An agent-supplied URL makes our backend send requests from inside our network, so the destination
must be a public https endpoint: not loopback, a private or link-local network, carrier-grade NAT,
multicast, a reserved range or a cloud metadata service (OWASP SSRF Prevention Cheat Sheet).

Two layers, because a hostname can resolve differently from one moment to the next (DNS rebinding):

- `check_destination` validates a URL when the agent saves it and gives a user-facing reason.
- `GuardedTransport` (via `webhook_client`) resolves and checks the host again at connect time and
  connects to exactly the address it checked, so nothing can change between check and connect. TLS
  still verifies the certificate against the hostname (httpcore sends the URL's host as SNI).

Redirects are never followed (`follow_redirects=False`): a 3xx to `http://169.254.169.254/` would
otherwise bypass both checks. Proxies from the environment are ignored (`trust_env=False`), since a
proxy would make the connection on our behalf to an address we never checked.

The rules are the same in every mode. The one exception is an exact allow-listed origin
(`allowed_origin`: scheme, host and port), which production never has: in dev and test it is the local
stand-in providers' origin (`Settings.dev_origin`), served over plain http on loopback. Nothing else on
that host, no other port and no other scheme, is exempt. Cloud metadata addresses are refused even there.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
RESOLVE_TIMEOUT_SECONDS = 5.0

METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("169.254.169.123"),  # AWS time sync
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
        ipaddress.ip_address("fd00:ec2::23"),  # AWS ECS over IPv6
    }
)
METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)
CARRIER_GRADE_NAT = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598; not `is_private` in Python 3.11
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address
# WHATWG URL: a host whose last label is a number is an IPv4 address in some spelling
# ("2130706433", "0x7f.1", "017700000001", "127.1"); only the plain dotted quad is accepted.
NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)

# A connection idle this long is not reused. Many servers close idle ones after 5 s (uvicorn's and Node's
# default, httpx's own expiry): reused at that very moment, the request fails unanswered (ReadError), which
# a delivery pays with a retry slot. Seen in tests/faults: a Slack post on a connection idle 5.0 s.
KEEPALIVE_EXPIRY = 4.0


class DestinationError(ValueError):
    """A webhook URL we refuse to call; `str(error)` is a sentence to show the agent."""


async def check_destination(url: str, *, allowed_origin: str | None = None) -> str:
    """Validate a webhook URL and return it normalized (lower-case host, punycode, no fragment).

    Args:
        url: what the agent typed.
        allowed_origin: the one origin exempt from the https and address rules (dev and test only).

    Returns:
        The URL to store and call.

    Raises:
        DestinationError: with a user-facing reason.
    """
    parsed = parse_destination(url, allowed_origin=allowed_origin)
    host = parsed.raw_host.decode("ascii").strip("[]")  # punycode, as the connection will use it
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    exempt = _origin(parsed) == _normalized(allowed_origin)
    for address in await resolve(host, port):
        check_address(address, allow_private=exempt, host=host)
    return str(parsed.copy_with(fragment=None))


def parse_destination(url: object, *, allowed_origin: str | None = None) -> httpx.URL:
    """The syntactic checks of `check_destination`, with httpx's parser (the one that will send).

    Raises:
        DestinationError: for anything but an absolute http(s) URL we are willing to call.
    """
    if not isinstance(url, str) or not url.strip():
        raise DestinationError("Enter the URL of your webhook endpoint.")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise DestinationError(f"The URL is too long (at most {MAX_URL_LENGTH} characters).")
    if not url.isprintable() or any(c in url for c in " \\"):
        raise DestinationError("The URL contains spaces, backslashes or control characters.")
    try:
        _check_numeric_host(urlsplit(url).hostname or "")
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        if isinstance(exc, DestinationError):
            raise
        raise DestinationError("This is not a valid URL.") from None
    if parsed.port is not None and not 0 < parsed.port <= 65535:
        raise DestinationError("This is not a valid URL (the port must be 1 to 65535).")
    if parsed.scheme != "https" and _origin(parsed) != _normalized(allowed_origin):
        raise DestinationError("The URL must start with https://.")
    if parsed.userinfo:
        raise DestinationError("The URL must not contain a user name or password.")
    host = parsed.host.rstrip(".").lower()
    if not host:
        raise DestinationError("The URL has no host name.")
    if host in METADATA_HOSTS:
        raise DestinationError("The URL points to a cloud metadata service.")
    _check_numeric_host(host)
    return parsed


def _check_numeric_host(host: str) -> None:
    host = host.rstrip(".").lower()
    if ":" not in host and NUMERIC_LABEL.match(host.rsplit(".", 1)[-1]):
        try:
            ipaddress.IPv4Address(host)  # the canonical dotted quad only (no octal, hex, short forms)
        except ValueError:
            raise DestinationError(
                "Write an IP address as four decimal numbers, like 203.0.113.10."
            ) from None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, via the system resolver in a worker thread.

    Raises:
        DestinationError: the name does not resolve (in time).
    """
    try:
        return [ipaddress.ip_address(host.strip("[]"))]  # a literal needs no lookup
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, TimeoutError):
        raise DestinationError(f"The host name {host} could not be resolved.") from None
    addresses = _unique(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos)
    if not addresses:
        raise DestinationError(f"The host name {host} could not be resolved.")
    return addresses


def check_address(address: IPAddress, *, allow_private: bool, host: str = "") -> None:
    """Refuse an address that is not a public unicast address (or metadata, always).

    Addresses embedding an IPv4 address (IPv4-mapped, NAT64, 6to4, IPv4-compatible) are judged by it.

    Raises:
        DestinationError: naming the kind of address and the host that resolved to it.
    """
    reason = forbidden_reason(address, allow_private=allow_private)
    if reason:
        where = f"{host} resolves to" if host and host != str(address) else "The URL points to"
        raise DestinationError(f"{where} {reason}; webhooks can only be sent to public addresses.")


def forbidden_reason(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why `address` may not be called (a phrase like "a loopback address"), or None."""
    for candidate in _judged_addresses(address):
        if candidate in METADATA_ADDRESSES:
            return "a cloud metadata address"
        if allow_private:
            continue
        if candidate.is_unspecified:
            return "an unspecified address"
        if candidate.is_loopback:
            return "a loopback address"
        if candidate.is_link_local:
            return "a link-local address"
        if candidate.is_multicast:
            return "a multicast address"
        if candidate.version == 4 and candidate in CARRIER_GRADE_NAT:
            return "a carrier-grade NAT address"
        if candidate.is_private:
            return "a private network address"
        if candidate.is_reserved or not candidate.is_global:
            return "a reserved address"
    return None


def _judged_addresses(address: IPAddress) -> list[IPAddress]:
    # IPv4-mapped and NAT64 addresses are just another spelling of their IPv4 address; 6to4 and
    # IPv4-compatible ones are judged both as themselves and by the IPv4 address they carry.
    if not isinstance(address, ipaddress.IPv6Address):
        return [address]
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in NAT64:
        return [low32]
    judged: list[IPAddress] = [address]
    if address.sixtofour is not None:
        judged.append(address.sixtofour)
    if int(address) >> 32 == 0 and int(address) > 1:  # IPv4-compatible (deprecated) ::a.b.c.d
        judged.append(low32)
    return judged


def _unique(addresses: Iterable[IPAddress]) -> list[IPAddress]:
    return list(dict.fromkeys(addresses))


def _origin(url: httpx.URL) -> str:
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.scheme}://{url.host.rstrip('.').lower()}:{port}"


def _normalized(origin: str | None) -> str | None:
    """`http://LocalHost:8001/` -> `http://localhost:8001` (explicit port), or None."""
    if not origin:
        return None
    try:
        return _origin(httpx.URL(origin))
    except (httpx.InvalidURL, ValueError):
        return None


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks and connects in one step, so the checked address is the connected one."""

    def __init__(
        self, *, allowed_origin: str | None = None, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        # The transport sees host and port only; the scheme was checked when the URL was parsed.
        normalized = _normalized(allowed_origin)
        allowed = httpx.URL(normalized) if normalized else None
        self._exempt = (allowed.host, allowed.port) if allowed is not None else None
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve(host, port)
        exempt = (host.rstrip(".").lower(), port) == self._exempt
        for address in addresses:  # all of them: a name mixing public and private answers is refused
            check_address(address, allow_private=exempt, host=host)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationError("Webhooks are sent over TCP only.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@functools.cache
def verifying_context() -> ssl.SSLContext:
    """The default certificate-verifying TLS context, built once: loading the CA bundle costs ~30 ms of
    CPU, and a webhook delivery opens a client of its own. A context is only read once configured, so
    every client (and thread) may share it."""
    return httpx.create_ssl_context()


class GuardedTransport(httpx.AsyncHTTPTransport):
    """An httpx transport whose every connection goes through `GuardedNetworkBackend`.

    httpx 0.28 has no public `network_backend` argument, so the connection pool built by
    `AsyncHTTPTransport.__init__` is replaced by an equivalent one using the guarded backend (httpcore's
    public API); tests/unit/test_ssrf.py proves connections really go through it.
    """

    def __init__(
        self,
        *,
        allowed_origin: str | None = None,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits | None = None,
    ) -> None:
        limits = limits or httpx.Limits(
            max_connections=50, max_keepalive_connections=10, keepalive_expiry=KEEPALIVE_EXPIRY
        )
        if verify is True:
            verify = verifying_context()
        context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        super().__init__(verify=context, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedNetworkBackend(allowed_origin=allowed_origin),
        )


def webhook_client(*, allowed_origin: str | None = None, timeout: float = 10.0) -> httpx.AsyncClient:
    """An httpx client for webhook deliveries: guarded connections, no redirects, no env proxies.

    Callers still bound the whole exchange (`asyncio.timeout`) and the response size, as
    `tms_console.oauth.http.request` does: httpx's read timeout restarts with every chunk.
    """
    return httpx.AsyncClient(
        transport=GuardedTransport(allowed_origin=allowed_origin),
        timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": "tms-console-webhooks/0.1"},
    )
