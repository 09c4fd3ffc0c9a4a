"""docs/webhook.md: its field tables are the server's models, and its curl examples work."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.docs.webhook_tables import BEGIN, END, generate
from tests.support.live import LiveServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhook.md"


def test_the_field_tables_are_generated_from_the_models() -> None:
    text = DOC.read_text()
    start, stop = text.index(BEGIN), text.index(END) + len(END)
    if os.environ.get("EXTCI_WRITE_DOCS") == "1":
        DOC.write_text(text[:start] + generate() + text[stop:])
        text = DOC.read_text()
    assert text[start : text.index(END) + len(END)] == generate(), (
        "docs/webhook.md's field tables differ from src/extci/ingest/events.py: "
        "run EXTCI_WRITE_DOCS=1 pytest tests/docs"
    )


@pytest.mark.slow
def test_the_curl_examples_run_against_a_live_server(live_server: LiveServer) -> None:
    text = DOC.read_text()
    examples = re.findall(r"```sh\n(.*?)```", text[text.index("## Try it with curl") :], re.S)
    assert len(examples) == 4
    key = live_server.external_component("orders-service")
    env = {**os.environ, "EXTCI_URL": live_server.url, "EXTCI_CI_KEY": key}
    for example in examples:
        done = subprocess.run(
            ["sh", "-e", "-c", example], env=env, capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, (example, done.stdout, done.stderr)
    assert '"buildStatus":"SUCCESSFUL"' in done.stdout.replace(" ", "")
    build = live_server.build("orders-service", "orders-1842")
    assert build["status"] == "SUCCESSFUL"
    assert build["actor"] == {"username": "jdoe", "fullname": None}


def test_every_documented_problem_type_is_one_the_server_sends() -> None:
    from extci import errors

    def subclasses(cls: type) -> list[type]:
        return [cls, *(s for c in cls.__subclasses__() for s in subclasses(c))]

    slugs = {c.slug for c in subclasses(errors.ExtciError)}
    documented = set(re.findall(r"urn:extci:problem:([a-z-]+)", DOC.read_text()))
    assert documented
    assert documented <= slugs, documented - slugs
    for code in ("400", "401", "403", "404", "409", "413", "415", "429", "503"):
        assert f"\n| {code} |" in DOC.read_text(), code
