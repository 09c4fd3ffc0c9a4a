"""The one place that asks what time it is (UTC, aware), and date arithmetic on it.

Whatever measures a duration a test would otherwise wait for (the rate limiter's windows,
the inactivity timeout that makes a build LOST) reads the :class:`Clock` it was given,
:data:`SYSTEM_CLOCK` in the server; a test gives one it can advance.
"""

import time as _time
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

# Times are stored in UTC, and Python's datetime ends with year 9999: 9999-12-31T23:59-05:00
# is a fine date-time with no UTC equivalent, so it is refused with this, never an overflow.
OUT_OF_RANGE = "must lie within the years 1-9999 in UTC"
NOT_A_DATE = "must be a date (YYYY-MM-DD) or an ISO 8601 date-time"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Clock(Protocol):
    def now(self) -> datetime:
        """The wall-clock time, UTC and aware: what is stored and compared with stored times."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never steps back: for durations within this process."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()

    def monotonic(self) -> float:
        return _time.monotonic()


SYSTEM_CLOCK: Clock = SystemClock()


def in_utc(value: datetime) -> datetime:
    """An aware ``value`` in UTC. Raises ValueError when UTC cannot hold it."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(OUT_OF_RANGE) from None


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` in UTC: something expiring "on" a day works through
    all of it. Raises ValueError for 9999-12-31, whose next day UTC cannot hold."""
    if day == date.max:
        raise ValueError(OUT_OF_RANGE)
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def parse_expiry(text: str) -> datetime:
    """What a person types as an expiry: ``2027-01-31`` (through the end of that day, UTC)
    or an ISO 8601 date-time (UTC when it has no offset), returned in UTC. Raises
    ValueError with a message fit for that person."""
    text = text.strip()
    try:
        if len(text) == 10:
            return end_of_day(date.fromisoformat(text))
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(OUT_OF_RANGE if str(exc) == OUT_OF_RANGE else NOT_A_DATE) from None
    return in_utc(value if value.tzinfo else value.replace(tzinfo=UTC))
