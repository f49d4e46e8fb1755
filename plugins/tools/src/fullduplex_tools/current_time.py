"""The ``current_time`` tool: what time it is, here or in a named time zone."""

from __future__ import annotations

from fullduplex.tools import tool

from .clock import describe, now_in


@tool
def current_time(timezone: str | None = None) -> dict[str, str]:
    """Tell the current date and time.

    Args:
        timezone: An IANA time zone such as "Europe/Paris" or "America/New_York";
            leave it out for the time where the assistant runs.
    """
    return describe(now_in(timezone))
