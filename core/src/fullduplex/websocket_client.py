"""Opening a provider's websocket: the parts every websocket provider shares.

Each provider maps its own HTTP refusals and close codes (its wire, its
words); what is the same for all of them lives here once: the websockets
options (no compression, a frame cap, the keepalive, a bounded closing
handshake), a logger that never prints credential headers, and the mapping
of websockets' connection failures onto fullduplex errors with the cause
chained and anything key-like redacted.

``websockets`` is imported on first connect: core does not depend on it, and
the providers that call this do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

from .errors import ModelConnectionError, ModelError, ModelProtocolError
from .redaction import redact

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

#: how long a closing handshake the server or the keepalive started may take
CLOSE_TIMEOUT_S = 2.0
#: how long ``stop()`` waits for the server's close frame before dropping the socket
STOP_CLOSE_TIMEOUT_S = 0.25


class RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Hands websockets a logger that never prints credential headers.

    websockets logs every handshake header at DEBUG level; with debug logging
    on, the header carrying the key would otherwise reach the logs.
    """

    def __init__(self, logger: logging.Logger, secret_headers: Collection[str]) -> None:
        super().__init__(logger, {})
        self.secret_headers = frozenset(h.lower() for h in secret_headers)

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if len(args) == 2 and isinstance(args[0], str) and args[0].lower() in self.secret_headers:
            args = (args[0], "<redacted>")
        super().log(level, msg, *args, **kwargs)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        return msg, kwargs


async def open_websocket(
    url: str,
    headers: Sequence[tuple[str, str]],
    *,
    open_timeout: float,
    ping_interval: float | None,
    ping_timeout: float | None,
    max_size: int | None,
    logger_name: str,
    secret_headers: Collection[str],
    status_error: Callable[[int, str, Sequence[str]], ModelError],
    secrets: Sequence[str] = (),
) -> ClientConnection:
    """Open the websocket; raise a fullduplex error, the cause chained, on failure.

    ``status_error(status, body, secrets)`` is the provider's word for an HTTP
    refusal of the handshake; ``secrets`` (the key) are redacted from every
    message built from what the server answered.
    """
    from websockets.asyncio.client import connect as ws_connect
    from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

    try:
        return await ws_connect(
            url,
            additional_headers=list(headers),
            compression=None,
            max_size=max_size,
            open_timeout=open_timeout,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            close_timeout=CLOSE_TIMEOUT_S,
            logger=RedactingLogger(logging.getLogger(logger_name), secret_headers),
        )
    except InvalidStatus as exc:
        response = exc.response
        body = response.body.decode("utf-8", "replace") if response.body else ""
        raise status_error(response.status_code, body, secrets) from exc
    except InvalidURI as exc:
        raise ModelProtocolError(f"invalid websocket URL {url!r}: {exc}") from exc
    except InvalidHandshake as exc:
        raise ModelProtocolError(
            redact(f"the websocket handshake with {url} failed: {exc}", *secrets)
        ) from exc
    except TimeoutError as exc:
        raise ModelConnectionError(
            f"could not connect to {url} within {open_timeout:g} s", code="connect_timeout"
        ) from exc
    except OSError as exc:
        raise ModelConnectionError(
            f"could not connect to {url}: {exc.strerror or exc}", code="connect_failed"
        ) from exc


__all__ = [
    "CLOSE_TIMEOUT_S",
    "STOP_CLOSE_TIMEOUT_S",
    "RedactingLogger",
    "open_websocket",
]
