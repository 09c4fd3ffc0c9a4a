"""``StrEnum`` for the modules the reporter zipapp carries (the registry of result types and
the component kinds it names): the standard library's on Python 3.11 and newer, where the
server runs; an equivalent on 3.9 and 3.10, where the served reporter may run
(extci.downloads.bundle). Every other module imports ``enum.StrEnum`` directly.

Pure: the standard library only.
"""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):  # noqa: UP036 - the zipapp runs on 3.9 and 3.10 too
    from enum import StrEnum
else:  # pragma: no cover - only the zipapp on Python 3.9/3.10 takes this branch
    from enum import Enum

    class StrEnum(str, Enum):  # noqa: UP042 - enum.StrEnum is 3.11+
        """A member is its value, also as ``str()`` and in f-strings, as 3.11's is."""

        def __str__(self) -> str:
            return str(self.value)

        def __format__(self, spec: str) -> str:
            return str(self.value).__format__(spec)


__all__ = ["StrEnum"]
