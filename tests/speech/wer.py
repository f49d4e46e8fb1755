"""Word error rate: word-level edit distance over the reference's length."""

from __future__ import annotations

from collections.abc import Iterable


def word_errors(reference: str, hypothesis: str) -> int:
    """Substitutions + insertions + deletions turning ``hypothesis`` into ``reference``."""
    ref, hyp = reference.split(), hypothesis.split()
    row = list(range(len(hyp) + 1))
    for i in range(1, len(ref) + 1):
        previous, row[0] = row[0], i
        for j in range(1, len(hyp) + 1):
            current = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (ref[i - 1] != hyp[j - 1]))
            previous = current
    return row[len(hyp)]


def word_error_rate(pairs: Iterable[tuple[str, str]]) -> float:
    """Total word errors over total reference words, for (reference, hypothesis) pairs."""
    errors = words = 0
    for reference, hypothesis in pairs:
        errors += word_errors(reference, hypothesis)
        words += len(reference.split())
    return errors / words if words else 0.0
