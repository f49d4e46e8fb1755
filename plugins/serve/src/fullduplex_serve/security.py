"""Who may reach the agent: Twilio's request signatures, the browser's Origin and token.

The signature follows Twilio's documented algorithm (see
``reference/twilio-media-streams.md`` §5): the full URL, then for a form POST
each field's name and value in sorted order, HMAC-SHA1 keyed by the auth
token, base64. Twilio is not consistent about an explicit default port, so
the URL is checked with and without it, as Twilio's helper libraries do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

_DEFAULT_PORTS = {"https": 443, "wss": 443, "http": 80, "ws": 80}


def twilio_signature(
    auth_token: str, url: str, params: Iterable[tuple[str, str]] | Mapping[str, str] = ()
) -> str:
    """The ``X-Twilio-Signature`` Twilio computes for ``url`` and the POST ``params``."""
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    data = url + "".join(name + value for name, value in sorted(pairs))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _port_variants(url: str) -> list[str]:
    """``url`` as given, plus the same URL with the default port added or removed."""
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    variants = [url]
    if default is None or parts.hostname is None:
        return variants
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port is None:
        other = parts._replace(netloc=f"{host}:{default}")
    elif parts.port == default:
        other = parts._replace(netloc=host)
    else:
        return variants
    variants.append(urlunsplit(other))
    return variants


def valid_twilio_signature(
    auth_token: str,
    url: str,
    params: Iterable[tuple[str, str]] | Mapping[str, str],
    signature: str | None,
) -> bool:
    """Whether ``signature`` is Twilio's for this request (constant-time comparison)."""
    if not signature:
        return False
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    given = signature.encode()
    return any(
        hmac.compare_digest(twilio_signature(auth_token, candidate, pairs).encode(), given)
        for candidate in _port_variants(url)
    )


def origin_allowed(origin: str | None, host: str | None, allowed: Iterable[str]) -> bool:
    """A page may connect from its own origin or from an allow-listed one.

    A client without ``Origin`` is not a browser page (browsers always send it
    on a WebSocket upgrade), so the Origin rule, which protects users' browsers
    from other sites, does not apply to it; the token still does.
    """
    if origin is None:
        return True
    origin = origin.lower().rstrip("/")
    if origin in allowed:
        return True
    parts = urlsplit(origin)
    return host is not None and parts.netloc == host.lower()


def token_matches(expected: str | None, given: str | None) -> bool:
    """True when no token is required, or ``given`` is the token (constant time)."""
    if expected is None:
        return True
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


__all__ = ["origin_allowed", "token_matches", "twilio_signature", "valid_twilio_signature"]
