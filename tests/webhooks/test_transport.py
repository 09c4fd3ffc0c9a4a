"""The sender's guard: which addresses it refuses, that it connects to the address it
checked, does not follow redirects, and gives up after its timeout."""

from __future__ import annotations

import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest

from extci.config import Settings
from extci.webhooks import transport
from tests.support.receiver import receiver


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("::1", False),
        ("10.0.0.5", False),
        ("172.16.3.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("fe80::1", False),
        ("fc00::1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),  # noqa: S104 - an address to classify
        ("224.0.0.1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("192.0.2.1", False),  # documentation
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert transport.is_public(address) is public


def test_loopback_is_refused_without_the_setting() -> None:
    with receiver() as hook:
        answer = transport.post(hook.url, b"{}", {}, timeout=2, allow_private=False)
        assert answer.status is None
        assert answer.error is not None
        assert "loopback, private or reserved" in answer.error
        assert hook.requests == []


def test_the_checked_address_is_the_one_connected_to(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: a name answers a harmless address when checked and another when
    connected to. The sender resolves once and connects to what it checked."""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1", "127.0.0.2"])
    asked: list[str] = []

    def rebinding(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.rebind.test":
            asked.append(host)
            return real(next(answers), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with receiver() as hook:
        url = hook.url.replace("127.0.0.1", "hooks.rebind.test") + "/x"
        answer = transport.post(url, b"{}", {}, timeout=2, allow_private=True)
        assert answer.status == 200
        [got] = hook.requests
    assert asked == ["hooks.rebind.test"]
    assert got.headers["host"].startswith("hooks.rebind.test:")  # Host names the host


def test_redirects_are_not_followed() -> None:
    with receiver() as elsewhere, receiver() as hook:
        hook.answers = [307]
        hook.redirect_to = elsewhere.url + "/stolen"
        answer = transport.post(hook.url, b"{}", {}, timeout=2, allow_private=True)
        assert answer.status == 307
        assert not answer.ok
        assert elsewhere.requests == []


def test_a_slow_receiver_times_out() -> None:
    with receiver() as hook:
        hook.delay = 1.5
        answer = transport.post(hook.url, b"{}", {}, timeout=0.3, allow_private=True)
    assert answer.status is None
    assert answer.error == "timed out after 0.3s"
    assert answer.latency_ms < 1400


def test_only_the_first_kilobyte_of_the_answer_is_kept() -> None:
    with receiver() as hook:
        hook.answer_body = b"0123456789" * 1000
        answer = transport.post(hook.url, b"{}", {}, timeout=2, allow_private=True)
    assert answer.ok
    assert answer.excerpt == ("0123456789" * 1000)[: transport.EXCERPT_BYTES]


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/", "http:///nohost", "http://u:p@example.org/", "http://e.org/#frag"],
)
def test_urls_that_are_refused_outright(url: str) -> None:
    with pytest.raises(transport.Refused):
        transport.check_url(url)


def _certificate(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
            "-addext", f"subjectAltName=DNS:{name}",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


def test_tls_checks_the_name_while_connecting_to_the_checked_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTPS to a pinned address: SNI and the certificate check use the host name."""
    cert, key = _certificate(tmp_path, "hooks.tls.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust this one certificate
    real = socket.getaddrinfo

    def local(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host.endswith(".tls.test"):
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local)
    with receiver() as hook:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        hook.server.socket = context.wrap_socket(hook.server.socket, server_side=True)
        port = hook.url.rsplit(":", 1)[1]
        good = transport.post(
            f"https://hooks.tls.test:{port}/x", b"{}", {}, timeout=5, allow_private=True
        )
        wrong = transport.post(
            f"https://other.tls.test:{port}/x", b"{}", {}, timeout=5, allow_private=True
        )
    assert good.status == 200, good.error
    assert wrong.status is None
    assert wrong.error is not None
    assert "certificate" in wrong.error.lower()


def test_the_lease_must_outlast_a_send() -> None:
    with pytest.raises(ValueError, match="EXTCI_WEBHOOK_LEASE"):
        Settings(webhook_timeout="30s", webhook_lease="30s")
    assert Settings(webhook_timeout="30s", webhook_lease="31s").webhook_lease.seconds == 31
