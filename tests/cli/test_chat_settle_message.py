"""``fullduplex chat`` ended by ``stop_conversation`` reports only what happened.

Piped input ends (EOF) before the model's goodbye: ``run()`` starts waiting for
the conversation to settle, and the stop request ends that wait at once. No
"did not settle" warning belongs on stderr then (issue 10, item 14).
"""

from __future__ import annotations

from cli_kit import NOTICE, run, stderr_lines


def test_goodbye_after_eof_prints_no_settle_warning() -> None:
    result = run(["chat"], stdin="ok, goodbye!\n")

    assert result.returncode == 0, result.stderr
    assert "[tool] stop_conversation" in result.stdout
    assert "did not settle" not in result.stderr
    # the emulator notice is all there is on stderr
    assert [line for line in stderr_lines(result) if NOTICE not in line] == []
