"""The one place that asks what time it is (UTC, aware), and date arithmetic on it."""

from datetime import UTC, date, datetime, time, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` in UTC: something expiring "on" a day works through
    all of it."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def parse_expiry(text: str) -> datetime:
    """What a person types as an expiry: ``2027-01-31`` (through the end of that day, UTC)
    or an ISO 8601 date-time (UTC when it has no offset). Raises ValueError."""
    text = text.strip()
    if len(text) == 10:
        return end_of_day(date.fromisoformat(text))
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
