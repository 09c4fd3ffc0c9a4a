"""The reporter's standard-library copy of the end results equals the server's.

The reporter (``extci.reporter``) runs without the server extra, even as a zipapp on
Python 3.9. Its result types come from the server's registry, which the zipapp carries
(tests/reporter/test_report_zipapp.py runs it); the end results of ``builds/state.py`` it
cannot import, so it keeps a copy, held equal here.
"""

from __future__ import annotations

from extci.builds import state
from extci.reporter import events


def test_the_reporter_sends_the_end_results_the_server_accepts() -> None:
    assert tuple(state.END_RESULTS) == events.END_RESULTS
