"""``BidiAgent``: the conversation loop between a bidi model, tools and IO channels.

One reader task per model connection turns the model's events into history,
tool runs and output events. Audio events take a fast path (no hook, no
validation, no copy: the playback ledger is told the chunk's duration, and
the same object goes on to the outputs). Everything else is rare enough to be
handled with care:

- tools run as tasks while the conversation goes on; each result reaches the
  model exactly once (an error, a timeout, a veto or a cancellation included);
- an interruption reaches every output at once, truncates what the user did
  not hear (when the model can), and cancels tools that asked for it;
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
import math
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

import attrs

from ._event_buffer import EventBuffer
from ._hooks import LifecycleHooks
from ._outputs import OutputFanout
from ._restart import InputHold, Reconnector
from ._run import TurnState, pump_input, wait_for_end
from ._tool_runner import execute_call
from .errors import ConfigurationError, EventError, FullDuplexError, ModelError
from .events import (
    INPUT_EVENT_TYPES,
    BidiAudioInputEvent,
    BidiAudioStreamEvent,
    BidiAudioTruncateEvent,
    BidiConnectionRestartEvent,
    BidiConnectionStartEvent,
    BidiInputEvent,
    BidiInterruptionEvent,
    BidiOutputEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiSpeechEvent,
    BidiTextInputEvent,
    BidiTranscriptStreamEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
    event_from_dict,
)
from .io import BidiInput, BidiOutput, PlaybackLedger
from .messages import (
    Message,
    Messages,
    text_message,
    tool_result_message,
    tool_use_message,
    validate_messages,
)
from .model import BidiModel
from .retry import RetryPolicy
from .tools import AgentTool, ToolCall, ToolContext, as_tools, error_result

logger = logging.getLogger("fullduplex.agent")

_END = object()


@attrs.frozen(slots=True)
class _Raise:
    error: BaseException


@attrs.define(slots=True)
class _RunningTool:
    task: asyncio.Task[None]
    call: ToolCall
    tool: AgentTool | None
    context: ToolContext


#: spoken user turns whose place in history is remembered until their transcript
_MAX_USER_SLOTS = 32


def _audio_ms(event: BidiAudioStreamEvent) -> float:
    """Duration of an audio chunk from its size and format (arithmetic only)."""
    width = 2 if event.format == "pcm16" else 1
    per_second = width * event.channels * event.sample_rate
    return len(event.audio) * 1000.0 / per_second if per_second > 0 else 0.0


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive(name: str, value: float | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not _number(value) or not math.isfinite(value) or not value > 0:  # type: ignore[arg-type,operator]
        accepted = "a finite positive number of seconds" + (" or None" if allow_none else "")
        raise ConfigurationError(f"{name}: got {value!r}; accepted: {accepted}")


def _retry_policy(
    retry: RetryPolicy | None, max_restarts: int | None, restart_backoff_s: float | None
) -> RetryPolicy:
    """The agent's policy: ``retry`` (or the default) with the two older keywords
    overriding its ``max_attempts`` / ``initial_backoff_s``."""
    if retry is None:
        retry = RetryPolicy()
    elif not isinstance(retry, RetryPolicy):
        raise ConfigurationError(
            f"retry: got {type(retry).__name__}; accepted: a fullduplex.retry.RetryPolicy or None"
        )
    if max_restarts is not None:
        if not isinstance(max_restarts, int) or isinstance(max_restarts, bool) or max_restarts < 0:
            raise ConfigurationError(
                f"max_restarts: got {max_restarts!r}; accepted: an integer >= 0 or None"
            )
        retry = attrs.evolve(retry, max_attempts=max_restarts)
    if restart_backoff_s is not None:
        if not _number(restart_backoff_s) or not (
            math.isfinite(restart_backoff_s) and restart_backoff_s >= 0
        ):
            raise ConfigurationError(
                f"restart_backoff_s: got {restart_backoff_s!r}; accepted: a finite number "
                ">= 0 or None"
            )
        retry = attrs.evolve(
            retry,
            initial_backoff_s=float(restart_backoff_s),
            max_backoff_s=max(retry.max_backoff_s, float(restart_backoff_s)),
        )
    return retry


def _check_model(model: object) -> None:
    if isinstance(model, BidiModel):
        return
    raise ConfigurationError(
        f"model: got {type(model).__name__}; accepted: a BidiModel (an object with "
        "capabilities, start, send, receive and stop) or a registered model name such as "
        "'openai/gpt-realtime'"
    )


def _check_collection(name: str, value: object, accepted: str) -> None:
    if value is None:
        return
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{name}: got {value!r}; accepted: {accepted}")


class BidiAgent:
    """A realtime conversation with a bidi model, its tools, and IO channels.

    Args:
        model: a :class:`~fullduplex.model.BidiModel`, or a registered name such
            as ``"openai/gpt-realtime"`` (built with ``model_config``).
        tools: ``@tool`` functions, plain functions, or registered tool names.
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
    """

    def __init__(
        self,
        model: BidiModel | str,
        tools: Iterable[AgentTool | Callable[..., Any] | str] | None = None,
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
    ) -> None:
        # Every option is checked here, before anything is built: a bad value is
        # a ConfigurationError naming it now, not a stalled conversation later.
        policy = _retry_policy(retry, max_restarts, restart_backoff_s)
        if model_config is not None and not isinstance(model_config, Mapping):
            raise ConfigurationError(
                f"model_config: got {type(model_config).__name__}; accepted: a mapping or None"
            )
        _check_collection(
            "tools",
            tools,
            "a list of @tool functions, plain functions or registered tool names, or None",
        )
        _check_collection("plugins", plugins, "a list of hook objects, or None")
        _check_collection("messages", messages, "a list of messages (agent.messages), or None")
        if isinstance(model, str):
            from .registry import get_model

            model = get_model(model, **dict(model_config or {}))
        elif model_config:
            raise ConfigurationError(
                "model_config: only used when model is a registered name; configure the "
                "model object itself"
            )
        _check_model(model)
        _positive("settle_timeout_s", settle_timeout_s)
        _positive("tool_timeout_s", tool_timeout_s, allow_none=True)
        _positive("output_drain_timeout_s", output_drain_timeout_s)
        _positive("audio_grace_s", audio_grace_s)
        if system_prompt is not None and not isinstance(system_prompt, str):
            raise ConfigurationError(
                f"system_prompt: expected text, got {type(system_prompt).__name__}"
            )

        self.model: BidiModel = model
        self.system_prompt = system_prompt
        self.tools: list[AgentTool] = as_tools(tools)
        self.messages: Messages = validate_messages(list(messages)) if messages else []
        self.playback = PlaybackLedger()
        self.retry = policy
        self.settle_timeout_s = float(settle_timeout_s)
        self.tool_timeout_s = tool_timeout_s
        self.output_drain_timeout_s = float(output_drain_timeout_s)
        self.audio_grace_s = float(audio_grace_s)
        self._tools_by_name = {t.name: t for t in self.tools}
        self._specs = tuple(t.spec for t in self.tools)
        self._hooks = LifecycleHooks(list(plugins or ()))
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
        self._tool_tasks: dict[str, _RunningTool] = {}
        self._all_tool_tasks: set[asyncio.Task[None]] = set()
        self._results_sent: set[str] = set()
        self._turn = TurnState()
        self._stop_requested = asyncio.Event()
        self._closed = asyncio.Event()
        self._failure: BaseException | None = None
        self._last_audio_item: str | None = None
        self._assistant_messages: dict[str, Message] = {}
        #: where each spoken user turn belongs in history (its length when the
        #: turn ended), since its transcript often arrives after the answer
        self._user_slots: dict[str, int] = {}
        self._interrupted_items: set[str] = set()

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
        opening = self._opening = asyncio.create_task(
            self.model.start(self.system_prompt, self._specs, messages=list(self.messages)),
            name="fullduplex-agent-start",
        )
        try:
            await opening
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self._stop_task is not None and current is not None and not current.cancelling():
                return  # stop() cancelled the opening; it does the cleaning up
            raise
        finally:
            self._opening = None
        if self._stop_task is not None:
            return  # stop() came as the connection opened; it closes the model
        self._started = True
        self._supervisor = asyncio.create_task(self._supervise(), name="fullduplex-agent")
        await self._hooks.call("on_agent_start", agent=self)

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
            await self._stop_tools()
            try:
                await self.model.stop()
            except Exception:
                logger.exception("model.stop() failed")
            self._input.drop("the conversation was stopped before a connection took it")
            self._end_receivers()
            self._closed.set()
            self._turn.activity.set()
            if was_started:
                await self._hooks.call("on_agent_stop", agent=self)
        finally:
            self._started = False

    async def _stop_tools(self) -> None:
        """Let tools that asked to stop finish; cancel the rest (history keeps them).

        Bounded by ``output_drain_timeout_s`` each way: a tool that swallows
        its cancellation is left behind (logged) rather than holding ``stop()``.
        """
        bound = self.output_drain_timeout_s
        running = list(self._tool_tasks.values())
        finishing = [r.task for r in running if r.context.stop_requested]
        if finishing:
            await asyncio.wait(finishing, timeout=bound)
        for entry in running:
            entry.task.cancel()
        tasks = list(self._all_tool_tasks)
        if tasks:
            _done, late = await asyncio.wait(tasks, timeout=bound)
            if late:
                logger.warning(
                    "%d tool call(s) ignored cancellation; stop() does not wait for them "
                    "beyond output_drain_timeout_s=%g s",
                    len(late),
                    bound,
                )

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
        on_audio = self._on_audio
        clock = self._restarts.clock
        async for event in self.model.receive():
            if type(event) is BidiAudioStreamEvent:  # the hot path: no dispatch chain
                if self._traffic_since is None:
                    self._traffic_since = clock()
                on_audio(event)
                continue
            if self._traffic_since is None and not isinstance(event, BidiConnectionStartEvent):
                self._traffic_since = clock()
            await self._handle(event)

    def _on_audio(self, event: BidiAudioStreamEvent) -> None:
        """Count the chunk for playback bookkeeping and hand it to the outputs."""
        item = event.item_id
        if item is not None:
            self.playback.note_audio(item, _audio_ms(event))
            self._last_audio_item = item
        self._emit(event)

    async def _handle(self, event: BidiOutputEvent) -> None:
        if isinstance(event, BidiResponseStartEvent):
            self._turn.response_started(event.response_id)
            self._emit(event)
        elif isinstance(event, BidiResponseCompleteEvent):
            self._turn.response_completed(event.response_id)
            self._emit(event)
        elif isinstance(event, BidiTranscriptStreamEvent):
            self._emit(event)
            if event.is_final:
                await self._record_transcript(event)
        elif isinstance(event, ToolUseStreamEvent):
            self._emit(event)
            if event.is_final:
                await self._start_tool(event)
        elif isinstance(event, BidiInterruptionEvent):
            await self._interrupted(event)
        elif isinstance(event, BidiSpeechEvent):
            if event.state == "stopped" and event.item_id is not None:
                self._user_slots[event.item_id] = len(self.messages)
                if len(self._user_slots) > _MAX_USER_SLOTS:
                    self._user_slots.pop(next(iter(self._user_slots)))
            self._turn.answer_owed()
            self._emit(event)
        elif isinstance(event, BidiAudioStreamEvent):  # a subclass, past _read's fast path
            self._on_audio(event)
        else:
            self._emit(event)

    async def _record(self, message: Message, at: int | None = None) -> None:
        """Append ``message`` (or insert it at ``at``) and tell the hooks."""
        if at is None or at >= len(self.messages):
            self.messages.append(message)
        else:
            self.messages.insert(at, message)
            for item, slot in self._user_slots.items():
                if slot >= at:
                    self._user_slots[item] = slot + 1
        if self._hooks.implemented("on_message_added"):
            await self._hooks.call("on_message_added", agent=self, message=message)

    async def _record_transcript(self, event: BidiTranscriptStreamEvent) -> None:
        text = event.current_transcript or event.text
        if not text:
            return
        message = text_message(event.role, text)
        if event.role == "assistant" and event.item_id is not None:
            self._assistant_messages[event.item_id] = message
            if event.item_id in self._interrupted_items:
                message["interrupted"] = True
        at = None
        if event.role == "user" and event.item_id is not None:
            at = self._user_slots.pop(event.item_id, None)
        await self._record(message, at)

    # ----------------------------------------------------------- interruption
    async def _interrupted(self, event: BidiInterruptionEvent) -> None:
        playback = self.playback
        item = event.item_id
        if item is None or playback.received_ms(item) <= 0:
            item = self._last_audio_item
        heard = playback.heard_ms(item) if item is not None else 0
        fully_heard = item is None or heard >= int(playback.received_ms(item))
        if self._turn.active_response is None and fully_heard:
            return  # the user spoke after the answer was over: nothing to interrupt
        if item is not None and item != event.item_id:
            # tell the outputs which item was cut, so they drop its late chunks
            event = attrs.evolve(
                event,
                item_id=item,
                audio_received_ms=max(event.audio_received_ms, int(playback.received_ms(item))),
            )
        fanout = self._fanout
        if fanout is not None:
            fanout.interrupt(event)
        else:
            self._queue.put_nowait(event)
        if item is not None:
            self._interrupted_items.add(item)
            message = self._assistant_messages.get(item)
            if message is not None:
                message["interrupted"] = True
        if item is not None and not fully_heard and self.model.capabilities.truncation:
            await self._deliver(BidiAudioTruncateEvent(item, heard, event.response_id))
        for entry in list(self._tool_tasks.values()):
            if entry.tool is not None and entry.tool.cancel_on_interruption:
                entry.task.cancel()
        await self._hooks.call("on_interruption", agent=self, event=event)

    # ------------------------------------------------------------------ tools
    async def _start_tool(self, event: ToolUseStreamEvent) -> None:
        if self._stopping or event.call_id in self._tool_tasks:
            return
        if event.call_id in self._results_sent:
            return
        call = ToolCall.from_model(event.call_id, event.name, event.arguments, event.response_id)
        recorded_input: Any = (
            call.arguments if call.arguments or not call.raw_arguments else (call.raw_arguments)
        )
        await self._record(tool_use_message(call.call_id, call.name, recorded_input))
        context = ToolContext(self, call.call_id, call.name, {}, on_stop=self.request_stop)
        task = asyncio.create_task(self._run_tool(call, context), name=f"tool-{call.name}")
        self._tool_tasks[call.call_id] = _RunningTool(
            task, call, self._tools_by_name.get(call.name), context
        )
        self._all_tool_tasks.add(task)
        task.add_done_callback(self._all_tool_tasks.discard)
        self._turn.activity.set()

    async def _run_tool(self, call: ToolCall, context: ToolContext) -> None:
        try:
            result = await self._execute(call, context)
        except asyncio.CancelledError:
            reason = "stopped with the conversation" if self._stopping else "interrupted"
            result = error_result(call, f"tool call cancelled ({reason})", "cancelled")
        except Exception as exc:
            logger.exception("tool %s failed outside its own handling", call.name)
            result = error_result(call, f"tool {call.name!r} failed: {exc}")
        stop_task = self._stop_task
        if stop_task is not None and stop_task.done():
            # it ignored its cancellation and outlived stop(): nobody takes it now
            logger.warning("tool %s finished after the agent stopped; result dropped", call.name)
            return
        # From here on the call cannot be cancelled (it is no longer listed as
        # running): its result must reach the model and the history.
        if not (self._stopping or self._closed.is_set()):
            self._turn.awaiting_followup = True
        self._tool_tasks.pop(call.call_id, None)
        try:
            await self._finish_tool(call, result)
        except ModelError:
            logger.debug("tool result for %s not delivered: the model failed", call.call_id)
        finally:
            self._turn.activity.set()

    async def _execute(self, call: ToolCall, context: ToolContext) -> ToolResultEvent:
        return await execute_call(
            self, self._hooks, self._tools_by_name, call, context, self.tool_timeout_s
        )

    async def _finish_tool(self, call: ToolCall, result: ToolResultEvent) -> None:
        """Record the result and give it to the model, once per call."""
        if call.call_id in self._results_sent:
            return
        self._results_sent.add(call.call_id)
        message = tool_result_message(call.call_id, result.status, result.content)
        if self._stopping or self._closed.is_set():
            await self._record(message)
        else:
            await self._deliver(result, message)
        self._emit(result)

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
        await self.model.start(self.system_prompt, self._specs, messages=list(self.messages))
        await self._input.flush(self.model.send, self._record)

    # -------------------------------------------------------------------- run
    def _in_flight(self) -> bool:
        """Work of the agent's own that an answer may still come from."""
        return bool(
            self._tool_tasks
            or self._input.restarting
            or self._input.pending
            or getattr(self.model, "answer_pending", False)
        )

    async def _wait_settled(self) -> None:
        """Wait until the answer to the last input is complete (with the audio grace)."""
        await self._turn.wait_settled(
            self._in_flight,
            audio_input=self.model.capabilities.audio_input,
            audio_grace_s=self.audio_grace_s,
        )

    async def _stop_inputs(
        self, pumps: Sequence[asyncio.Task[None]], inputs: Sequence[BidiInput]
    ) -> None:
        """Cancel the pumps and stop each input, each wait bounded by
        ``output_drain_timeout_s``: an input that never returns is left behind
        (logged), it does not hold ``run()``."""
        bound = self.output_drain_timeout_s
        for pump in pumps:
            pump.cancel()
        if pumps:
            _done, late = await asyncio.wait(pumps, timeout=bound)
            if late:
                logger.warning("%d input(s) ignored cancellation; not waiting", len(late))
        for source in inputs:
            try:
                async with asyncio.timeout(bound):
                    await source.stop()
            except TimeoutError:
                logger.warning(
                    "input %r did not stop within output_drain_timeout_s=%g s", source, bound
                )
            except Exception:
                logger.exception("input %r failed to stop", source)

    async def run(
        self, inputs: Sequence[BidiInput] = (), outputs: Sequence[BidiOutput] = ()
    ) -> None:
        """Run a whole conversation between ``inputs`` and ``outputs``.

        Ends when a tool asks to stop (``stop_conversation``), when the model
        closes the conversation, when a fatal model error occurs (raised here),
        or when every input is finished and the answer to the last one is
        complete (waiting at most ``settle_timeout_s``). Everything started
        here is stopped on the way out, also when ``run()`` is cancelled.
        """
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
                await self._stop_inputs(pumps, started_inputs)
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
