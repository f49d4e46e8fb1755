"""The agent on Gemini Live (no truncation, the server interrupts itself), over loopback.

Behaviour 2 from the agent's side: the history keeps only the share of the
cut answer the user heard (the playback ledger's figure), the message is
marked interrupted, no cancel or truncate is sent, and a reconnect without a
resumption handle replays that shortened history. Behaviour 3's
cancellation: the server's ``toolCallCancellation`` cancels exactly that
running tool, which is recorded as cancelled and answered to no one.
"""

from __future__ import annotations

import asyncio

from fullduplex import BidiAgent
from fullduplex._history import heard_share
from fullduplex.events import (
    BidiAudioInputEvent,
    BidiAudioStreamEvent,
    BidiConnectionRestartEvent,
    BidiInterruptionEvent,
    BidiResponseCompleteEvent,
    BidiToolCancelEvent,
    BidiTranscriptStreamEvent,
    ToolUseStreamEvent,
)
from fullduplex.tools import tool
from fullduplex_emulator.faults import Faults
from fullduplex_emulator.responder import FunctionCall, Reply, Responder, TurnContext
from fullduplex_emulator.synth import tone_pcm16
from fullduplex_gemini import BidiGeminiLiveModel
from fullduplex_gemini.emulator import GeminiEmulator

from .conftest import KEY, MODEL

LONG = "This is a rather long answer that goes on and on for a few seconds at least, really."


class Long(Responder):
    def respond(self, context: TurnContext) -> Reply:
        return Reply(LONG)


async def test_barge_in_keeps_the_heard_share_and_replays_it_after_a_drop() -> None:
    async with GeminiEmulator(api_key=KEY, pace=1.0, responder=Long()) as emu:
        # no resumption: a new connection must be seeded with the agent's history
        model = BidiGeminiLiveModel(
            MODEL, {"resumption": False}, {"api_key": KEY, "base_url": emu.base_url}
        )
        agent = BidiAgent(model, restart_backoff_s=0)
        async with asyncio.timeout(20):
            await agent.start()
            agent.playback.attach_player()
            await agent.send("talk")
            events = agent.receive()
            received_ms = 0.0
            spoke = False
            seen = []
            async for event in events:
                seen.append(event)
                if isinstance(event, BidiAudioStreamEvent) and not spoke:
                    received_ms += len(event.audio) * 1000 / (2 * event.sample_rate)
                    if received_ms >= 2000:
                        # the player has played half of what arrived
                        agent.playback.report(event.item_id or "", received_ms / 2)
                        await agent.send(BidiAudioInputEvent(tone_pcm16(300, rate=16000), 16000))
                        spoke = True
                if isinstance(event, BidiResponseCompleteEvent):
                    break
            [cut] = [e for e in seen if isinstance(e, BidiInterruptionEvent)]
            [said] = [
                e.current_transcript
                for e in seen
                if isinstance(e, BidiTranscriptStreamEvent) and e.is_final and e.role == "assistant"
            ]
            assert LONG.startswith(said)
            [assistant] = [m for m in agent.messages if m["role"] == "assistant"]
            kept = assistant["content"][0]["text"]
            assert assistant.get("interrupted") is True
            # about half of the transcript (the ledger's heard share), a whole-word prefix
            assert said.startswith(kept)
            assert 0 < len(kept) < len(said)
            share = agent.playback.heard_ms(cut.item_id or "") / cut.audio_received_ms
            assert kept == heard_share(said, min(1.0, share))
            # nothing to cancel or truncate on this protocol: the client sent neither
            kinds = {next(iter(m)) for m in emu.received}
            assert kinds <= {"setup", "clientContent", "realtimeInput"}

            # the connection drops; with no handle the agent replays its history
            emu.connections[-1].faults = Faults(drop_after_events=0)
            await agent.send("again")
            async for event in events:
                if isinstance(event, BidiConnectionRestartEvent):
                    break
            while len([m for m in emu.received if "setup" in m]) < 2:
                await asyncio.sleep(0.01)
            while not any(
                "clientContent" in m and len(m["clientContent"].get("turns", ())) > 1
                for m in emu.received
            ):
                await asyncio.sleep(0.01)
            await agent.stop()
        [replay] = [
            m["clientContent"]["turns"]
            for m in emu.received
            if "clientContent" in m and len(m["clientContent"].get("turns", ())) > 1
        ]
        model_turns = [t["parts"][0]["text"] for t in replay if t["role"] == "model"]
        assert model_turns == [kept]


async def test_the_servers_tool_cancellation_cancels_exactly_that_call() -> None:
    cancelled: list[str] = []

    @tool
    async def lookup(city: str) -> str:
        """Look a city up, slowly.

        Args:
            city: the city.
        """
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(city)
            raise
        return "found"

    class Calls(Responder):
        def respond(self, context: TurnContext) -> Reply:
            return Reply("Let me check.", (FunctionCall("lookup", '{"city": "Oslo"}'),))

    async with GeminiEmulator(api_key=KEY, pace=1.0, responder=Calls()) as emu:
        model = BidiGeminiLiveModel(MODEL, None, {"api_key": KEY, "base_url": emu.base_url})
        agent = BidiAgent(model, tools=[lookup])
        async with asyncio.timeout(20):
            await agent.start()
            await agent.send("go")
            events = agent.receive()
            call_id = None
            async for event in events:
                if isinstance(event, ToolUseStreamEvent) and event.is_final:
                    call_id = event.call_id
                    # the user speaks while the tool runs: the server withdraws the call
                    await agent.send(BidiAudioInputEvent(tone_pcm16(300, rate=16000), 16000))
                if isinstance(event, BidiToolCancelEvent):
                    assert event.call_ids == (call_id,)
                    break
            while not cancelled:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)
            await agent.stop()
        assert cancelled == ["Oslo"]
        assert not [m for m in emu.received if "toolResponse" in m]
        results = [
            block["toolResult"]
            for message in agent.messages
            for block in message["content"]
            if "toolResult" in block
        ]
        assert [(r["toolUseId"], r["status"]) for r in results] == [(call_id, "cancelled")]
