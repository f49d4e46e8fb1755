"""``WS /browser`` spoken from docs/browser-protocol.md against the app and the emulator."""

from __future__ import annotations

import asyncio
import re
import subprocess

import pytest
import websockets
from browser_client import PageClient
from serve_kit import agent_factory, clean_env, client_events, fullduplex_command, serving, wait_for

from fullduplex_emulator.synth import silence_pcm16, speech_audio
from fullduplex_openai.emulator import Emulator

RATE = 16000


def speech(text: str) -> bytes:
    return speech_audio(text, "pcm16", RATE) + silence_pcm16(800, RATE)


async def test_answer_played_reports_resume_and_barge_in(emulator: Emulator) -> None:
    async with serving(agent_factory(emulator)) as served:
        page = PageClient(f"{served.ws}/browser", RATE)
        ready = await page.open()
        assert ready["resumed"] is False
        await page.speak(speech("What time does the museum open tomorrow?"))
        await wait_for(
            lambda: any(t["final"] and t["role"] == "assistant" for t in page.of("transcript")),
            20,
            "the answer's final transcript",
        )
        final = next(t for t in page.of("transcript") if t["final"] and t["role"] == "assistant")
        assert re.fullmatch(r"I heard \d+\.\d seconds of audio\.", final["text"])
        item = final["item_id"]
        await wait_for(lambda: page.received_ms(item) > 1000, 10, "the answer's audio")
        assert page.of("audio_item")[0]["sample_rate"] == RATE
        assert len(client_events(emulator, "input_audio_buffer.append")) > 20

        # the page played the whole answer (reported in two steps, as it plays)
        await page.send({"type": "played", "item_id": item, "ms": 400})
        await page.send({"type": "played", "item_id": item, "ms": int(page.received_ms(item))})
        await asyncio.sleep(0.2)

        # a network blip: the page comes back with its resume token to the same conversation
        await page.close()
        again = PageClient(f"{served.ws}/browser", RATE)
        resumed = await again.open(resume=ready["session"])
        assert resumed["resumed"] is True
        assert resumed["session"] == ready["session"]
        assert len(served.agents) == 1

        # a second question; the page says it has played 700 ms of the answer, then talks over it
        await again.speak(speech("And how much are the tickets for two adults?"))
        await wait_for(lambda: again.of("audio_item"), 20, "the second answer's audio")
        second = again.of("audio_item")[0]["item_id"]
        await wait_for(lambda: again.received_ms(second) > 900, 10, "900 ms of the answer")
        await again.send({"type": "played", "item_id": second, "ms": 700})
        await again.speak(speech("Sorry, only one adult."))
        await wait_for(lambda: again.of("clear"), 15, "clear")
        assert again.of("clear")[0]["item_id"] == second
        await wait_for(
            lambda: client_events(emulator, "conversation.item.truncate"), 10, "a truncate"
        )
        truncate = client_events(emulator, "conversation.item.truncate")[0]
        assert (truncate["item_id"], truncate["audio_end_ms"]) == (second, 700)

        await again.send({"type": "hangup"})
        await wait_for(lambda: again.of("bye"), 10, "bye")
        await asyncio.wait_for(again.closed.wait(), 10)
        metrics = served.app.state.fullduplex.metrics.render().decode()
        assert "fullduplex_reconnects_total 1.0" in metrics
        assert 'fullduplex_interruptions_total{channel="browser"} 1.0' in metrics


async def test_bad_frames_get_an_error_and_the_conversation_goes_on(emulator: Emulator) -> None:
    async with serving(agent_factory(emulator)) as served:
        page = PageClient(f"{served.ws}/browser", RATE)
        await page.open()
        await page.ws.send("{not json")
        await page.send({"type": "dance"})
        await page.send({"type": "played", "item_id": 3})
        await page.ws.send(b"\x01\x02\x03")  # half a sample
        await wait_for(lambda: len(page.of("error")) == 4, 10, "four error frames")
        assert "accepted" in page.of("error")[1]["message"]
        await page.send({"type": "text", "text": "hello there"})
        await wait_for(
            lambda: any(t["final"] for t in page.of("transcript")), 20, "an answer after all that"
        )
        await page.close()


async def test_first_frame_must_be_hello(emulator: Emulator) -> None:
    async with serving(agent_factory(emulator)) as served:
        async with websockets.connect(f"{served.ws}/browser") as ws:
            await ws.send('{"type": "hello", "protocol": 1, "input_sample_rate": 5}')
            error = await asyncio.wait_for(ws.recv(), 5)
            assert "hello.input_sample_rate" in error
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1008
        assert served.agents == []


async def test_oversize_frame_ends_only_that_connection(emulator: Emulator) -> None:
    async with serving(agent_factory(emulator), max_frame_bytes=8192) as served:
        big, small = (
            PageClient(f"{served.ws}/browser", RATE),
            PageClient(f"{served.ws}/browser", RATE),
        )
        await big.open()
        await small.open()
        await big.ws.send(b"\x00" * 20000)
        await asyncio.wait_for(big.closed.wait(), 10)
        assert big.ws.close_code == 1009
        await small.send({"type": "text", "text": "still there?"})
        await wait_for(lambda: any(t["final"] for t in small.of("transcript")), 20, "an answer")
        await small.close()


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({"Origin": "https://evil.example"}, "?token=s3cret"),
        ({}, ""),
        ({}, "?token=wrong"),
    ],
)
async def test_origin_and_token_are_checked_before_anything_starts(
    emulator: Emulator, headers: dict[str, str], query: str
) -> None:
    async with serving(
        agent_factory(emulator), token="s3cret", allowed_origins=["https://app.example"]
    ) as served:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{served.ws}/browser{query}", additional_headers=headers)
        assert refused.value.response.status_code == 403
        # the allowed origin with the token gets in
        page = PageClient(
            f"{served.ws}/browser?token=s3cret",
            RATE,
            additional_headers={"Origin": "https://app.example"},
        )
        await page.open()
        await page.close()
        # so does the page's own origin
        own = PageClient(
            f"{served.ws}/browser?token=s3cret",
            RATE,
            additional_headers={"Origin": served.http},
        )
        await own.open()
        await own.close()
        assert len(served.agents) == 2


def test_serve_beyond_loopback_without_a_token_refuses_and_says_why() -> None:
    result = subprocess.run(
        [*fullduplex_command(), "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "--token" in result.stderr
    assert "reachable from other machines" in result.stderr
    assert "serving" not in result.stderr
