"""Where this server may send a request whose address a town administrator typed (a sign-in provider, a
domain to verify): never to its own loopback, the private network or the cloud's metadata service, unless
the operator allows that network."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx2

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# A town's slow web server must not hold a web process for long.
FETCH_SECONDS = 5.0
# A receiver that has not answered a webhook in this long has failed this attempt.
POST_SECONDS = 10.0


class Unreachable(Exception):
    """`reason` is "not_found" (the name does not resolve) or "private" (it resolves to a network that is
    not public and not allowed); callers word it for their reader."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def networks(text: str) -> tuple[Network, ...]:
    """Comma-separated networks from a setting, e.g. `10.0.0.0/8, 127.0.0.1/32`."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


async def ensure_public(host: str, port: int, allowed: tuple[Network, ...] = ()) -> None:
    """Raises Unreachable unless every address `host` resolves to is public or in an allowed network.
    The name is resolved again when the request is made; DNS that changes its answer in between is
    outside what this check covers."""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise Unreachable("not_found") from error
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        reached = carried_ipv4(address) or address
        if not (address.is_global and reached.is_global) and not any(address in net for net in allowed):
            raise Unreachable("private")


def carried_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one leads to (mapped, or through a NAT64 gateway), which is what gets
    reached: `64:ff9b::7f00:1` counts as global, yet a NAT64 gateway takes it to 127.0.0.1."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in NAT64 else None


async def fetch_text(url: str, host: str | None = None, limit: int = 1024) -> str:
    """The first `limit` bytes of a short text answer, no redirect followed; `host` sets the Host header
    (to reach a name through an address the operator gave). Raises Unreachable("unavailable") when the
    server does not answer 200 in time."""
    import httpx2  # at the first call: a web process that never calls out loads no client

    headers = {"host": host} if host else {}
    try:
        async with (
            httpx2.AsyncClient(timeout=FETCH_SECONDS, follow_redirects=False) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code != 200:
                raise Unreachable("unavailable")
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) >= limit:
                    break
    except httpx2.HTTPError as error:
        raise Unreachable("unavailable") from error
    return body[:limit].decode("utf-8", "replace")


class Poster:
    """Posts to the addresses towns gave, no redirect followed, over one pool of connections: making a
    client (and its TLS context) for each post cost more CPU than the post itself."""

    def __init__(self) -> None:
        self._client: httpx2.AsyncClient | None = None

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """The answer's status and the start of its text; Unreachable("unavailable") when nothing answers
        in time."""
        import httpx2

        if self._client is None:
            self._client = httpx2.AsyncClient(timeout=POST_SECONDS, follow_redirects=False)
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx2.HTTPError as error:
            raise Unreachable("unavailable") from error
        return response.status_code, response.text[:500]
