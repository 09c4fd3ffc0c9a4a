"""Which address a request is counted under (EXTCI_TRUSTED_PROXIES); over HTTP in
tests/web/test_sign_in_throttle.py, the chain rules here."""

from __future__ import annotations

import pytest

from extci.clientaddr import forwarded_client
from extci.config import Settings

PROXIES = Settings(trusted_proxies="127.0.0.1, 10.0.0.0/8 ::1").trusted_proxies


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.9", ["1.2.3.4"], "203.0.113.9"),  # not from a proxy: header ignored
        ("127.0.0.1", [], "127.0.0.1"),  # the proxy itself, no header
        ("127.0.0.1", ["198.51.100.7"], "198.51.100.7"),
        ("127.0.0.1", ["6.6.6.6, 198.51.100.7"], "198.51.100.7"),  # client-written part
        ("127.0.0.1", ["198.51.100.7, 10.1.2.3"], "198.51.100.7"),  # two proxies deep
        ("127.0.0.1", ["6.6.6.6", "198.51.100.7"], "198.51.100.7"),  # repeated header
        ("::1", ["2001:db8::1"], "2001:db8::1"),
        ("127.0.0.1", ["not-an-address"], "127.0.0.1"),  # garbage: stay with what we trust
        ("127.0.0.1", ["10.0.0.5"], "10.0.0.5"),  # only proxies: the farthest one
    ],
)
def test_the_client_is_the_first_untrusted_hop_from_the_right(
    peer: str, forwarded: list[str], client: str
) -> None:
    assert forwarded_client(peer, forwarded, PROXIES) == client


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    with pytest.raises(ValueError, match="CIDR"):
        Settings(trusted_proxies="proxy.example.org")
    assert Settings().trusted_proxies == ()
