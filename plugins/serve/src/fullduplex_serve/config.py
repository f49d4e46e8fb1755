"""What a served app is allowed to do, checked once when the app is built.

Every field is validated here, so a typo fails at start-up with a
:class:`~fullduplex.errors.ConfigurationError` naming the field and what it
accepts, never in the middle of a call.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import attrs

from fullduplex.errors import ConfigurationError

#: what a caller's key press tells the model when no ``dtmf_text`` is given
DEFAULT_DTMF_TEXT = "The caller pressed the telephone key {digit}."


def default_dtmf_text(digit: str) -> str | None:
    """The text input a DTMF digit becomes (``None`` would ignore the key)."""
    return DEFAULT_DTMF_TEXT.format(digit=digit)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address to listen on) reaches this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigurationError(f"{name}: expected a positive number, got {value!r}")


def _origin(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigurationError(
            f"allowed_origins: {value!r} is not an origin; accepted: scheme and host such as "
            "'https://app.example.com' or 'http://localhost:3000'"
        )
    return f"{parts.scheme}://{parts.netloc}".lower()


def _origins(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ConfigurationError("allowed_origins: expected a list of origins, got one string")
    return tuple(_origin(value) for value in values)


@attrs.frozen(slots=True)
class ServeConfig:
    """The app's security and pacing settings.

    Attributes:
        token: the access token ``WS /browser`` requires (``?token=``); ``None``
            leaves the browser endpoint open, which is only safe on loopback.
        allowed_origins: origins (besides the page's own) whose pages may open
            ``WS /browser``.
        twilio_auth_token: the Twilio account's auth token; when set, ``POST
            /twilio/voice`` and ``WS /twilio`` require a valid
            ``X-Twilio-Signature``.
        allow_unsigned_twilio: serve the Twilio endpoints without a signature
            when no auth token is set (the command allows it on loopback only).
        public_url: the base URL Twilio uses (``https://agent.example.com``);
            the TwiML stream URL and the signed URLs are built from it. Without
            it they are rebuilt from the request's Host header.
        max_frame_bytes: the largest WebSocket message accepted; a larger one
            ends that connection (close code 1009).
        resume_grace_s: how long a browser conversation waits for its page to
            reconnect with the resume token after the socket drops.
        frame_ms: the size of a telephony media frame (20 ms as Twilio sends).
        lead_ms: the jitter buffer: a run of media frames starts once this much
            audio is queued (or the answer is complete).
        mark_every_ms: a ``mark`` follows every this many ms of sent audio.
        dtmf_text: what a key press becomes (a text input), or ``None`` to ignore it.
        session_idle_s: how long the session store keeps a call nobody touches.
    """

    token: str | None = None
    allowed_origins: tuple[str, ...] = attrs.field(default=(), converter=_origins)
    twilio_auth_token: str | None = None
    allow_unsigned_twilio: bool = True
    public_url: str | None = None
    max_frame_bytes: int = 256 * 1024
    resume_grace_s: float = 30.0
    frame_ms: int = 20
    lead_ms: int = 40
    mark_every_ms: int = 100
    dtmf_text: Callable[[str], str | None] = default_dtmf_text
    session_idle_s: float = 600.0

    def __attrs_post_init__(self) -> None:
        for name in ("token", "twilio_auth_token"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigurationError(f"{name}: expected a non-empty string or None")
        object.__setattr__(self, "allowed_origins", tuple(_origin(o) for o in self.allowed_origins))
        if self.public_url is not None:
            parts = urlsplit(self.public_url)
            if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
                raise ConfigurationError(
                    f"public_url: {self.public_url!r}; accepted: an absolute URL such as "
                    "'https://agent.example.com'"
                )
        if isinstance(self.max_frame_bytes, bool) or not isinstance(self.max_frame_bytes, int):
            raise ConfigurationError("max_frame_bytes: expected an integer number of bytes")
        if self.max_frame_bytes < 4096:
            raise ConfigurationError(
                f"max_frame_bytes: got {self.max_frame_bytes}; accepted: 4096 or more"
            )
        _positive("resume_grace_s", self.resume_grace_s)
        _positive("session_idle_s", self.session_idle_s)
        if self.frame_ms not in (10, 20, 40, 60):
            raise ConfigurationError(f"frame_ms: got {self.frame_ms!r}; accepted: 10, 20, 40, 60")
        if isinstance(self.lead_ms, bool) or not isinstance(self.lead_ms, int) or self.lead_ms < 0:
            raise ConfigurationError(f"lead_ms: expected an integer >= 0, got {self.lead_ms!r}")
        if self.mark_every_ms < self.frame_ms:
            raise ConfigurationError(
                f"mark_every_ms: got {self.mark_every_ms!r}; accepted: at least frame_ms "
                f"({self.frame_ms})"
            )
        if not callable(self.dtmf_text):
            raise ConfigurationError("dtmf_text: expected a function of the digit")


__all__ = ["DEFAULT_DTMF_TEXT", "ServeConfig", "default_dtmf_text", "is_loopback"]
