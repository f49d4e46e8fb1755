"""redact(): secrets never reach an error message built from server text."""

from __future__ import annotations

from fullduplex.redaction import redact


def test_the_given_secret_is_replaced_everywhere() -> None:
    text = "bad header 'Authorization: Bearer my-custom-secret-77' (my-custom-secret-77)"
    out = redact(text, "my-custom-secret-77")
    assert "my-custom-secret-77" not in out
    assert out.count("<redacted>") == 2


def test_openai_looking_tokens_are_replaced_without_being_given() -> None:
    text = "keys sk-proj-AbC123_xyz-987 and ek_68a1b2c3d4e5f6 were refused"
    out = redact(text)
    assert "sk-proj" not in out
    assert "ek_68a1" not in out
    assert out == "keys <redacted> and <redacted> were refused"


def test_ordinary_text_is_left_alone() -> None:
    text = "Invalid value: 'x'. Supported values are: 'audio' and 'text' (task-queue)."
    assert redact(text, "", "ab") == text  # empty / too short secrets are ignored


def test_overlapping_secrets_longest_first() -> None:
    out = redact("token abcd-efgh-ijkl", "abcd", "abcd-efgh-ijkl")
    assert out == "token <redacted>"
