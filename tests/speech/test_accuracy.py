"""Recognition accuracy on the emulator's own synthesized speech (30 fixed questions)."""

from __future__ import annotations

from questions import QUESTIONS
from wer import word_error_rate, word_errors

from fullduplex_emulator.speech import SpeechStack

#: measured 0.069 (11 word errors in 160) with pocketsphinx 5.1.1 and espeakng-loader 0.2.4;
#: both are deterministic, the margin covers other builds of either
MAX_WER = 0.15


def test_word_error_rate_over_thirty_questions_stays_within_the_measured_bound(
    speech: SpeechStack,
) -> None:
    pairs = []
    for question in QUESTIONS:
        heard = speech.hear(speech.speak(question, 16_000), 16_000)
        pairs.append((question, heard.text if heard is not None else ""))
    rate = word_error_rate(pairs)
    assert len(QUESTIONS) == 30
    assert rate <= MAX_WER, [pair for pair in pairs if pair[0] != pair[1]]


def test_word_errors_counts_substitutions_insertions_and_deletions() -> None:
    assert word_errors("what is nine times nine", "what is nine times nine") == 0
    assert word_errors("what is six times seven", "what is six times two") == 1
    assert word_errors("goodbye", "") == 1
    assert word_errors("hello", "oh hello there") == 2
