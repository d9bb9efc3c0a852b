"""The webhook SSRF guard: URL checks at save time, and the transport that re-checks at connect time."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tms_console.security import ssrf
from tms_console.security.ssrf import DestinationError, check_destination, webhook_client

REFUSED_ADDRESSES = [
    ("https://127.0.0.1/hook", "loopback"),
    ("https://127.8.9.10/hook", "loopback"),
    ("https://[::1]/hook", "loopback"),
    ("https://10.0.0.1/hook", "private"),
    ("https://172.16.5.4/hook", "private"),
    ("https://192.168.0.10/hook", "private"),
    ("https://[fc00::1]/hook", "private"),
    ("https://[fd12:3456::1]/hook", "private"),
    ("https://169.254.10.20/hook", "link-local"),
    ("https://[fe80::1]/hook", "link-local"),
    ("https://224.0.0.1/hook", "multicast"),
    ("https://[ff02::1]/hook", "multicast"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://[::]/hook", "unspecified"),
    ("https://100.64.0.1/hook", "carrier-grade NAT"),
    ("https://100.127.255.254/hook", "carrier-grade NAT"),
    ("https://169.254.169.254/latest/meta-data/", "metadata"),
    ("https://[fd00:ec2::254]/latest/meta-data/", "metadata"),
    ("https://[::ffff:127.0.0.1]/hook", "loopback"),
    ("https://[::ffff:7f00:1]/hook", "loopback"),
    ("https://[::ffff:10.1.2.3]/hook", "private"),
    ("https://[::ffff:169.254.169.254]/hook", "metadata"),
    ("https://[64:ff9b::a9fe:a9fe]/hook", "metadata"),  # NAT64 spelling of 169.254.169.254
    ("https://[2002:7f00:1::]/hook", "loopback"),  # 6to4 around 127.0.0.1
    ("https://192.0.2.10/hook", "private"),  # documentation range: not routable
]

NUMERIC_TRICKS = [
    "https://2130706433/",  # 127.0.0.1 as one decimal number
    "https://0x7f.1/",
    "https://0x7f000001/",
    "https://017700000001/",  # octal
    "https://0177.0.0.1/",
    "https://127.1/",
    "https://127.0.0.01/",
    "https://3232235521/",  # 192.168.0.1
    "https://0251.0376.0251.0376/",  # 169.254.169.254 in octal
]

MALFORMED = [
    ("", "Enter the URL"),
    ("   ", "Enter the URL"),
    ("not a url", "spaces"),
    ("hooks.example.com/x", "https://"),
    ("http://hooks.example.com/x", "https://"),
    ("ftp://hooks.example.com/x", "https://"),
    ("javascript:alert(1)", "https://"),
    ("https://user:pw@hooks.example.com/x", "user name or password"),
    ("https://user@hooks.example.com/x", "user name or password"),
    ("https://hooks.example.com\\@evil.test/", "backslashes"),
    ("https://hooks.example.com/\x00", "control characters"),
    ("https:///nohost", "no host"),
    ("https://hooks.example.com:99999/", "not a valid URL"),
    ("https://" + "a" * 2100 + ".com/", "too long"),
    ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ("https://METADATA.GOOGLE.INTERNAL./computeMetadata/v1/", "metadata"),
]


def fake_dns(table: dict[str, list[str] | Callable[[], list[str]]]) -> Callable[..., Any]:
    """A getaddrinfo answering from `table` (a list, or a function for answers that change)."""

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        entry = table.get(host)
        if entry is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answers = entry() if callable(entry) else entry
        port_number = int(port or 0)
        return [
            (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port_number))
            for ip in answers
        ]

    return getaddrinfo


@pytest.mark.parametrize(("url", "kind"), REFUSED_ADDRESSES)
async def test_non_public_addresses_are_refused(url: str, kind: str) -> None:
    with pytest.raises(DestinationError, match=kind):
        await check_destination(url, allowed_origin=None)


@pytest.mark.parametrize("url", NUMERIC_TRICKS)
@pytest.mark.parametrize("allowed_origin", [None, "http://127.0.0.1:8000"])
async def test_numeric_ip_spellings_are_refused(url: str, allowed_origin: str | None) -> None:
    with pytest.raises(DestinationError, match="four decimal numbers"):
        await check_destination(url, allowed_origin=allowed_origin)


@pytest.mark.parametrize(("url", "message"), MALFORMED)
async def test_malformed_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(DestinationError, match=message):
        await check_destination(url, allowed_origin=None)


@pytest.mark.parametrize(
    "url",
    ["https://169.254.169.254/", "http://169.254.169.254/", "https://[fd00:ec2::254]/", "http://metadata/"],
)
async def test_metadata_is_refused_even_on_the_allowed_origin(url: str) -> None:
    origin = url.rstrip("/")
    with pytest.raises(DestinationError, match="metadata"):
        await check_destination(url, allowed_origin=origin)


async def test_destination_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="loopback"):
        await check_destination("https://127.0.0.1/", allowed_origin=None)


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("https://93.184.216.34/hook?x=1", "https://93.184.216.34/hook?x=1"),
        ("https://[2606:4700:4700::1111]/x", "https://[2606:4700:4700::1111]/x"),
        ("  https://Hooks.Example.COM/path/#frag  ", "https://hooks.example.com/path/"),
        ("https://bücher.example/h", "https://xn--bcher-kva.example/h"),
    ],
)
async def test_public_destinations_are_normalized(
    url: str, normalized: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dns = {"hooks.example.com": ["93.184.216.34"], "xn--bcher-kva.example": ["2606:4700::6810:84e5"]}
    monkeypatch.setattr(socket, "getaddrinfo", fake_dns(dns))  # type: ignore[arg-type]
    assert await check_destination(url, allowed_origin=None) == normalized


async def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", fake_dns({"intranet.example.com": ["10.20.30.40"]}))
    with pytest.raises(DestinationError, match=r"intranet\.example\.com resolves to a private"):
        await check_destination("https://intranet.example.com/hook", allowed_origin=None)


async def test_a_name_with_one_private_answer_among_public_ones_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dns = {"mixed.example.com": ["93.184.216.34", "127.0.0.1"]}
    monkeypatch.setattr(socket, "getaddrinfo", fake_dns(dns))  # type: ignore[arg-type]
    with pytest.raises(DestinationError, match="loopback"):
        await check_destination("https://mixed.example.com/", allowed_origin=None)


async def test_an_unresolvable_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", fake_dns({}))
    with pytest.raises(DestinationError, match="could not be resolved"):
        await check_destination("https://nowhere.example.com/", allowed_origin=None)


async def test_localhost_is_refused_by_resolution() -> None:
    with pytest.raises(DestinationError, match="localhost resolves to a loopback"):
        await check_destination("https://localhost/hook", allowed_origin=None)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://127.0.0.1:8000/sandbox/webhook/receive/a", "http://127.0.0.1:8000"),
        ("http://localhost:9/x", "http://LOCALHOST:9/"),
        ("https://10.1.1.1/", "https://10.1.1.1:443"),
    ],
)
async def test_exactly_the_allowed_origin_is_exempt(url: str, origin: str) -> None:
    assert await check_destination(url, allowed_origin=origin) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8001/x",  # another port on the allowed host
        "https://127.0.0.1:8000/x",  # another scheme
        "http://localhost:8000/x",  # another spelling of the host is another origin
        "http://10.0.0.1:8000/x",  # another host
    ],
)
async def test_the_rules_hold_everywhere_else(url: str) -> None:
    with pytest.raises(DestinationError):
        await check_destination(url, allowed_origin="http://127.0.0.1:8000")


# --- The transport: real connections to a local server --------------------------------------------


@dataclass
class LocalServer:
    port: int
    requests: list[bytes] = field(default_factory=list)
    response: bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


@pytest.fixture
async def local_server() -> AsyncIterator[LocalServer]:
    state = LocalServer(port=0)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.requests.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(state.response)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    async with server:
        yield state


async def test_transport_refuses_to_connect_to_loopback(local_server: LocalServer) -> None:
    async with webhook_client(allowed_origin=None) as client:
        with pytest.raises(DestinationError, match="loopback"):
            await client.post(f"http://127.0.0.1:{local_server.port}/hook", json={"a": 1})
    # An allowed origin on another port does not open this one.
    async with webhook_client(allowed_origin=f"http://127.0.0.1:{local_server.port + 1}") as client:
        with pytest.raises(DestinationError, match="loopback"):
            await client.post(f"http://127.0.0.1:{local_server.port}/hook", json={"a": 1})
    assert local_server.requests == []


async def test_transport_defeats_dns_rebinding(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # public when checked, loopback when used
    monkeypatch.setattr(socket, "getaddrinfo", fake_dns({"rebind.example.com": lambda: next(answers)}))
    checked = await check_destination(
        f"https://rebind.example.com:{local_server.port}/hook", allowed_origin=None
    )
    assert checked == f"https://rebind.example.com:{local_server.port}/hook"
    async with webhook_client(allowed_origin=None) as client:  # plain http: the local server has no TLS
        with pytest.raises(DestinationError, match="loopback"):
            await client.post(f"http://rebind.example.com:{local_server.port}/hook", json={"a": 1})
    assert local_server.requests == []


async def test_transport_connects_to_the_address_it_checked(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The name exists only in our resolver: the connection can only have used the checked answer.
    monkeypatch.setattr(socket, "getaddrinfo", fake_dns({"pinned.example.com": ["127.0.0.1"]}))
    async with webhook_client(allowed_origin=f"http://pinned.example.com:{local_server.port}") as client:
        response = await client.get(f"http://pinned.example.com:{local_server.port}/hook")
    assert response.status_code == 200
    assert f"host: pinned.example.com:{local_server.port}".encode() in local_server.requests[0].lower()


async def test_redirects_are_not_followed(local_server: LocalServer) -> None:
    local_server.response = (
        b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest/meta-data/\r\n"
        b"Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    async with webhook_client(allowed_origin=f"http://127.0.0.1:{local_server.port}") as client:
        response = await client.post(f"http://127.0.0.1:{local_server.port}/hook", json={})
    assert response.status_code == 302
    assert len(local_server.requests) == 1


async def test_environment_proxies_are_ignored(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy would connect on our behalf to an address the guard never saw.
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.9.9.9:3128")
    async with webhook_client(allowed_origin=f"http://127.0.0.1:{local_server.port}") as client:
        response = await client.get(f"http://127.0.0.1:{local_server.port}/hook")
    assert response.status_code == 200


def test_client_is_configured_without_redirects() -> None:
    client = webhook_client(allowed_origin=None)
    assert client.follow_redirects is False
    assert isinstance(client._transport, ssrf.GuardedTransport)
    assert isinstance(client._transport._pool._network_backend, ssrf.GuardedNetworkBackend)
    assert isinstance(httpx.Timeout(1.0), httpx.Timeout)
