"""Reading the clock for the ``current_time`` tool, in any IANA time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class TimeZoneError(ValueError):
    """The time zone name is not one the system's zone database knows."""


def now_in(timezone: str | None = None, *, clock: datetime | None = None) -> datetime:
    """The current time in ``timezone`` (an IANA name such as ``Europe/Paris``).

    ``None`` means the machine's local zone. ``clock`` fixes "now" for tests.
    """
    instant = clock if clock is not None else datetime.now(UTC)
    if timezone is None or not timezone.strip():
        return instant.astimezone()
    name = timezone.strip()
    if name.upper() in {"UTC", "GMT", "Z"}:
        return instant.astimezone(UTC)
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeZoneError(
            f"timezone: unknown time zone {name!r}; use an IANA name such as "
            "'Europe/Paris', 'America/New_York' or 'UTC'"
        ) from exc
    return instant.astimezone(zone)


def describe(moment: datetime) -> dict[str, str]:
    """What a voice assistant needs to say the time: ISO form, weekday, zone."""
    return {
        "iso": moment.isoformat(timespec="seconds"),
        "weekday": moment.strftime("%A"),
        "time": moment.strftime("%H:%M"),
        "date": moment.strftime("%Y-%m-%d"),
        "timezone": moment.tzname() or "",
    }
