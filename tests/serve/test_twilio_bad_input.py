"""Bad input on the telephony channel: signatures, malformed and misplaced messages, oversize
frames. Each case gets a log line and the call ends or goes on as the protocol demands, and
another call in the same process is untouched."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import urllib.parse
import urllib.request

import orjson
import pytest
import websockets
from serve_kit import agent_factory, client_events, serving, wait_for
from twilio_client import TwilioCaller

from fullduplex_emulator.synth import speech_audio
from fullduplex_openai.emulator import Emulator

AUTH_TOKEN = "twilio-auth-token-for-tests"
PUBLIC = "https://agent.example.com"


def signature(url: str, params: dict[str, str]) -> str:
    """Twilio's algorithm as the protocol summary states it (§5), written out here."""
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(
        hmac.new(AUTH_TOKEN.encode(), data.encode(), hashlib.sha1).digest()
    ).decode()


def post(url: str, params: dict[str, str], sig: str | None) -> tuple[int, str]:
    body = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if sig is not None:
        request.add_header("X-Twilio-Signature", sig)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def test_signatures_are_required_when_an_auth_token_is_set(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "fullduplex.serve")
    async with serving(
        agent_factory(emulator), twilio_auth_token=AUTH_TOKEN, public_url=PUBLIC
    ) as served:
        voice = f"{served.http}/twilio/voice"
        params = {"CallSid": "CA123", "From": "+15550001111", "To": "+15550002222"}
        good = signature(f"{PUBLIC}/twilio/voice", params)
        status, body = await asyncio.to_thread(post, voice, params, good)
        assert status == 200
        assert '<Stream url="wss://agent.example.com/twilio">' in body
        # the same URL with the explicit default port is accepted too (Twilio varies)
        port_sig = signature("https://agent.example.com:443/twilio/voice", params)
        assert (await asyncio.to_thread(post, voice, params, port_sig))[0] == 200
        for bad in (None, "bm90IGEgc2lnbmF0dXJl", signature(f"{PUBLIC}/twilio/voice", {})):
            assert (await asyncio.to_thread(post, voice, params, bad))[0] == 403
        # the upgrade: signed over the wss:// URL of <Stream url>, no fields
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(
                f"{served.ws}/twilio", additional_headers={"X-Twilio-Signature": good}
            )
        assert refused.value.response.status_code == 403
        assert served.agents == []
        upgrade = signature("wss://agent.example.com/twilio", {})
        async with TwilioCaller(
            f"{served.ws}/twilio", headers={"X-Twilio-Signature": upgrade}
        ) as caller:
            await wait_for(lambda: served.agents, 10, "the agent of a signed call")
            await caller.stop()
            await asyncio.wait_for(caller.closed.wait(), 10)
    assert "X-Twilio-Signature is missing or does not match" in caplog.text


async def test_media_before_start_ends_that_call_only(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "fullduplex.serve")
    async with serving(agent_factory(emulator)) as served:
        async with websockets.connect(f"{served.ws}/twilio") as rogue:
            await rogue.send('{"event": "connected", "protocol": "Call", "version": "1.0.0"}')
            await rogue.send(
                orjson.dumps(
                    {
                        "event": "media",
                        "sequenceNumber": "2",
                        "media": {
                            "track": "inbound",
                            "chunk": "1",
                            "timestamp": "0",
                            "payload": base64.b64encode(b"\xff" * 160).decode(),
                        },
                        "streamSid": "MZ1",
                    }
                ).decode()
            )
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(rogue.recv(), 5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1008
        assert served.agents == []
    assert "'media' before 'start'" in caplog.text


async def test_garbage_mid_call_is_logged_and_the_call_goes_on(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "fullduplex.serve")
    async with (
        serving(agent_factory(emulator), max_frame_bytes=8192) as served,
        TwilioCaller(f"{served.ws}/twilio") as caller,
        TwilioCaller(f"{served.ws}/twilio") as other,
    ):
        await caller.ws.send("{this is not json")
        await caller.ws.send('{"event": "transcription", "streamSid": "x"}')
        await caller.ws.send('{"event": "media", "media": {"payload": "%%%"}}')
        await asyncio.sleep(0.2)
        caller.say(speech_audio("Is the pharmacy on Main Street open now?", "ulaw", 8000))
        await wait_for(lambda: caller.media, 20, "an answer despite the garbage")
        # an oversize frame ends the other call (close 1009) and only that one
        await other.ws.send("x" * 20000)
        await asyncio.wait_for(other.closed.wait(), 10)
        assert other.ws.close_code == 1009
        await wait_for(lambda: not served.agents[1].started, 10, "the other call's agent to end")
        assert served.agents[0].started
        await caller.stop()
    assert len(client_events(emulator, "input_audio_buffer.append")) > 20
    log = caplog.text
    assert "malformed JSON ignored" in log
    assert "unknown event 'transcription' ignored" in log
    assert "bad 'media' message ignored" in log
    assert "oversize frame" in log
