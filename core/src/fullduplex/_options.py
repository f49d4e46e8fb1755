"""Checks of ``BidiAgent``'s options, done once at construction.

Kept out of the agent loop: every option is validated before anything is
built, so a bad value is a :class:`~fullduplex.errors.ConfigurationError`
naming it now, not a stalled conversation later.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import attrs

from .errors import ConfigurationError
from .model import BidiModel
from .retry import RetryPolicy


def number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def positive(name: str, value: float | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not number(value) or not math.isfinite(value) or not value > 0:  # type: ignore[arg-type,operator]
        accepted = "a finite positive number of seconds" + (" or None" if allow_none else "")
        raise ConfigurationError(f"{name}: got {value!r}; accepted: {accepted}")


def retry_policy(
    retry: RetryPolicy | None, max_restarts: int | None, restart_backoff_s: float | None
) -> RetryPolicy:
    """The agent's policy: ``retry`` (or the default) with the two older keywords
    overriding its ``max_attempts`` / ``initial_backoff_s``."""
    if retry is None:
        retry = RetryPolicy()
    elif not isinstance(retry, RetryPolicy):
        raise ConfigurationError(
            f"retry: got {type(retry).__name__}; accepted: a fullduplex.retry.RetryPolicy or None"
        )
    if max_restarts is not None:
        if not isinstance(max_restarts, int) or isinstance(max_restarts, bool) or max_restarts < 0:
            raise ConfigurationError(
                f"max_restarts: got {max_restarts!r}; accepted: an integer >= 0 or None"
            )
        retry = attrs.evolve(retry, max_attempts=max_restarts)
    if restart_backoff_s is not None:
        if not number(restart_backoff_s) or not (
            math.isfinite(restart_backoff_s) and restart_backoff_s >= 0
        ):
            raise ConfigurationError(
                f"restart_backoff_s: got {restart_backoff_s!r}; accepted: a finite number "
                ">= 0 or None"
            )
        retry = attrs.evolve(
            retry,
            initial_backoff_s=float(restart_backoff_s),
            max_backoff_s=max(retry.max_backoff_s, float(restart_backoff_s)),
        )
    return retry


def check_model(model: object) -> None:
    if isinstance(model, BidiModel):
        return
    raise ConfigurationError(
        f"model: got {type(model).__name__}; accepted: a BidiModel (an object with "
        "capabilities, start, send, receive and stop) or a registered model name such as "
        "'openai/gpt-realtime'"
    )


def check_collection(name: str, value: object, accepted: str) -> None:
    if value is None:
        return
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{name}: got {value!r}; accepted: {accepted}")
