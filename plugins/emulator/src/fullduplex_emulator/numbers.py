"""Numbers as people say them, both ways: ``84`` <-> "eighty four".

A voice answer must say "eighty four", not "8 4", and a recogniser hears
"twelve times seven", not "12 * 7". ``say_number`` spells an exact number
(integers of any size up to the decillions, then digit by digit; fractions as
decimals, "point one two five"); ``digits_for_words`` rewrites every run of
number words in a text as digits, so the arithmetic parser only ever sees digits.
Pure functions, no dependencies: the grammar, the responder and the tests share them.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Final

ONES: Final = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
TENS: Final = (
    "",
    "",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
)
#: 10**(3*i) -> its name; "decillion" (10**33) is the largest said as a word
SCALES: Final = (
    "",
    "thousand",
    "million",
    "billion",
    "trillion",
    "quadrillion",
    "quintillion",
    "sextillion",
    "septillion",
    "octillion",
    "nonillion",
    "decillion",
)
_WORD_VALUES: Final = {word: value for value, word in enumerate(ONES)} | {
    word: 10 * value for value, word in enumerate(TENS) if word
}
_SCALE_VALUES: Final = {word: 1000**i for i, word in enumerate(SCALES) if word} | {"hundred": 100}
_NUMBER_WORD = re.compile(
    r"\b(?:"
    + "|".join(sorted({*_WORD_VALUES, *_SCALE_VALUES, "and"}, key=len, reverse=True))
    + r")\b(?:[\s-]+(?:"
    + "|".join(sorted({*_WORD_VALUES, *_SCALE_VALUES, "and"}, key=len, reverse=True))
    + r")\b)*",
    re.IGNORECASE,
)
_POINT = re.compile(r"\b(\d+)\s+point((?:\s+\d\b)+)", re.IGNORECASE)


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [ONES[hundreds], "hundred"]
    if rest >= 20:
        words.append(TENS[rest // 10])
        if rest % 10:
            words.append(ONES[rest % 10])
    elif rest or not words:
        words.append(ONES[rest])
    return words


def say_integer(n: int) -> str:
    """``1234`` -> "one thousand two hundred thirty four"; past the decillions, digit by digit."""
    if n < 0:
        return "minus " + say_integer(-n)
    if n >= 1000 ** len(SCALES):
        return " ".join(ONES[int(d)] for d in str(n))
    if n == 0:
        return "zero"
    groups: list[str] = []
    scale = 0
    while n:
        n, group = divmod(n, 1000)
        if group:
            words = _below_thousand(group)
            if SCALES[scale]:
                words.append(SCALES[scale])
            groups.insert(0, " ".join(words))
        scale += 1
    return " ".join(groups)


def say_number(value: Fraction | int | float, max_decimals: int = 6) -> str:
    """An exact number in words: integers whole, anything else as "x point d d d"."""
    number = value if isinstance(value, Fraction) else Fraction(value)
    if number.denominator == 1:
        return say_integer(number.numerator)
    text = f"{float(abs(number)):.{max_decimals}f}".rstrip("0").rstrip(".")
    whole, _, decimals = text.partition(".")
    spoken = say_integer(int(whole))
    if decimals:
        spoken += " point " + " ".join(ONES[int(d)] for d in decimals)
    return ("minus " if number < 0 else "") + spoken


def words_to_int(words: str) -> int | None:
    """ "one hundred and five" -> ``105``; ``None`` when the words are not one number."""
    total = 0
    current = 0
    seen = False
    for word in re.split(r"[\s-]+", words.lower().strip()):
        if word == "and" or not word:
            continue
        if word in _WORD_VALUES:
            value = _WORD_VALUES[word]
            # "twenty" then "four" adds; "four" then "five" is two numbers
            if seen and current % 10 and value < 100 and current % 100 != 0 and value >= 10:
                return None
            if seen and current and current % 10 == 0 and current % 100 != 0 and value >= 10:
                return None
            if seen and 0 < current % 100 < 10 and value < 10:
                return None
            current += value
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in _SCALE_VALUES:
            total += (current or 1) * _SCALE_VALUES[word]
            current = 0
        else:
            return None
        seen = True
    return total + current if seen else None


def _split_runs(words: list[str]) -> list[list[str]]:
    """Split a run of number words where a new number starts ("two three" -> two, three)."""
    runs: list[list[str]] = []
    for word in words:
        if runs and words_to_int(" ".join([*runs[-1], word])) is not None:
            runs[-1].append(word)
        else:
            runs.append([word])
    return runs


def digits_for_words(text: str) -> str:
    """Every number said in words, as digits: "twelve times seven" -> "12 times 7"."""

    def replace(match: re.Match[str]) -> str:
        words = [w for w in re.split(r"[\s-]+", match.group(0)) if w]
        # a leading or trailing "and" joins sentences, not numbers
        lead = trail = ""
        while words and words[0].lower() == "and":
            words.pop(0)
            lead += "and "
        while words and words[-1].lower() == "and":
            words.pop()
            trail += " and"
        if not words:
            return match.group(0)
        parts = [words_to_int(" ".join(run)) for run in _split_runs(words)]
        return lead + " ".join(str(p) for p in parts if p is not None) + trail

    replaced = _NUMBER_WORD.sub(replace, text)
    return _POINT.sub(
        lambda m: m.group(1) + "." + "".join(m.group(2).split()),
        replaced,
    )


def speak_numbers(text: str) -> str:
    """Every number written in digits in ``text``, said in words (for the voice)."""
    return re.sub(
        r"-?\d+(?:\.\d+)?",
        lambda m: say_number(Fraction(m.group(0))),
        text,
    )
