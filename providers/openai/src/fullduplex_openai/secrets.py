"""Ephemeral client secrets: ``POST /v1/realtime/client_secrets``.

Why: a browser or a phone should never hold the real API key. A server mints a
short-lived secret (``ek_...``) with its key and hands only that out; the
secret works as ``client_config["api_key"]`` for new connections until it
expires. Uses the standard library's HTTP client in a worker thread, so the
provider needs no extra HTTP dependency and the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

import attrs

from fullduplex.errors import ConfigurationError, ModelAuthenticationError, ModelError
from fullduplex.redaction import redact


@attrs.frozen(slots=True)
class ClientSecret:
    """An ephemeral key: ``value`` (never shown in the repr), its expiry, its session."""

    value: str = attrs.field(repr=False)
    expires_at: int
    session: dict[str, Any] = attrs.field(factory=dict)


def _endpoint(base_url: str | None, azure_endpoint: str | None) -> str:
    if azure_endpoint:
        return azure_endpoint.rstrip("/") + "/openai/v1/realtime/client_secrets"
    base = (base_url or "https://api.openai.com/v1").rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ConfigurationError(
            "base_url: expected an http(s):// URL such as 'https://api.openai.com/v1', "
            f"got {base!r}"
        )
    return base + "/realtime/client_secrets"


def _post(url: str, headers: dict[str, str], body: bytes, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read() or b"")


async def create_client_secret(
    *,
    api_key: str | None = None,
    session: Mapping[str, Any] | None = None,
    model_id: str | None = "gpt-realtime",
    expires_after_s: int = 600,
    base_url: str | None = None,
    azure_endpoint: str | None = None,
    organization: str | None = None,
    project: str | None = None,
    timeout_s: float = 30.0,
) -> ClientSecret:
    """Mint an ephemeral key for the Realtime API.

    ``session`` (a GA realtime session config) is attached to the secret and
    applied to the sessions it opens; ``model_id`` fills ``session.model`` when
    absent. ``expires_after_s`` is 10-7200 seconds.
    """
    key = api_key or os.environ.get("OPENAI_API_KEY", "")
    if not key:
        raise ConfigurationError(
            "api_key: no API key; pass api_key=... or set the OPENAI_API_KEY environment variable"
        )
    if not isinstance(expires_after_s, int) or not 10 <= expires_after_s <= 7200:
        raise ConfigurationError(
            f"expires_after_s: expected an integer from 10 to 7200 seconds, got {expires_after_s!r}"
        )
    body_session: dict[str, Any] = {"type": "realtime", **dict(session or {})}
    if model_id and "model" not in body_session:
        body_session["model"] = model_id
    body = json.dumps(
        {
            "expires_after": {"anchor": "created_at", "seconds": expires_after_s},
            "session": body_session,
        }
    ).encode()
    headers = {"Content-Type": "application/json"}
    if azure_endpoint:
        headers["api-key"] = key
    else:
        headers["Authorization"] = f"Bearer {key}"
    if organization:
        headers["OpenAI-Organization"] = organization
    if project:
        headers["OpenAI-Project"] = project
    url = _endpoint(base_url, azure_endpoint)
    try:
        status, raw = await asyncio.to_thread(_post, url, headers, body, timeout_s)
    except (OSError, urllib.error.URLError) as exc:
        raise ModelError(f"could not reach {url} to create a client secret: {exc}") from exc
    text = raw.decode("utf-8", "replace")
    if status in (401, 403):
        raise ModelAuthenticationError(
            f"creating a client secret was refused with HTTP {status}: check the API key "
            "(api_key=... or OPENAI_API_KEY)",
            code=f"http_{status}",
        )
    if status != 200:
        raise ModelError(
            f"creating a client secret failed with HTTP {status}: {redact(text[:300], key)}",
            code=f"http_{status}",
        )
    try:
        data = json.loads(text)
        value = data["value"]
        expires_at = int(data["expires_at"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"unexpected client secret response from {url}") from exc
    if not isinstance(value, str) or not value:
        raise ModelError(f"unexpected client secret response from {url}: no value")
    returned = data.get("session")
    return ClientSecret(value, expires_at, returned if isinstance(returned, dict) else {})
