"""HTTP/1.1 read off a raw socket, for tests that play one side of the wire themselves."""

from __future__ import annotations

import socket


def read_message(sock: socket.socket) -> tuple[bytes, bytes]:
    """One whole request or response with a Content-Length: its head and its body."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, f"closed mid-head: {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, f"closed mid-body: {received!r}"
        body += chunk
    return head, body
