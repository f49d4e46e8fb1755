"""``BidiAgent``: the conversation loop between a bidi model, tools and IO channels.

One reader task per model connection hands the model's events to
:class:`~._dispatch.ModelEvents` (history, tool runs, interruptions, outputs;
audio on a fast path). The agent alone decides the conversation's turns:
whether the user interrupted (:mod:`._interruption`, from the playback
ledger), what to truncate, whether to ask for a cancel. Its parts:

- tools run as tasks while the conversation goes on (:mod:`._tool_calls`);
  each result reaches the model exactly once;
- a restartable connection failure (:class:`~fullduplex.errors.ModelConnectionError`)
  is survived: the agent stops the model, starts it again with the full
  history, and delivers the input that arrived meanwhile, in order;
- ``stop()`` ends everything it started, whoever is iterating ``receive()``.

Use it as ``async with BidiAgent(...) as agent`` + ``send`` / ``receive``, or
``await agent.run(inputs=[...], outputs=[...])``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

import attrs

from ._dispatch import ModelEvents
from ._event_buffer import EventBuffer
from ._history import HistoryRecorder
from ._hooks import LifecycleHooks
from ._interruption import Interruptions
from ._options import check_collection, check_model, positive, retry_policy
from ._outputs import OutputFanout
from ._restart import InputHold, Reconnector
from ._run import TurnState, pump_input, stop_inputs, wait_for_end
from ._signals import check_signals, stop_on_signals
from ._tool_calls import RunningTool, ToolCalls
from .errors import ConfigurationError, EventError, FullDuplexError, ModelError
from .events import (
    INPUT_EVENT_TYPES,
    BidiAudioInputEvent,
    BidiAudioStreamEvent,
    BidiConnectionRestartEvent,
    BidiConnectionStartEvent,
    BidiInputEvent,
    BidiOutputEvent,
    BidiTextInputEvent,
    event_from_dict,
)
from .io import BidiInput, BidiOutput, PlaybackLedger
from .messages import Message, Messages, text_message, validate_messages
from .metrics import AgentMetrics, MeteredLedger
from .model import BidiModel
from .retry import RetryPolicy
from .tool_providers import ProviderTools
from .tools import AgentTool, ToolItem, split_tools

logger = logging.getLogger("fullduplex.agent")

_END = object()


@attrs.frozen(slots=True)
class _Raise:
    error: BaseException


class BidiAgent:
    """A realtime conversation with a bidi model, its tools, and IO channels.

    Args:
        model: a :class:`~fullduplex.model.BidiModel`, or a registered name such
            as ``"openai/gpt-realtime"`` (built with ``model_config``).
        tools: ``@tool`` functions, plain functions, registered tool names, or
            tool providers (:class:`~fullduplex.tool_providers.ToolProvider`,
            e.g. an MCP server): the agent starts those before the model
            connects, stops them with itself, and follows their tool list
            changes (at once where ``capabilities.tool_update``, else at the
            next reconnect).
        system_prompt: instructions for the model.
        messages: a history to carry on (``old_agent.messages``).
        plugins: hook objects for this agent only (after the global plugins).
        retry: when and how often to reconnect after a dropped connection
            (:class:`~fullduplex.retry.RetryPolicy`; its defaults survive a
            10 s outage of the server).
        max_restarts: overrides ``retry.max_attempts`` (kept for older code).
        restart_backoff_s: overrides ``retry.initial_backoff_s`` (kept for older code).
        settle_timeout_s: how long ``run()`` waits, once every input is done,
            for the answer to the last input.
        tool_timeout_s: default time limit for tools that set none.
        output_drain_timeout_s: how long outputs may take to finish their
            backlog when ``run()`` ends.
        audio_grace_s: once the inputs are done, how long ``run()`` waits for
            audio sent last to bring an answer (speech detected, a response).
        tool_start_timeout_s: how long the tool providers may take to start.
    """

    def __init__(
        self,
        model: BidiModel | str,
        tools: Iterable[ToolItem] | None = None,
        system_prompt: str | None = None,
        messages: Sequence[Message] | None = None,
        plugins: Sequence[object] | None = None,
        *,
        model_config: Mapping[str, Any] | None = None,
        retry: RetryPolicy | None = None,
        max_restarts: int | None = None,
        restart_backoff_s: float | None = None,
        settle_timeout_s: float = 30.0,
        tool_timeout_s: float | None = None,
        output_drain_timeout_s: float = 2.0,
        audio_grace_s: float = 2.0,
        tool_start_timeout_s: float = 60.0,
    ) -> None:
        # Every option is checked here, before anything is built: a bad value is
        # a ConfigurationError naming it now, not a stalled conversation later.
        policy = retry_policy(retry, max_restarts, restart_backoff_s)
        if model_config is not None and not isinstance(model_config, Mapping):
            raise ConfigurationError(
                f"model_config: got {type(model_config).__name__}; accepted: a mapping or None"
            )
        check_collection(
            "tools",
            tools,
            "a list of @tool functions, plain functions, registered tool names or tool "
            "providers, or None",
        )
        check_collection("plugins", plugins, "a list of hook objects, or None")
        check_collection("messages", messages, "a list of messages (agent.messages), or None")
        if isinstance(model, str):
            from .registry import get_model

            model = get_model(model, **dict(model_config or {}))
        elif model_config:
            raise ConfigurationError(
                "model_config: only used when model is a registered name; configure the "
                "model object itself"
            )
        check_model(model)
        positive("settle_timeout_s", settle_timeout_s)
        positive("tool_timeout_s", tool_timeout_s, allow_none=True)
        positive("output_drain_timeout_s", output_drain_timeout_s)
        positive("audio_grace_s", audio_grace_s)
        positive("tool_start_timeout_s", tool_start_timeout_s)
        if system_prompt is not None and not isinstance(system_prompt, str):
            raise ConfigurationError(
                f"system_prompt: expected text, got {type(system_prompt).__name__}"
            )

        self.model: BidiModel = model
        self.system_prompt = system_prompt
        local_tools, providers = split_tools(tools)
        #: the tools the model has now: the local ones, plus the providers' while they run
        self.tools: list[AgentTool] = local_tools
        self._providers = ProviderTools(local_tools, providers, self._tools_replaced)
        self.tool_start_timeout_s = float(tool_start_timeout_s)
        self.messages: Messages = validate_messages(list(messages)) if messages else []
        self.playback: PlaybackLedger = MeteredLedger()
        #: live per-turn and total figures (:mod:`fullduplex.metrics`)
        self.metrics = AgentMetrics(self.playback, self._emit)
        self._cuts = Interruptions(self.playback)
        self.retry = policy
        self.settle_timeout_s = float(settle_timeout_s)
        self.tool_timeout_s = tool_timeout_s
        self.output_drain_timeout_s = float(output_drain_timeout_s)
        self.audio_grace_s = float(audio_grace_s)
        self._tools_by_name = {t.name: t for t in self.tools}
        self._specs = tuple(t.spec for t in self.tools)
        #: a connection is being opened (start() or a reconnect): a tool change
        #: now is sent by the opener once it is up, not through update_tools
        self._connecting = False
        # the metrics hear of interruptions and reconnects as a hook object, last
        self._hooks = LifecycleHooks([*(plugins or ()), self.metrics])
        self._fanout: OutputFanout | None = None
        self._restarts = Reconnector(stop=lambda: self.model.stop(), reopen=self._reopen)
        self._reset()

    # ----------------------------------------------------------------- state
    def _reset(self) -> None:
        self._started = False
        self._stopping = False
        #: the model's start() while start() runs (stop() cancels it)
        self._opening: asyncio.Task[None] | None = None
        #: the one shutdown of this conversation, shared by every stop() call
        self._stop_task: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        # One buffer for the agent's life, emptied per start: a receive() already
        # waiting on it (begun before start()) must get this conversation's events.
        queue: EventBuffer[object] | None = getattr(self, "_queue", None)
        if queue is None:
            self._queue: EventBuffer[object] = EventBuffer()
        else:
            queue.items.clear()
        self._input = InputHold()
        self._restarts.reset()
        self._send_failure: ModelError | None = None
        #: when the current connection first carried real traffic (not the
        #: synthetic connection start); None until it has
        self._traffic_since: float | None = None
        self._tools = ToolCalls(self)
        self._turn = TurnState()
        self._stop_requested = asyncio.Event()
        self._closed = asyncio.Event()
        self._failure: BaseException | None = None
        self._cuts.reset()
        self.metrics.reset()
        self._history = HistoryRecorder(lambda: self.messages, self._message_added, self._cuts.cut)
        self._events = ModelEvents(self, self._cuts, self._history, self._tools, self._turn)

    @property
    def _tool_tasks(self) -> dict[str, RunningTool]:
        """The tool calls running now, by call id."""
        return self._tools.running

    def _over(self) -> bool:
        """The conversation is stopping or over: results are recorded, not sent."""
        return self._stopping or self._closed.is_set()

    @property
    def max_restarts(self) -> int:
        """``retry.max_attempts`` (the older name)."""
        return self.retry.max_attempts

    @property
    def restart_backoff_s(self) -> float:
        """``retry.initial_backoff_s`` (the older name)."""
        return self.retry.initial_backoff_s

    @property
    def started(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._started

    @property
    def stop_requested(self) -> bool:
        """True once a tool (or :meth:`request_stop`) asked to end the conversation."""
        return self._stop_requested.is_set()

    # -------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Open the model connection (with the history) and start reading from it.

        A ``stop()`` that arrives while the connection opens wins: the opening
        is cancelled (or the fresh connection closed) and ``start()`` returns
        with the agent stopped.
        """
        if self._started or self._opening is not None:
            return
        self._reset()
        opening = self._opening = asyncio.create_task(self._open(), name="fullduplex-agent-start")
        try:
            await opening
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self._stop_task is not None and current is not None and not current.cancelling():
                return  # stop() cancelled the opening; it does the cleaning up
            await self._providers.stop(self.output_drain_timeout_s)
            raise
        except BaseException:
            if self._stop_task is None:  # else stop() stops them
                await self._providers.stop(self.output_drain_timeout_s)
            raise
        finally:
            self._opening = None
        if self._stop_task is not None:
            return  # stop() came as the connection opened; it closes the model
        self._started = True
        self._supervisor = asyncio.create_task(self._supervise(), name="fullduplex-agent")
        await self._hooks.call("on_agent_start", agent=self)

    async def _open(self) -> None:
        """Start the tool providers, then the model with every tool (stop() cancels it)."""
        if self._providers:
            self._use_tools(
                await self._providers.start(self.tool_start_timeout_s, self.output_drain_timeout_s)
            )
        await self._start_model()

    async def _start_model(self) -> None:
        """``model.start`` with the history and the tools; send tools changed meanwhile."""
        specs = self._specs
        self._connecting = True
        try:
            await self.model.start(self.system_prompt, specs, messages=list(self.messages))
        finally:
            self._connecting = False
        if self._specs != specs:
            await self._send_tools()

    def _use_tools(self, tools: list[AgentTool]) -> None:
        """Make ``tools`` the agent's tool set (calls already running keep their tool)."""
        self.tools = tools
        self._tools_by_name = {t.name: t for t in tools}
        self._specs = tuple(t.spec for t in tools)

    async def _tools_replaced(self, tools: list[AgentTool]) -> None:
        """A tool provider's list changed: use the new set, and tell the model if it can hear it.

        Without ``capabilities.tool_update`` the new specs reach the model at
        the next connection (a reconnect sends the agent's current specs).
        """
        self._use_tools(tools)
        if self._connecting or not self._started or self._over():
            return  # the opener sends the current specs once the connection is up
        await self._send_tools()

    async def _send_tools(self) -> None:
        """``model.update_tools`` with the current specs, where the model can take them."""
        update = getattr(self.model, "update_tools", None)
        if not self.model.capabilities.tool_update or update is None:
            logger.info("the tool list changed; the model sees it at the next connection")
            return
        try:
            await update(self._specs)
        except ModelError as exc:  # a dead connection: the reconnect sends the current specs
            logger.warning(
                "could not send the changed tool list now (%s); the next connection takes it", exc
            )

    async def stop(self) -> None:
        """End the conversation: cancel running tools (recorded as cancelled), close
        the model, end every ``receive()``.

        Safe to call twice, from any task, also from inside a hook, an output or
        a tool: the shutdown runs as a task of its own that every caller waits
        for (shielded, so cancelling a caller does not cut it short). A caller
        that the shutdown itself cancels (the reader, a tool) just ends.
        """
        task = self._stop_task
        if task is None:
            if not (self._started or self._opening is not None):
                return
            self._stopping = True
            task = self._stop_task = asyncio.create_task(
                self._shutdown(), name="fullduplex-agent-stop"
            )
        if task is asyncio.current_task():
            return  # a hook run by the shutdown (on_agent_stop) asked again
        await asyncio.shield(task)

    async def _shutdown(self) -> None:
        was_started = self._started
        try:
            opening = self._opening
            if opening is not None:
                opening.cancel()
                await asyncio.wait({opening}, timeout=self.output_drain_timeout_s)
            supervisor = self._supervisor
            if supervisor is not None:
                supervisor.cancel()
                await asyncio.gather(supervisor, return_exceptions=True)
            await self._tools.stop(self.output_drain_timeout_s)
            try:
                await self.model.stop()
            except Exception:
                logger.exception("model.stop() failed")
            await self._providers.stop(self.output_drain_timeout_s)
            self._input.drop("the conversation was stopped before a connection took it")
            self.metrics.finish()
            self._end_receivers()
            self._closed.set()
            self._turn.activity.set()
            if was_started:
                await self._hooks.call("on_agent_stop", agent=self)
        finally:
            self._started = False

    async def __aenter__(self) -> BidiAgent:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def request_stop(self) -> None:
        """Ask ``run()`` to end the conversation (what ``stop_conversation`` does)."""
        self._stop_requested.set()

    # ------------------------------------------------------------------ input
    async def send(self, event: str | BidiInputEvent | Mapping[str, Any]) -> None:
        """Send text, an input event, or an event's dict form to the model.

        While the connection is being replaced the input is held and delivered,
        in order, once the new connection is up (and recorded in history only
        then). Once the conversation is over (a fatal error, reconnecting given
        up, the model closed it, ``stop()``) it raises: the error that ended the
        conversation, or a :class:`~fullduplex.errors.FullDuplexError` saying
        it is over. Malformed input raises :class:`~fullduplex.errors.EventError`
        and reaches neither the model nor the history.
        """
        if not self._started or self._closed.is_set() or self._stopping:
            self._refuse()
        if type(event) is BidiAudioInputEvent:
            self._turn.audio_since_response = True
            await self._deliver(event)
            return
        if isinstance(event, str):
            event = BidiTextInputEvent(event)
        elif isinstance(event, Mapping):
            event = event_from_dict(dict(event))  # type: ignore[assignment]
        if isinstance(event, BidiAudioInputEvent):
            self._turn.audio_since_response = True
            await self._deliver(event)
        elif isinstance(event, BidiTextInputEvent):
            self._turn.answer_owed()
            self.metrics.user_input_ended()
            await self._deliver(event, text_message(event.role, event.text))
        elif isinstance(event, INPUT_EVENT_TYPES):
            await self._deliver(event)
        else:
            accepted = ", ".join(cls.__name__ for cls in INPUT_EVENT_TYPES)
            raise EventError(
                f"send: expected text, an input event ({accepted}) or its dict, "
                f"got {type(event).__name__}"
            )

    def _refuse(self) -> None:
        """Raise why input cannot be taken now."""
        if self._failure is not None:
            raise self._failure
        if self._closed.is_set() or self._stopping:
            raise FullDuplexError(
                "the conversation is over (the model closed it, or stop() was called); "
                "start() the agent again for a new one"
            )
        raise FullDuplexError("the agent is not started; call start() or use `async with`")

    async def _deliver(self, event: BidiInputEvent, message: Message | None = None) -> None:
        """Send in order; hold while the connection is replaced; record on delivery.

        Input is held only while a restart is under way; once the conversation
        is over it is refused (it would never reach a server).
        """
        hold = self._input
        async with hold.lock:
            if self._closed.is_set():
                self._refuse()
            if hold.restarting or hold.pending:
                hold.pending.append((event, message))
                return
            await self._send_now(event, message)

    async def _send_now(self, event: BidiInputEvent, message: Message | None) -> None:
        try:
            await self.model.send(event)
        except ModelError as exc:
            if exc.restartable and self._may_restart():
                self._input.pending.appendleft((event, message))
                self._connection_failed(exc)
                return
            self._finish(exc)
            raise
        if message is not None:
            await self._record(message)

    def _may_restart(self) -> bool:
        return self.model.capabilities.restartable and not self._stopping

    def _connection_failed(self, exc: ModelError) -> None:
        """A send found the connection dead: have the supervisor replace it."""
        if self._input.restarting:
            return
        self._input.restarting = True
        self._send_failure = exc
        if self._reader is not None:
            self._reader.cancel()

    # ----------------------------------------------------------------- output
    async def receive(self) -> AsyncIterator[BidiOutputEvent]:
        """Yield output events until the conversation ends; raise a fatal model error.

        Not for use together with ``run()``, which hands the events to its outputs.
        """
        while True:
            queue = self._queue
            # take a ready event without awaiting (the hot path: one per audio chunk)
            item = queue.items.popleft() if queue.items else await queue.get()
            if item is _END:
                queue.put_nowait(_END)
                return
            if type(item) is _Raise:
                queue.put_nowait(_END)
                raise item.error
            yield item  # type: ignore[misc]

    def _emit(self, event: BidiOutputEvent) -> None:
        fanout = self._fanout
        if fanout is not None:
            fanout.publish(event)
        else:
            self._queue.put_nowait(event)

    def _end_receivers(self) -> None:
        """Drop undelivered events (keeping a fatal error) and end every ``receive()``."""
        failure: _Raise | None = None
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, _Raise) and failure is None:
                failure = item
        if failure is not None:
            self._queue.put_nowait(failure)
        self._queue.put_nowait(_END)

    def _finish(self, error: BaseException | None) -> None:
        """The model ended (``error`` None) or failed for good."""
        if self._closed.is_set():
            return
        if error is not None:
            self._failure = error
            self._queue.put_nowait(_Raise(error))
        else:
            self._queue.put_nowait(_END)
        self._closed.set()
        self._input.drop("the conversation ended before a connection took it")
        self._turn.activity.set()

    # ------------------------------------------------------------ the reader
    async def _supervise(self) -> None:
        """Run one reader per connection; replace the connection when it fails."""
        reader: asyncio.Task[None] | None = None
        try:
            while True:
                failure: BaseException | None = self._send_failure
                if failure is None:
                    reader = self._reader = asyncio.create_task(
                        self._read(), name="fullduplex-agent-reader"
                    )
                    await asyncio.wait({reader})
                    failure = self._send_failure
                    if reader.cancelled() and failure is None:
                        # Nobody here cancelled it (stop() cancels this task, a
                        # failed send sets _send_failure): the model's own
                        # receive() raised CancelledError. End receive() loudly.
                        self._finish(ModelError("the model's receive() was cancelled from inside"))
                        return
                    if not reader.cancelled() and failure is None:
                        failure = reader.exception()
                        if failure is None:
                            self._finish(None)
                            return
                self._send_failure = None
                self._reader = None
                if not (
                    isinstance(failure, ModelError) and failure.restartable and self._may_restart()
                ):
                    self._finish(failure)
                    return
                if not await self._reconnect(failure):
                    return
        except asyncio.CancelledError:
            if reader is not None:
                # also when it just finished: its exception is retrieved, not left
                # to be logged as "never retrieved" (the failure lost with the stop)
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
            raise

    async def _read(self) -> None:
        self._traffic_since = None
        on_audio = self._events.audio
        handle = self._handle
        clock = self._restarts.clock
        metrics = self.metrics
        async for event in self.model.receive():
            if type(event) is BidiAudioStreamEvent:  # the hot path: no dispatch chain
                if self._traffic_since is None:
                    self._traffic_since = clock()
                if metrics.awaiting_audio:  # once per turn
                    metrics.first_audio(event)
                on_audio(event)
                continue
            if self._traffic_since is None and not isinstance(event, BidiConnectionStartEvent):
                self._traffic_since = clock()
            await handle(event)

    async def _handle(self, event: BidiOutputEvent) -> None:
        """Every model event but plain audio (see :class:`~._dispatch.ModelEvents`)."""
        await self._events.handle(event)
        self.metrics.observe(event)

    async def _record(self, message: Message, at: int | None = None) -> None:
        """Append ``message`` (or insert it at ``at``) to the history and tell the hooks."""
        await self._history.record(message, at)

    async def _message_added(self, message: Message) -> None:
        if self._hooks.implemented("on_message_added"):
            await self._hooks.call("on_message_added", agent=self, message=message)

    # ---------------------------------------------------------------- restart
    async def _reconnect(self, failure: ModelError) -> bool:
        """Replace the connection, replaying the history; False when giving up."""
        self._input.restarting = True
        since = self._traffic_since
        healthy = since is not None and self._restarts.clock() - since >= self.retry.healthy_after_s
        self._traffic_since = None
        error = await self._restarts.reconnect(failure, healthy=healthy, policy=self.retry)
        if error is not None:
            self._finish(error)
            return False
        self._input.restarting = False
        self._turn.connection_replaced()
        restart = BidiConnectionRestartEvent(
            reason=getattr(failure, "reason", "connection_lost"),
            attempt=self._restarts.attempt,
            error=str(failure),
        )
        self._emit(restart)
        await self._hooks.call("on_connection_restart", agent=self, event=restart)
        return True

    async def _reopen(self) -> None:
        """Start the model again with the whole history, then deliver the held input."""
        await self._start_model()
        await self._input.flush(self.model.send, self._record)

    # -------------------------------------------------------------------- run
    def _in_flight(self) -> bool:
        """Work of the agent's own that an answer may still come from."""
        return bool(
            self._tools.running
            or self._input.restarting
            or self._input.pending
            or self.model.answer_pending
        )

    async def _wait_settled(self) -> None:
        """Wait until the answer to the last input is complete (with the audio grace)."""
        await self._turn.wait_settled(
            self._in_flight,
            audio_input=self.model.capabilities.audio_input,
            audio_grace_s=self.audio_grace_s,
        )

    async def run(
        self,
        inputs: Sequence[BidiInput] = (),
        outputs: Sequence[BidiOutput] = (),
        *,
        stop_signals: Iterable[int] = (),
    ) -> None:
        """Run a whole conversation between ``inputs`` and ``outputs``.

        Ends when a tool asks to stop (``stop_conversation``), when the model
        closes the conversation, when a fatal model error occurs (raised here),
        or when every input is finished and the answer to the last one is
        complete (waiting at most ``settle_timeout_s``). Everything started
        here is stopped on the way out, also when ``run()`` is cancelled.

        ``stop_signals`` (e.g. ``(signal.SIGINT, signal.SIGTERM)``): end the
        conversation cleanly on these signals and return, instead of the
        ``KeyboardInterrupt`` traceback a script gets from Ctrl-C.
        """
        signals = check_signals(stop_signals)
        if signals:
            with stop_on_signals(self.request_stop, signals):
                await self._run(inputs, outputs)
        else:
            await self._run(inputs, outputs)

    async def _run(self, inputs: Sequence[BidiInput], outputs: Sequence[BidiOutput]) -> None:
        fanout = OutputFanout(list(outputs), self.output_drain_timeout_s)
        pumps: list[asyncio.Task[None]] = []
        started_inputs: list[BidiInput] = []
        error: BaseException | None = None
        try:
            self._fanout = fanout
            await fanout.start(self)
            await self.start()
            if not self._started:
                return  # stop() won the race with start(): there is nothing to run
            for source in inputs:
                await source.start(self)
                started_inputs.append(source)
            pumps = [
                asyncio.create_task(pump_input(source, self.send), name="fullduplex-input")
                for source in inputs
            ]
            error = await wait_for_end(
                pumps,
                fanout,
                stop_requested=self._stop_requested,
                closed=self._closed,
                settle=self._wait_settled,
                settle_timeout_s=self.settle_timeout_s,
            )
        finally:
            # Nested so that a hanging input or a second cancellation still
            # stops the agent and the outputs.
            try:
                await stop_inputs(pumps, started_inputs, self.output_drain_timeout_s)
            finally:
                try:
                    await self.stop()
                finally:
                    await fanout.stop()
                    self._fanout = None
        if error is not None:
            raise error
        if self._failure is not None:
            raise self._failure
