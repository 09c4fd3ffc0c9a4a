"""docs/webhook.md's requirements table and docs/ci-setup.md's flags table are generated from
the registry of result types and the reporter's flags (tests/docs/result_type_tables.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.docs.result_type_tables import FLAGS, REQUIREMENTS, flags_table, requirements_table

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize(
    ("page", "markers", "generate"),
    [
        ("webhook.md", REQUIREMENTS, requirements_table),
        ("ci-setup.md", FLAGS, flags_table),
    ],
)
def test_the_table_is_generated_from_the_registry(
    page: str, markers: tuple[str, str], generate: Callable[[], str]
) -> None:
    doc = DOCS / page
    text = doc.read_text()
    start, stop = text.index(markers[0]), text.index(markers[1]) + len(markers[1])
    if os.environ.get("EXTCI_WRITE_DOCS") == "1":
        doc.write_text(text[:start] + generate() + text[stop:])
        text = doc.read_text()
    assert text[start : text.index(markers[1]) + len(markers[1])] == generate(), (
        f"docs/{page}'s table differs from src/extci/builds/result_types.py: "
        "run EXTCI_WRITE_DOCS=1 pytest tests/docs"
    )
