"""A phone call end to end: a Twilio client (written from the protocol summary) against the
app on uvicorn against the OpenAI emulator, all over real loopback sockets."""

from __future__ import annotations

import asyncio
import time

from serve_kit import agent_factory, client_events, serving, wait_for
from twilio_client import FRAME, TwilioCaller

from fullduplex_emulator.synth import speech_audio
from fullduplex_openai.emulator import Emulator


def spoken(text: str) -> bytes:
    """Speech-like μ-law at 8 kHz (the emulator hears its length, not its words)."""
    return speech_audio(text, "ulaw", 8000)


async def test_call_answers_paced_and_barge_in_truncates_to_acknowledged(
    emulator: Emulator,
) -> None:
    async with (
        serving(agent_factory(emulator)) as served,
        TwilioCaller(f"{served.ws}/twilio") as caller,
    ):
        await asyncio.sleep(0.3)
        caller.say(spoken("What is the weather like in Paris today, please?"))
        await wait_for(lambda: caller.media, 20, "the answer's first media frame")
        # let about half a second of the answer play (acknowledged marks), then talk over it
        await wait_for(lambda: caller.played_ms() >= 500, 10, "marks acknowledging 500 ms")
        first_media = caller.media[0][0]
        caller.say(spoken("No wait, stop, I meant Lyon instead."))
        await wait_for(lambda: caller.clears, 15, "a clear after speaking over the answer")
        await wait_for(
            lambda: client_events(emulator, "conversation.item.truncate"), 10, "a truncate"
        )
        await caller.stop()
        await asyncio.wait_for(caller.closed.wait(), 10)

    # the answer came back as 20 ms μ-law frames...
    answer = [audio for at, audio in caller.media if at < caller.clears[0]]
    assert len(answer) >= 20
    assert all(len(audio) == FRAME for audio in answer[:-1])
    assert any(audio != b"\xff" * FRAME for audio in answer), "the answer is not silence"
    # ...paced in real time, not bursted: N frames took about N x 20 ms (less the lead)
    span = caller.media[len(answer) - 1][0] - first_media
    assert span >= 0.8 * (len(answer) * 0.020 - 0.1), (len(answer), span)
    # the model was told to cut the answer where the last mark echoed before the clear was
    truncate = client_events(emulator, "conversation.item.truncate")[0]
    heard = caller.echoed_before_clear[-1][1]
    assert abs(truncate["audio_end_ms"] - heard) <= 20, (truncate, heard)
    assert truncate["audio_end_ms"] < caller.answer_ms + sum(len(a) for a in answer) / 8
    # the caller's question reached the model as audio
    assert len(client_events(emulator, "input_audio_buffer.append")) > 50
    metrics = served.app.state.fullduplex.metrics.render().decode()
    assert 'fullduplex_interruptions_total{channel="twilio"} 1.0' in metrics
    assert 'fullduplex_calls_total{channel="twilio"} 1.0' in metrics
    assert 'fullduplex_active_calls{channel="twilio"} 0.0' in metrics


async def test_dtmf_reaches_the_model_and_stop_ends_the_call(emulator: Emulator) -> None:
    async with serving(agent_factory(emulator)) as served:
        async with TwilioCaller(f"{served.ws}/twilio") as caller:
            await asyncio.sleep(0.2)
            await caller._send(
                {
                    "event": "dtmf",
                    "streamSid": caller.stream_sid,
                    "sequenceNumber": caller._next_seq(),
                    "dtmf": {"track": "inbound_track", "digit": "7"},
                }
            )
            await wait_for(
                lambda: any(
                    "key 7" in str(e) for e in client_events(emulator, "conversation.item.create")
                ),
                10,
                "the key press as a user message",
            )
            started = time.monotonic()
            await caller.stop()
            await asyncio.wait_for(caller.closed.wait(), 10)
            assert time.monotonic() - started < 5  # the server hung up, nobody waited it out
        agent = served.agents[0]
        await wait_for(lambda: not agent.started, 5, "the agent to stop")
