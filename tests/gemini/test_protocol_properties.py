"""Property-based tests of the Gemini Live sans-I/O layer (hypothesis).

Whatever JSON a server sends, in whatever order, ``LiveProtocol.handle()``
returns events and raises nothing (not even fullduplex's own errors: this
protocol has no fatal frame, closes carry those), and every event it returns
survives ``to_dict()``; so a hostile or buggy peer cannot crash ``receive()``.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fullduplex.events import event_from_dict
from fullduplex_gemini.protocol import LiveProtocol

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

KEYS = [
    "serverContent",
    "toolCall",
    "toolCallCancellation",
    "usageMetadata",
    "setupComplete",
    "sessionResumptionUpdate",
    "goAway",
    "voiceActivity",
]
CONTENT_KEYS = [
    "modelTurn",
    "inputTranscription",
    "outputTranscription",
    "interrupted",
    "generationComplete",
    "turnComplete",
]
parts = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "text": json_values,
            "inlineData": st.fixed_dictionaries(
                {},
                optional={
                    "mimeType": st.sampled_from(["audio/pcm;rate=24000", "text/plain"])
                    | json_values,
                    "data": st.sampled_from(["AAAA", "AAE=", "!!", ""]) | json_values,
                },
            ),
            "thought": st.booleans(),
        },
    )
    | json_values,
    max_size=3,
)
server_content = st.fixed_dictionaries(
    {},
    optional={
        "modelTurn": st.fixed_dictionaries({}, optional={"parts": parts}) | json_values,
        "inputTranscription": st.fixed_dictionaries({}, optional={"text": json_values}),
        "outputTranscription": st.fixed_dictionaries({}, optional={"text": json_values}),
        "interrupted": json_values,
        "generationComplete": json_values,
        "turnComplete": json_values,
    },
)
calls = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.sampled_from(["f1", "f2", ""]) | json_values,
            "name": st.sampled_from(["a", "b"]) | json_values,
            "args": json_values,
        },
    )
    | json_values,
    max_size=3,
)
frames = st.one_of(
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=3),
    st.builds(lambda c: {"serverContent": c}, server_content),
    st.builds(lambda c: {"toolCall": {"functionCalls": c}}, calls),
    st.builds(
        lambda ids: {"toolCallCancellation": {"ids": ids}},
        st.lists(st.sampled_from(["f1", "f2"]) | json_values, max_size=3),
    ),
    json_values,
)


@PROPERTY_SETTINGS
@given(st.lists(frames, max_size=12), st.lists(st.sampled_from(["f1", "f2", "x"]), max_size=3))
def test_any_server_json_yields_events_and_never_raises(
    sequence: list[Any], answered: list[str]
) -> None:
    p = LiveProtocol(base_setup={"model": "models/m"})
    p.reset()
    for frame in sequence:
        for event in p.handle(frame):
            back = event_from_dict(json.loads(json.dumps(event.to_dict())))
            assert type(back) is type(event)
        for call_id in answered:
            p.tool_result(call_id, "a", '"ok"', "success")
    # the client frames it queued are JSON objects
    for message in p.outbox:
        assert isinstance(json.loads(json.dumps(message)), dict)
