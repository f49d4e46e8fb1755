"""The response lifecycle of one Realtime conversation: who answers what, and when.

Why a state machine of its own: the server runs one response at a time in the
default conversation, and a ``response.create`` sent while one streams is
refused. So requests are owed and sent when the conversation is free:

- **Text that arrives mid-answer is queued, one turn per line.** A user line
  sent while a response streams, or is requested and not yet started, or while
  the previous turn's tool batch is still unanswered, is held here (the model
  does not see it yet). When that answer completes, the next held line goes
  out with its own ``response.create``; lines are answered one by one, in the
  order they were sent. Other items sent behind a held line (assistant text)
  keep their place. A new connection forgets held lines: the agent recorded
  them in the history, whose replay carries them.
- **One ``response.create`` per tool batch**, also across reconnects: an answer
  owed by a replayed history waits while calls of the batch are unanswered.
- **A requested answer never blocks later turns.** A refusal of our
  ``response.create`` or its deadline (``create_timeout_s``, checked by
  :meth:`ResponseFlow.expire_create` on the model's timer) forgets the request.

It only decides when to send; :mod:`.client` spells what is sent, and every
message goes through the ``send`` callback (the protocol's outbox).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal

from . import client

logger = logging.getLogger("fullduplex_openai.protocol")

#: Default bound on the wait for ``response.created`` after our ``response.create``.
DEFAULT_CREATE_TIMEOUT_S: Final[float] = 15.0

Kind = Literal["user", "tools"]


class ResponseFlow:
    """One connection's responses: active, requested, owed, and held lines."""

    def __init__(
        self,
        send: Callable[[dict[str, Any]], None],
        clock: Callable[[], float] = time.monotonic,
        create_timeout_s: float = DEFAULT_CREATE_TIMEOUT_S,
    ) -> None:
        self._send = send
        self._clock = clock
        #: how long a ``response.create`` may wait for ``response.created``
        self.create_timeout_s = create_timeout_s
        self.reset()

    def reset(self) -> None:
        """Forget everything tied to one connection."""
        self.active: str | None = None
        #: the kind of our response.create awaiting response.created, if any
        self.inflight: Kind | None = None
        #: clock time by which ``response.created`` must answer the create in flight
        self.deadline: float | None = None
        #: user lines (and items queued behind them) held until the answer before ends;
        #: (item, wants a response)
        self.held: deque[tuple[dict[str, Any], bool]] = deque()
        self.owed_user = False
        self.owed_tools = False
        self._last_kind: Kind = "user"
        #: tool calls of the current batch still without a result
        self.pending_calls: set[str] = set()
        self._had_call: set[str] = set()
        #: responses cancelled at the agent's request because the user spoke
        self._cut: set[str] = set()

    # ------------------------------------------------------------ questions
    @property
    def response_active(self) -> bool:
        """A response is streaming, or one was requested and has not started yet."""
        return self.active is not None or self.inflight is not None

    @property
    def answer_pending(self) -> bool:
        """An answer is owed but has not started: requested, or queued behind another."""
        return (
            self.inflight is not None
            or self.owed_user
            or self.owed_tools
            or any(wants for _, wants in self.held)
        )

    def busy(self) -> bool:
        """Anything the conversation still waits on (besides an open user turn)."""
        return bool(
            self.active is not None
            or self.inflight is not None
            or self.pending_calls
            or self.owed_tools
            or self.owed_user
            or self.held
        )

    # ------------------------------------------------------------- requests
    def add_item(self, item: dict[str, Any], wants_answer: bool) -> None:
        """Send ``item`` (a line that wants an answer gets one of its own), or hold it."""
        if self.held or (wants_answer and self._turn_busy()):
            self.held.append((item, wants_answer))
            return
        self._send(item)
        if wants_answer:
            self.owed_user = True
            self.maybe_create()

    def _turn_busy(self) -> bool:
        return (
            self.active is not None
            or self.inflight is not None
            or self.owed_user
            or self.owed_tools
        )

    def tool_result(self, item: dict[str, Any], call_id: str) -> None:
        """A tool's output; one ``response.create`` once every call is answered."""
        self._send(item)
        self.pending_calls.discard(call_id)
        self.owed_tools = True
        self.maybe_create()

    def expect_results(self, call_ids: Sequence[str]) -> None:
        """Tool calls made on an earlier connection whose results are still to come."""
        self.pending_calls.update(call_ids)

    def request_response(self) -> None:
        """Ask for a response when allowed (the batch's own while calls are unanswered)."""
        if self.pending_calls:
            self.owed_tools = True
        else:
            self.owed_user = True
        self.maybe_create()

    def cancel(self, response_id: str | None, for_speech: bool) -> bool:
        """Ask the server to stop ``response_id`` (the active one when ``None``).

        Returns whether a ``response.cancel`` went out (nothing is streaming or
        requested: nothing to cancel). One cancelled because the user spoke
        ends with stop reason ``"interrupted"``.
        """
        if not self.response_active:
            return False
        target = response_id or self.active
        if for_speech and target is not None:
            self._cut.add(target)
        self._send(client.cancel(response_id))
        return True

    def maybe_create(self) -> None:
        """Send the owed ``response.create`` if the conversation is free for it."""
        if self.active is not None or self.inflight is not None:
            return
        kind: Kind
        if self.owed_tools and not self.pending_calls:
            kind = "tools"
        elif self.owed_user:
            kind = "user"
        elif self.held and not (self.pending_calls or self.owed_tools):
            kind = "user"
            while self.held:  # the next held line, with what was queued before it
                item, wants = self.held.popleft()
                self._send(item)
                if wants:
                    break
            else:
                return  # only items that want no answer were held
        else:
            return
        self.owed_user = False
        self.owed_tools = False
        self.inflight = kind
        self._last_kind = kind
        self.deadline = self._clock() + self.create_timeout_s
        self._send(client.response_create())

    # ---------------------------------------------------------- server facts
    def created(self, response_id: str) -> None:
        """``response.created``: it is the active response; no create is awaited."""
        self.active = response_id
        self.inflight = None
        self.deadline = None

    def call_finished(self, call_id: str, response_id: str | None) -> None:
        """A function call of ``response_id`` is complete: its result is awaited."""
        self.pending_calls.add(call_id)
        if response_id:
            self._had_call.add(response_id)

    def done(self, response_id: str) -> tuple[bool, bool]:
        """``response.done``: frees the conversation; (had a tool call, we cut it)."""
        # One response at a time writes to the default conversation, so its
        # end frees the conversation whatever id we thought was active.
        self.active = None
        had_call = response_id in self._had_call
        self._had_call.discard(response_id)
        cut = response_id in self._cut
        self._cut.discard(response_id)
        return had_call, cut

    def raced(self) -> None:
        """Our create raced a response the server started by itself: ask again after it."""
        self.inflight = None
        self.deadline = None
        if self._last_kind == "tools":
            self.owed_tools = True
        else:
            self.owed_user = True
        if self.active is None:
            self.active = "?"  # a response we have not seen start
        logger.debug("response.create raced an active response; retrying after it")

    def refused(self) -> bool:
        """An error while our create waits is its refusal; True when one was waiting."""
        if self.inflight is None:
            return False
        self.inflight = None
        self.deadline = None
        self.maybe_create()
        return True

    def expire_create(self) -> bool:
        """Forget a create left unanswered past its deadline; True when one was."""
        deadline = self.deadline
        if deadline is None or self.inflight is None or self._clock() < deadline:
            return False
        self.inflight = None
        self.deadline = None
        logger.warning(
            "no response.created within %g s; not waiting any longer", self.create_timeout_s
        )
        self.maybe_create()
        return True

    def seconds_until(self, deadline: float) -> float:
        """Seconds from now (on this flow's clock) until ``deadline``."""
        return deadline - self._clock()
