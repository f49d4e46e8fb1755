"""Serving an emulator from a daemon thread, for synchronous callers.

``fullduplex chat`` is synchronous around its own ``asyncio.run``, and a
provider's ``local_server`` hook is a plain context manager; both need the
emulator to run on a loop of its own. ``EmulatorThread`` starts that loop,
returns once the port is bound (or raises the bind error), and on exit stops
the server on its loop and joins the thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from .server import EmulatorServer

S = TypeVar("S", bound="EmulatorServer")


class EmulatorThread(Generic[S]):
    """An emulator served from a daemon thread (``with server.start_in_thread() as running:``).

    Attributes of the emulator (``base_url``, ``api_key``, ``received``...) are reachable
    through ``.emulator``.
    """

    def __init__(self, emulator: S) -> None:
        self.emulator = emulator
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        """The emulator's ``base_url``."""
        return self.emulator.base_url

    def start(self, timeout_s: float = 10.0) -> EmulatorThread[S]:
        """Start serving; returns once the port is bound (raises if binding failed)."""
        self._thread = threading.Thread(target=self._run, name="fullduplex-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError("the emulator thread did not start in time")
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self.emulator.start())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self.emulator.stop())
            loop.close()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop serving and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout_s)

    def __enter__(self) -> EmulatorThread[S]:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
