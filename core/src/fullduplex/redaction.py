"""Keep credentials out of text that came from a server.

Why: error messages are built from what a server sent back (an HTTP 401 body,
an ``error`` event, a close reason), and a misbehaving proxy or server may echo
the ``Authorization`` header. Those messages end up in ``str(exc)``, logs and
terminals, so every such message passes through :func:`redact` first.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["REDACTED", "redact"]

#: What a secret is replaced with.
REDACTED: Final[str] = "<redacted>"

#: OpenAI-style API keys (``sk-...``, ``sk-proj-...``) and ephemeral keys
#: (``ek_...``), standing alone (not in the middle of another word).
_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])(?:sk-|ek_)[A-Za-z0-9_-]{4,}")

#: Shorter "secrets" are ignored: replacing every occurrence of two or three
#: characters would garble the message, and no real key is that short.
_MIN_SECRET_LEN: Final[int] = 4


def redact(text: str, *secrets: str) -> str:
    """``text`` with each of ``secrets`` and every ``sk-``/``ek_`` token replaced.

    Secrets are replaced longest first, so a secret that contains another is
    removed whole. Empty or very short secrets (under 4 characters) are skipped.
    """
    for secret in sorted({s for s in secrets if s and len(s) >= _MIN_SECRET_LEN}, key=len)[::-1]:
        text = text.replace(secret, REDACTED)
    return _TOKEN.sub(REDACTED, text)
