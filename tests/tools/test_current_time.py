"""The current_time tool: zones by IANA name, clear errors for unknown zones."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from fullduplex.tools import ToolCall
from fullduplex_tools import current_time
from fullduplex_tools.clock import TimeZoneError, describe, now_in

NOON_UTC = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "hour", "name"),
    [
        ("Europe/Paris", "14:00", "CEST"),
        ("America/New_York", "08:00", "EDT"),
        ("UTC", "12:00", "UTC"),
    ],
)
def test_converts_to_the_named_zone(zone: str, hour: str, name: str) -> None:
    described = describe(now_in(zone, clock=NOON_UTC))
    assert described["time"] == hour
    assert described["timezone"] == name
    assert described["date"] == "2026-07-01"
    assert described["weekday"] == "Wednesday"


def test_unknown_zone_names_the_field_and_the_form() -> None:
    with pytest.raises(TimeZoneError, match=r"timezone: unknown time zone 'Mars/Base'.*IANA"):
        now_in("Mars/Base")


async def test_tool_answers_with_a_structured_time() -> None:
    result = await current_time.invoke(
        ToolCall.from_model("t1", "current_time", '{"timezone": "Asia/Tokyo"}')
    )
    assert result.status == "success"
    body = json.loads(result.content)
    assert body["iso"].endswith("+09:00")


async def test_tool_reports_a_bad_zone_as_an_error_result() -> None:
    result = await current_time.invoke(
        ToolCall.from_model("t2", "current_time", '{"timezone": "Nowhere"}')
    )
    assert result.status == "error"
    assert "Nowhere" in json.loads(result.content)["error"]
