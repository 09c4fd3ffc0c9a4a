"""Standard Webhooks signatures (https://www.standardwebhooks.com).

A delivery carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``. The secret is shown
to the subscriber once as ``whsec_`` + base64 of 32 bytes; the verifier libraries of the
ecosystem take it as it is.

Nothing that signs is stored: a subscription keeps a random salt, and its secret is an
HMAC of that salt under the server's secret key (EXTCI_SECRET_KEY). Changing the server's
key therefore changes every webhook secret, as it invalidates every CI key and token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
_DERIVATION_LABEL = b"extci webhook secret v1:"


def new_salt() -> str:
    return secrets.token_urlsafe(24)


def secret_bytes(server_secret: bytes, salt: str) -> bytes:
    return hmac.new(server_secret, _DERIVATION_LABEL + salt.encode(), hashlib.sha256).digest()


def secret_for(server_secret: bytes, salt: str) -> str:
    """The subscriber's secret as shown once: ``whsec_`` + base64."""
    return SECRET_PREFIX + base64.b64encode(secret_bytes(server_secret, salt)).decode()


def hint(secret: str) -> str:
    return f"{SECRET_PREFIX}…{secret[-4:]}"


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(key: bytes, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(key, message_id, timestamp, body),
    }
