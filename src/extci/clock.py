"""The one place that asks what time it is (UTC, aware), and date arithmetic on it."""

from datetime import UTC, date, datetime, time, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` in UTC: something expiring "on" a day works through
    all of it."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)
