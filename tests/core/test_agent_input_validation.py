"""Bad input and bad options fail at once with a clear error (issue 10, items 7, 17, 19)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from agent_kit import only_core_plugins

from fullduplex.agent import BidiAgent
from fullduplex.errors import ConfigurationError, EventError
from fullduplex.events import BidiTextInputEvent, event_from_dict
from fullduplex.testing import FakeModel

pytestmark = pytest.mark.usefixtures("only_core_plugins")
_ = only_core_plugins

BAD_TEXT: list[dict[str, Any]] = [
    {"type": "bidi_text_input", "text": 5},
    {"type": "bidi_text_input", "text": None},
    {"type": "bidi_text_input", "text": "hi", "role": "system"},
    {"type": "bidi_text_input", "text": "hi", "role": None},
]


@pytest.mark.parametrize("data", BAD_TEXT)
async def test_send_rejects_malformed_text_and_history_stays_replayable(
    data: dict[str, Any],
) -> None:
    model = FakeModel()
    async with BidiAgent(model) as agent:
        with pytest.raises(EventError, match=r"text|role"):
            await agent.send(data)
        await agent.send("fine")
    assert [getattr(e, "text", None) for e in model.sent] == ["fine"]
    # what the agent recorded, a new agent can carry on
    BidiAgent(FakeModel(), messages=agent.messages)


@pytest.mark.parametrize("data", BAD_TEXT)
def test_event_construction_and_from_dict_reject_malformed_text(data: dict[str, Any]) -> None:
    with pytest.raises(EventError):
        event_from_dict(dict(data))
    fields = {k: v for k, v in data.items() if k != "type"}
    with pytest.raises(EventError):
        BidiTextInputEvent(**fields)


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("restart_backoff_s", math.nan, "restart_backoff_s"),
        ("restart_backoff_s", math.inf, "restart_backoff_s"),
        ("restart_backoff_s", -1.0, "restart_backoff_s"),
        ("restart_backoff_s", "0.5", "restart_backoff_s"),
        ("max_restarts", -1, "max_restarts"),
        ("max_restarts", 2.5, "max_restarts"),
        ("max_restarts", True, "max_restarts"),
        ("settle_timeout_s", math.nan, "settle_timeout_s"),
        ("settle_timeout_s", math.inf, "settle_timeout_s"),
        ("tool_timeout_s", -3, "tool_timeout_s"),
        ("output_drain_timeout_s", math.nan, "output_drain_timeout_s"),
        ("audio_grace_s", math.inf, "audio_grace_s"),
        ("model_config", 5, "model_config"),
        ("tools", 5, "tools"),
        ("tools", "calculator", "tools"),
        ("plugins", 5, "plugins"),
        ("messages", 5, "messages"),
        ("system_prompt", 5, "system_prompt"),
    ],
)
def test_every_agent_option_is_validated_at_construction(
    option: str, value: object, field: str
) -> None:
    with pytest.raises(ConfigurationError, match=rf"^{field}"):
        BidiAgent(FakeModel(), **{option: value})


@pytest.mark.parametrize("model", [5, None, object(), b"openai"])
def test_a_model_that_is_not_a_model_fails_at_construction(model: object) -> None:
    with pytest.raises(ConfigurationError, match=r"^model: .*accepted"):
        BidiAgent(model)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_attempts", -1),
        ("max_attempts", 1.5),
        ("initial_backoff_s", math.nan),
        ("max_backoff_s", math.inf),
        ("jitter", 1.5),
        ("jitter", -0.1),
        ("healthy_after_s", "5"),
        ("window_s", 0),
        ("window_s", math.nan),
    ],
)
def test_retry_policy_validates_each_field(field: str, value: object) -> None:
    from fullduplex.retry import RetryPolicy

    with pytest.raises(ConfigurationError, match=rf"^{field}: got .*accepted"):
        RetryPolicy(**{field: value})


def test_retry_must_be_a_policy() -> None:
    with pytest.raises(ConfigurationError, match=r"^retry: "):
        BidiAgent(FakeModel(), retry=5)  # type: ignore[arg-type]


def test_old_keywords_override_the_policy() -> None:
    from fullduplex.retry import RetryPolicy

    agent = BidiAgent(FakeModel(), retry=RetryPolicy(max_attempts=4), max_restarts=1)
    assert agent.retry.max_attempts == 1
    assert agent.max_restarts == 1
    agent = BidiAgent(FakeModel(), restart_backoff_s=0)
    assert agent.retry.initial_backoff_s == 0
    assert agent.retry.max_attempts == RetryPolicy().max_attempts


def test_nan_backoff_used_to_stall_and_now_cannot_be_configured() -> None:
    with pytest.raises(ConfigurationError, match="restart_backoff_s: got nan"):
        BidiAgent(FakeModel(), restart_backoff_s=float("nan"))
