"""An independent check of Standard Webhooks signatures: the HMAC comes from the openssl
command line (OpenSSL's implementation, not Python's), driven by the shell snippet the
docs give receivers; the header parsing follows the specification's own rules."""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
import time

# The snippet of docs/delivery.md ("Verify in a shell"), as a receiver would run it.
SHELL_SNIPPET = r"""
secret_hex=$(printf %s "${WEBHOOK_SECRET#whsec_}" | base64 -d | od -An -vtx1 | tr -d ' \n')
expected="v1,$({ printf '%s.%s.' "$WEBHOOK_ID" "$WEBHOOK_TIMESTAMP"; cat "$BODY_FILE"; } \
  | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$secret_hex" -binary | base64)"
for signature in $WEBHOOK_SIGNATURE; do
  [ "$signature" = "$expected" ] && { echo valid; exit 0; }
done
echo invalid; exit 1
"""


def openssl_verifies(secret: str, headers: dict[str, str], body: bytes) -> bool:
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(body)
    try:
        done = subprocess.run(
            ["bash", "-c", SHELL_SNIPPET],
            env={
                **os.environ,
                "WEBHOOK_SECRET": secret,
                "WEBHOOK_ID": headers["webhook-id"],
                "WEBHOOK_TIMESTAMP": headers["webhook-timestamp"],
                "WEBHOOK_SIGNATURE": headers["webhook-signature"],
                "BODY_FILE": f.name,
            },
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    finally:
        os.unlink(f.name)
    return done.stdout.strip() == "valid"


def well_formed(secret: str, headers: dict[str, str], tolerance: int = 300) -> bool:
    """What a Standard Webhooks verifier checks besides the HMAC: a whsec_ secret of
    base64, a fresh Unix timestamp, and one or more space-separated ``v1,`` signatures."""
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) >= 24
    stamp = int(headers["webhook-timestamp"])
    signatures = headers["webhook-signature"].split(" ")
    return abs(time.time() - stamp) <= tolerance and all(
        s.startswith("v1,") and base64.b64decode(s[3:], validate=True) for s in signatures
    )
