"""The websockets side of the connection: open it, and map its failures.

Why a separate module: the protocol rules live in :mod:`.protocol` and never
touch a socket; this module only knows how to open a GA Realtime websocket
(headers, no beta header, no compression, no frame-size cap) and how to turn
websockets' exceptions and close codes into fullduplex errors a person can act
on. ``websockets`` is imported here, on first connect, so ``import
fullduplex_openai`` stays light.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

from fullduplex.errors import (
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelProtocolError,
)

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

logger = logging.getLogger("fullduplex_openai.transport")

_SECRET_HEADERS = frozenset({"authorization", "api-key", "sec-websocket-protocol"})


class _RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Hands websockets a logger that never prints credential headers.

    websockets logs every handshake header at DEBUG level; with debug logging
    on, the ``Authorization`` line would carry the API key into the logs.
    """

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if len(args) == 2 and isinstance(args[0], str) and args[0].lower() in _SECRET_HEADERS:
            args = (args[0], "<redacted>")
        super().log(level, msg, *args, **kwargs)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        return msg, kwargs


def close_error(code: int | None, reason: str, *, during: str = "receive") -> ModelError:
    """The fullduplex error for a websocket that closed with ``code``."""
    detail = f"close code {code}" + (f": {reason}" if reason else "")
    if code == 4000:
        return ModelAuthenticationError(
            f"the server refused the connection shape ({detail}); this client speaks the "
            "GA protocol, so check that no proxy adds the 'OpenAI-Beta' header",
            code="beta_api_shape_disabled",
        )
    if code in (1008, 4001, 4003):
        return ModelAuthenticationError(
            f"the server refused the credentials ({detail}); check client_config['api_key'] "
            "or the OPENAI_API_KEY environment variable",
            code="unauthorized",
        )
    if code == 1001:
        return ModelConnectionError(
            f"the server ended the session ({detail})", code="going_away", reason="session_expired"
        )
    if code == 1011:
        return ModelConnectionError(
            f"the server failed ({detail})", code="server_error", reason="server_error"
        )
    return ModelConnectionError(f"the connection was lost during {during} ({detail})")


def _status_error(status: int, body: str) -> ModelError:
    hint = f" ({body.strip()[:200]})" if body.strip() else ""
    if status in (401, 403):
        return ModelAuthenticationError(
            f"the server refused the handshake with HTTP {status}{hint}: the API key is wrong, "
            "expired, or has no access to the Realtime API; check client_config['api_key'] or "
            "the OPENAI_API_KEY environment variable",
            code="unauthorized" if status == 401 else "forbidden",
        )
    if status in (400, 404):
        return ModelProtocolError(
            f"the server refused the handshake with HTTP {status}{hint}: check model_id and "
            "client_config base_url / websocket_base_url / azure_endpoint",
            code="bad_request" if status == 400 else "not_found",
        )
    return ModelConnectionError(
        f"the server refused the handshake with HTTP {status}{hint}", code=f"http_{status}"
    )


async def connect(
    url: str,
    headers: Sequence[tuple[str, str]],
    *,
    open_timeout: float,
) -> ClientConnection:
    """Open the websocket; raise a fullduplex error with a cause chained on failure."""
    from websockets.asyncio.client import connect as ws_connect
    from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

    try:
        return await ws_connect(
            url,
            additional_headers=list(headers),
            compression=None,
            max_size=None,
            open_timeout=open_timeout,
            ping_interval=20,
            ping_timeout=20,
            close_timeout=5,
            logger=_RedactingLogger(logging.getLogger("fullduplex_openai.websockets")),
        )
    except InvalidStatus as exc:
        response = exc.response
        body = response.body.decode("utf-8", "replace") if response.body else ""
        raise _status_error(response.status_code, body) from exc
    except InvalidURI as exc:
        raise ModelProtocolError(f"invalid websocket URL {url!r}: {exc}") from exc
    except InvalidHandshake as exc:
        raise ModelProtocolError(f"the websocket handshake with {url} failed: {exc}") from exc
    except TimeoutError as exc:
        raise ModelConnectionError(
            f"could not connect to {url} within {open_timeout:g} s", code="connect_timeout"
        ) from exc
    except OSError as exc:
        raise ModelConnectionError(
            f"could not connect to {url}: {exc.strerror or exc}", code="connect_failed"
        ) from exc
