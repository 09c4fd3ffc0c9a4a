"""The reporter's standard-library copies of the wire contract equal the server's.

The reporter (``extci.reporter``) runs without the server extra, even as a zipapp on
Python 3.9, so it cannot import the server's registry of result types: it keeps its own
list in ``reporter/items.py``. These tests hold the two equal, so a result type added to
``builds/result_types.py`` fails here until the reporter knows it too.
"""

from __future__ import annotations

from extci.builds import result_types, state
from extci.reporter import events, items


def test_the_reporter_knows_every_result_type_with_the_servers_fields() -> None:
    server = {
        t.name: (
            tuple(f.wire for f in t.fields if f.required),
            tuple(f.wire for f in t.fields if not f.required),
        )
        for t in result_types.TYPES
    }
    assert dict(items.RESULT_TYPES) == server
    assert list(items.RESULT_TYPES) == list(result_types.NAMES)  # --help lists them in order


def test_the_reporter_sends_the_end_results_the_server_accepts() -> None:
    assert tuple(state.END_RESULTS) == events.END_RESULTS
