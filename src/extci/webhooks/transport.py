"""One POST to a subscriber, guarded against server-side request forgery.

- The host is resolved once; every address it resolves to must be public (not loopback,
  link-local, private, shared, multicast, reserved or unspecified) unless
  EXTCI_WEBHOOK_ALLOW_PRIVATE=true; the connection goes to the address that was checked,
  so a second, different DNS answer (DNS rebinding) is never used.
- TLS still verifies the certificate for the host name (SNI and hostname check use the
  name, the socket uses the checked address), and ``Host`` names the host.
- One timeout bounds connecting, sending and reading; redirects are not followed (a 3xx is
  an unsuccessful answer like any other non-2xx).
- Only the first KB of the answer is kept.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

EXCERPT_BYTES = 1024
_ALLOWED_SCHEMES = ("http", "https")


class Refused(Exception):
    """The target may not be contacted (its URL or its address); nothing was sent."""


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer came
    latency_ms: int
    excerpt: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path?query) of a URL a webhook may target; Refused otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"not a valid URL: {exc}") from None
    if parts.scheme not in _ALLOWED_SCHEMES:
        raise Refused("the URL must start with http:// or https://")
    if not parts.hostname:
        raise Refused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise Refused("the URL must not carry a user name or password")
    if parts.fragment:
        raise Refused("the URL must not have a #fragment")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname, port or default, target


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int, *, allow_private: bool) -> tuple[int, str]:
    """(address family, address) to connect to: the first answer, after every answer was
    checked (a name with one private answer among public ones is refused)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"cannot resolve {host}: {exc}") from None
    if not infos:
        raise Refused(f"cannot resolve {host}")
    if not allow_private:
        for info in infos:
            address = str(info[4][0])
            if not is_public(address):
                raise Refused(
                    f"{host} resolves to {address}, a loopback, private or reserved address "
                    "(EXTCI_WEBHOOK_ALLOW_PRIVATE=true allows it)"
                )
    family, _, _, _, sockaddr = infos[0]
    return family, str(sockaddr[0])


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        # The name for SNI and the certificate check; the checked address for the socket.
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    allow_private: bool,
) -> Answer:
    """POST ``body``; never raises for the target's failures (they are the answer)."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        scheme, host, port, target = check_url(url)
        _, address = resolve(host, port, allow_private=allow_private)
    except Refused as exc:
        return Answer(None, took(), "", f"refused: {exc}"[:255])
    connection_class = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    conn = connection_class(host, port, address, timeout)
    deadline = started + timeout
    try:
        conn.request("POST", target, body=body, headers=dict(headers))
        response = conn.getresponse()
        excerpt = b""
        while len(excerpt) < EXCERPT_BYTES and time.monotonic() < deadline:
            chunk = response.read1(EXCERPT_BYTES - len(excerpt))
            if not chunk:
                break
            excerpt += chunk
        text = excerpt.decode("utf-8", "replace")
        return Answer(response.status, took(), text)
    except TimeoutError:
        return Answer(None, took(), "", f"timed out after {timeout:g}s")
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, took(), "", f"{type(exc).__name__}: {exc}"[:255])
    finally:
        conn.close()
