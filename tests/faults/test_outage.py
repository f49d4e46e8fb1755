"""A real outage of the server (issue 10, item 8): gone for 10 s, back on the same port.

The server is closed mid-conversation (every connection dropped, the port no longer
listening, so each reconnect is refused), and a new one is opened on the same port
10 s later. With the default :class:`RetryPolicy` the conversation carries on: the
history is replayed to the new server and the text typed during the outage is
answered. An outage longer than the policy allows ends the conversation with
:class:`ModelRetriesExhaustedError`, which ``send()`` then raises too.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from fault_kit import Watch, make_model, user_texts
from race_kit import until
from raw_server import RawConn, RawServer

from fullduplex import BidiAgent
from fullduplex.errors import ModelRetriesExhaustedError
from fullduplex.retry import RetryPolicy

OUTAGE_S = 10.0


def _answers(*texts: str) -> object:
    async def script(conn: RawConn) -> None:
        await conn.confirm()
        for text in texts:
            await conn.until_type("response.create")
            await conn.answer(text)

    return script


def _refused(caplog: pytest.LogCaptureFixture) -> int:
    return sum("could not connect" in record.getMessage() for record in caplog.records)


@pytest.mark.slow
async def test_a_10_s_outage_is_survived_with_the_default_retry_policy(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="fullduplex.agent")
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(OUTAGE_S + 25):
        first = RawServer([_answers("It is sunny.")])  # type: ignore[list-item]
        await first.__aenter__()
        port = first.port
        agent = BidiAgent(make_model(first.base_url))
        assert agent.retry == RetryPolicy()  # the default policy, untouched
        # The jitter at its low end: the shortest waits the default allows, so the
        # earliest give-up (about 18 s after the drop), the hardest case for a 10 s outage.
        agent._restarts.rand = lambda: 0.0
        await agent.start()
        watch = Watch(agent)
        try:
            await agent.send("How is the weather?")
            await watch.said("It is sunny.")

            await first.__aexit__(None, None, None)  # the server goes away
            gone_at = loop.time()
            await until(lambda: agent._input.restarting, "the agent is reconnecting")
            await agent.send("And tomorrow?")  # typed during the outage: held
            await asyncio.sleep(OUTAGE_S - (loop.time() - gone_at))
            assert not watch.ended.is_set(), watch.error
            assert _refused(caplog) >= 4  # the reconnects really were refused meanwhile

            async with RawServer([_answers("Rain tomorrow.")], port=port) as back:  # type: ignore[list-item]
                await watch.said("Rain tomorrow.", timeout=15)
                replay = back.conns[0]
                # the history replayed once, then the held line, answered once
                assert replay.texts("user") == ["How is the weather?", "And tomorrow?"]
                assert replay.texts("assistant") == ["It is sunny."]
                assert replay.count("response.create") == 1
                assert watch.answers() == ["It is sunny.", "Rain tomorrow."]
                assert len(watch.restarts()) == 1
                assert user_texts(agent.messages) == ["How is the weather?", "And tomorrow?"]
                await watch.close()
        finally:
            await watch.close()


async def test_an_outage_longer_than_the_policy_gives_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server never comes back: after max_attempts refused reconnects receive()
    raises ModelRetriesExhaustedError, and send() raises it too, holding nothing."""
    caplog.set_level(logging.WARNING, logger="fullduplex.agent")
    policy = RetryPolicy(max_attempts=3, initial_backoff_s=0.05, max_backoff_s=0.1)
    async with asyncio.timeout(10):
        server = RawServer([_answers("Hello.")])  # type: ignore[list-item]
        await server.__aenter__()
        agent = BidiAgent(make_model(server.base_url), retry=policy)
        await agent.start()
        watch = Watch(agent)
        try:
            await agent.send("hi")
            await watch.said("Hello.")
            await server.__aexit__(None, None, None)  # gone for good
            await watch.end()
            assert isinstance(watch.error, ModelRetriesExhaustedError), watch.error
            assert watch.error.attempts == 3
            assert _refused(caplog) >= 2  # the reconnects were refused
            with pytest.raises(ModelRetriesExhaustedError):
                await agent.send("anyone there?")
            assert user_texts(agent.messages) == ["hi"]
        finally:
            await watch.close()
