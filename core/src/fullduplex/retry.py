"""How the agent reconnects after a dropped model connection: :class:`RetryPolicy`.

A server that confirms every session and then drops it must not be
reconnected forever at the smallest backoff, replaying the whole history each
time; a real outage of several seconds must be survived. The policy says:

- the backoff before attempt ``n`` (1-based) is
  ``min(initial_backoff_s * 2 ** (n - 1), max_backoff_s)``, spread by
  ``+/- jitter`` (a fraction) so many clients do not come back in step;
- attempts count as consecutive until a connection is *healthy*: it carried
  real traffic (any event but the synthetic connection start) and then stayed
  up for ``healthy_after_s``. Only that resets the count;
- the agent gives up after ``max_attempts`` consecutive failed attempts, or
  when more than ``max_attempts`` failures fall within ``window_s`` even though
  some connections in between were briefly healthy.

The defaults wait about 22 s in total before giving up, so a 10 s outage of
the server is survived.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from .errors import ConfigurationError


def _whole(minimum: int) -> Any:
    def check(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ConfigurationError(
                f"{attribute.name}: got {value!r}; accepted: an integer >= {minimum}"
            )

    return check


def _seconds(*, positive: bool, upper: float | None = None) -> Any:
    def check(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        ok = (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and (value > 0 if positive else value >= 0)
            and (upper is None or value <= upper)
        )
        if not ok:
            if upper is not None:
                accepted = f"a finite number from 0 to {upper:g}"
            elif positive:
                accepted = "a finite number > 0"
            else:
                accepted = "a finite number >= 0"
            raise ConfigurationError(f"{attribute.name}: got {value!r}; accepted: {accepted}")

    return check


@attrs.frozen(slots=True)
class RetryPolicy:
    """When and how often the agent reconnects (see the module docstring)."""

    #: consecutive failed reconnects (and failures within ``window_s``) before giving up
    max_attempts: int = attrs.field(default=8, validator=_whole(0))
    #: the wait before the first reconnect; doubles per attempt
    initial_backoff_s: float = attrs.field(default=0.25, validator=_seconds(positive=False))
    #: the longest wait between two attempts
    max_backoff_s: float = attrs.field(default=5.0, validator=_seconds(positive=False))
    #: random spread of each wait, as a fraction of it (0 = none)
    jitter: float = attrs.field(default=0.2, validator=_seconds(positive=False, upper=1.0))
    #: how long a connection must carry real traffic to count as healthy
    healthy_after_s: float = attrs.field(default=5.0, validator=_seconds(positive=False))
    #: the window in which more than ``max_attempts`` failures end the conversation
    window_s: float = attrs.field(default=60.0, validator=_seconds(positive=True))

    def backoff_s(self, attempt: int, rand: float = 0.5) -> float:
        """The wait before attempt ``attempt`` (1-based); ``rand`` in [0, 1) picks the
        jitter (0.5 = none), so tests can pass a fixed value."""
        base = min(self.initial_backoff_s * 2.0 ** max(attempt - 1, 0), self.max_backoff_s)
        return max(0.0, base * (1.0 + self.jitter * (2.0 * rand - 1.0)))

    def total_backoff_s(self, rand: float = 0.0) -> float:
        """The sum of every wait before giving up (``rand`` as in :meth:`backoff_s`;
        0.0 gives the shortest total the jitter allows)."""
        return sum(self.backoff_s(n, rand) for n in range(1, self.max_attempts + 1))


__all__ = ["RetryPolicy"]
