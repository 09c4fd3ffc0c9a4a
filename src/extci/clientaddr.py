"""The address of the client behind a request, believing ``X-Forwarded-For`` only from the
reverse proxies named in ``EXTCI_TRUSTED_PROXIES``.

The sign-in throttle and the audit log both key on this address, so it must not be
something a client can choose: a header is only as trustworthy as the peer that sent it.
"""

from __future__ import annotations

from ipaddress import ip_address

from starlette.requests import HTTPConnection

from extci.config import Network

UNKNOWN = "unknown"


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def forwarded_client(peer: str, forwarded_for: list[str], proxies: tuple[Network, ...]) -> str:
    """Walk the chain from the nearest hop outwards and stop at the first address that is
    not one of our proxies: everything left of it was written by the client and proves
    nothing (a client can send its own ``X-Forwarded-For: 1.2.3.4``)."""
    address = peer
    hops = [h.strip() for value in forwarded_for for h in value.split(",")]
    while _trusted(address, proxies) and hops:
        hop = hops.pop()
        try:
            address = str(ip_address(hop))
        except ValueError:
            break  # garbage from the proxy's side: keep the last address we could trust
    return address


def client_address(request: HTTPConnection) -> str:
    peer = request.client.host if request.client else UNKNOWN
    proxies: tuple[Network, ...] = request.app.state.runtime.settings.trusted_proxies
    if not proxies:
        return peer
    return forwarded_client(peer, request.headers.getlist("x-forwarded-for"), proxies)
