"""Ending ``BidiAgent.run()`` cleanly on a signal (``run(stop_signals=...)``).

Without it, Ctrl-C in a script that runs a conversation surfaces as a
``KeyboardInterrupt`` traceback from ``asyncio.run``. With it, the signal
asks the agent to stop, exactly as ``stop_conversation`` does: the inputs and
outputs are stopped, the model closed, and ``run()`` returns normally.
Handlers are installed on the running loop for the duration of ``run()`` only,
and only where the loop can take them (the main thread, a Unix loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterable, Iterator

from .errors import ConfigurationError

logger = logging.getLogger("fullduplex.agent")


def check_signals(signals: Iterable[int]) -> tuple[signal.Signals, ...]:
    """The signals as :class:`signal.Signals`, or a ConfigurationError naming the bad one."""
    if isinstance(signals, str | bytes) or not isinstance(signals, Iterable):
        raise ConfigurationError(
            f"stop_signals: expected a list of signals such as (signal.SIGINT, signal.SIGTERM), "
            f"got {type(signals).__name__}"
        )
    out = []
    for sig in signals:
        try:
            out.append(signal.Signals(sig))
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"stop_signals: {sig!r} is not a signal; accepted: signal.SIGINT, "
                "signal.SIGTERM, ..."
            ) from exc
    return tuple(out)


@contextlib.contextmanager
def stop_on_signals(
    request_stop: Callable[[], None], signals: Iterable[signal.Signals]
) -> Iterator[None]:
    """Call ``request_stop`` on each of ``signals`` while the ``with`` block runs."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in signals:
        try:
            loop.add_signal_handler(sig, request_stop)
        except (NotImplementedError, RuntimeError, ValueError) as exc:
            # not the main thread, or a loop without signal support (Windows)
            logger.warning("cannot stop on %s here (%s); it keeps its usual effect", sig.name, exc)
            continue
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
