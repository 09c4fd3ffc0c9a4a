"""Looking for leaked secrets: every secret a workload handles, where it may legitimately
appear (the one response that created it), and a scanner over bytes in every form a
leak would take (raw, URL-encoded, JSON- or HTML-escaped; for tokens, the random part
without the prefix)."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx2 as httpx

from extci.security import CI_KEY_PREFIX, PAT_PREFIX

# What a list may show of a token: the prefix and the last 4 characters.
HINT_LENGTH = 4
# Any run of this many characters of a random secret counts as a leak (a truncated key in
# a log line is still most of a key); 12 base62 characters are 71 bits: never by chance.
WINDOW = 12


@dataclass(frozen=True)
class Secret:
    label: str  # what it is, for the assertion message: "CI key K1 (API)"
    value: str
    created_in: int | None  # the one response allowed to carry it (None: no response)
    random: bool = False  # a generated string (key, token, cookie): look for fragments too

    def forms(self) -> set[bytes]:
        forms = {
            self.value,
            quote(self.value, safe=""),
            quote_plus(self.value),
            json.dumps(self.value)[1:-1],
            html.escape(self.value),
        }
        if self.random:
            core = self.value
            for prefix in (CI_KEY_PREFIX, PAT_PREFIX):
                if core.startswith(prefix):
                    core = core[len(prefix) : -HINT_LENGTH]
            forms.update(core[i : i + WINDOW] for i in range(len(core) - WINDOW + 1))
        return {f.encode() for f in forms}


@dataclass(frozen=True)
class Recorded:
    number: int
    request: str
    raw: bytes  # status line, headers and body


@dataclass
class Ledger:
    secrets: list[Secret] = field(default_factory=list)
    responses: list[Recorded] = field(default_factory=list)
    clients: list[httpx.Client] = field(default_factory=list)

    def add(
        self, label: str, value: str, created_in: int | None = None, *, random: bool = False
    ) -> str:
        assert len(value) >= 8, label
        self.secrets.append(Secret(label, value, created_in, random))
        return value

    def last_response(self) -> int:
        return self.responses[-1].number

    def record(self, response: httpx.Response) -> None:
        response.read()
        head = f"{response.status_code}\n" + "".join(
            f"{k}: {v}\n" for k, v in response.headers.multi_items()
        )
        request = f"{response.request.method} {response.request.url}"
        self.responses.append(
            Recorded(len(self.responses), request, head.encode() + response.content)
        )

    def client(self, base_url: str) -> httpx.Client:
        """An HTTP client whose every response is recorded for the scan."""
        client = httpx.Client(
            base_url=base_url, timeout=30, event_hooks={"response": [self.record]}
        )
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def found_in(self, data: bytes) -> list[str]:
        return [s.label for s in self.secrets if any(f in data for f in s.forms())]

    def leaks_in_responses(self) -> list[str]:
        leaks = []
        for recorded in self.responses:
            for secret in self.secrets:
                if recorded.number == secret.created_in:
                    continue
                if any(f in recorded.raw for f in secret.forms()):
                    leaks.append(
                        f"{secret.label} in response #{recorded.number} {recorded.request}"
                    )
        return leaks

    def creation_responses_hold_their_secret(self) -> list[str]:
        """The scanner's own check: each secret is found where it was handed out."""
        by_number = {r.number: r for r in self.responses}
        return [
            s.label
            for s in self.secrets
            if s.created_in is not None
            and not any(f in by_number[s.created_in].raw for f in s.forms())
        ]


def files_under(directory: Path) -> dict[str, bytes]:
    """Every file's bytes (the database, its WAL and SHM, the secret key, the logs)."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }
