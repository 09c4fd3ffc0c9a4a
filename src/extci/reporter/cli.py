"""``extci report ...``: the CI-side reporter (arrives with its own issue)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("report", help="send CI events to an extci server")
    p.set_defaults(handler=lambda _args: 2)
