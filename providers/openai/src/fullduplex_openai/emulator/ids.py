"""Identifiers shaped like the service's.

The real service uses ``<prefix>_`` plus 21 base62 characters for sessions,
conversations, responses, items and events, ``call_`` ids for function calls and
``ek_`` plus hex for client secrets. Clients sometimes check the prefixes, so the
emulator keeps them. Event ids are on the hot path (one per audio delta), so they
come from a counter appended to a random per-generator stem instead of fresh
randomness each time.
"""

from __future__ import annotations

import secrets
import string

_BASE62 = string.digits + string.ascii_letters
_ID_CHARS = 21
_COUNTER_CHARS = 8


def random_base62(length: int) -> str:
    """Return ``length`` random base62 characters."""
    return "".join(secrets.choice(_BASE62) for _ in range(length))


def new_id(prefix: str) -> str:
    """Return a fresh id such as ``item_`` + 21 base62 characters."""
    return f"{prefix}_{random_base62(_ID_CHARS)}"


def new_call_id() -> str:
    """Return a function-call id (``call_`` + 16 base62 characters)."""
    return f"call_{random_base62(16)}"


def new_client_secret() -> str:
    """Return an ephemeral client secret value, ``ek_`` + 32 hex digits."""
    return f"ek_{secrets.token_hex(16)}"


class EventIds:
    """Cheap unique ``event_…`` ids: a random 13-character stem + an 8-digit counter."""

    __slots__ = ("_count", "_stem")

    def __init__(self) -> None:
        self._stem = "event_" + random_base62(_ID_CHARS - _COUNTER_CHARS)
        self._count = 0

    def next(self) -> str:
        """Return the next id; 21 characters after ``event_`` like the service's."""
        self._count += 1
        return f"{self._stem}{self._count:08d}"
