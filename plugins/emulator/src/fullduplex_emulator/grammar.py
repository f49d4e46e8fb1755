"""JSGF grammars of what the scripted responder understands, and of what it says.

pocketsphinx's general language model hears eSpeak's "what is twelve times
seven" as nonsense; restricted to the sentences the responder can answer, it
hears them. ``QUESTIONS`` is that set: arithmetic in words (numbers below a
million, the four operations, powers, square roots), the time, greetings and
goodbye. ``ANSWERS`` is what the responder says back ("the answer is eighty
four"), for a test or benchmark that checks the spoken answer independently.
Every word here must be in pocketsphinx's US English dictionary.
"""

from __future__ import annotations

from typing import Final

from .numbers import ONES, TENS

_NUMBERS: Final = f"""
<digit> = {" | ".join(ONES[1:10])};
<teen> = {" | ".join(ONES[10:20])};
<tens> = {" | ".join(word for word in TENS if word)};
<below100> = <digit> | <teen> | <tens> [<digit>] | zero;
<below1000> = <below100> | [a | <digit>] hundred [[and] <below100>];
<number> = <below1000> | <below1000> thousand [[and] <below1000>];
"""

QUESTIONS: Final = (
    "#JSGF V1.0;\ngrammar questions;\n"
    "public <question> = [<ask>] <expression> | <time> | <goodbye> | <hello>;\n"
    "<ask> = what is | what's | how much is | compute | calculate | tell me;\n"
    "<expression> = <operand> [<operator> <operand> [<operator> <operand>]]"
    " | <number> to the power of <number>;\n"
    "<operand> = <number> | the square root of <number>;\n"
    "<operator> = plus | minus | times | multiplied by | divided by | over;\n"
    "<time> = what time is it | what is the time | tell me the time;\n"
    "<goodbye> = goodbye | bye | bye bye | good bye;\n"
    "<hello> = hello | hi | hey;\n" + _NUMBERS
)

ANSWERS: Final = (
    "#JSGF V1.0;\ngrammar answers;\n"
    "public <answer> = [the] answer is [minus] <number> | it is <number> <number> "
    "| goodbye | sorry the calculator failed;\n" + _NUMBERS
)
