"""The fixed set of 30 short questions the recognition accuracy is measured on.

Shared by ``test_accuracy.py`` and ``benchmarks/speech.py``; every one is a
sentence of the scripted responder's grammar (``fullduplex_emulator.grammar``).
"""

from __future__ import annotations

QUESTIONS: tuple[str, ...] = (
    "what is twelve times seven",
    "what is twenty one times four",
    "what is nine times nine",
    "what is three plus four",
    "what is two to the power of ten",
    "what is forty two plus seventeen",
    "what is one hundred divided by four",
    "what is ninety nine minus three",
    "how much is seven times eight",
    "what is the square root of sixteen",
    "what time is it",
    "goodbye",
    "hello",
    "what is five plus five",
    "what is sixty four divided by eight",
    "what is eleven times eleven",
    "what is fifty minus twenty",
    "what is thirty three plus sixty six",
    "what is eight times six",
    "what is two hundred plus three hundred",
    "what is one thousand minus one",
    "what is fifteen divided by three",
    "what is six times seven",
    "what is eighty one divided by nine",
    "what is seventy plus twelve",
    "what is four times four",
    "calculate nine plus one",
    "what is the time",
    "what is two plus two",
    "what is forty minus eight",
)
