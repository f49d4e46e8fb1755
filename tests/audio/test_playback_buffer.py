"""The speaker's playback buffer, driven the way a device callback drives it."""

from __future__ import annotations

from fullduplex.io import PlaybackLedger
from fullduplex_audio.playback import PlaybackBuffer

RATE = 1000  # 1 frame per millisecond keeps the arithmetic readable
FRAME = 2  # mono pcm16


def block(ms: int) -> memoryview:
    return memoryview(bytearray(ms * FRAME))


def test_blocks_drain_in_order_and_pad_with_silence() -> None:
    buffer = PlaybackBuffer(RATE, 1)
    buffer.push("a", b"\x01\x00" * 15)
    buffer.push("b", b"\x02\x00" * 5)
    out = block(10)
    assert buffer.fill(out, dac_time=0.0, now=0.0) == 20
    assert bytes(out) == b"\x01\x00" * 10
    out = block(15)
    assert buffer.fill(out, dac_time=0.01, now=0.01) == 20
    assert bytes(out) == b"\x01\x00" * 5 + b"\x02\x00" * 5 + b"\x00\x00" * 5
    assert buffer.buffered_ms == 0


def test_heard_is_reported_only_once_the_audio_reaches_the_dac() -> None:
    ledger = PlaybackLedger()
    ledger.attach_player()
    ledger.note_audio("a", 100)
    buffer = PlaybackBuffer(RATE, 1, ledger)
    buffer.push("a", bytes(100 * FRAME))
    # the first 20 ms block will be heard 50 ms from now: nothing heard yet
    buffer.fill(block(20), dac_time=1.050, now=1.000)
    assert ledger.heard_ms("a") == 0
    # 30 ms later the second block is handed over; the first is 20 ms... not yet heard
    buffer.fill(block(20), dac_time=1.070, now=1.020)
    assert ledger.heard_ms("a") == 0
    # at 1.060 the first block has been playing for 10 ms
    buffer.fill(block(20), dac_time=1.090, now=1.060)
    assert ledger.heard_ms("a") == 10
    buffer.report_heard(now=1.200)
    assert ledger.heard_ms("a") == 60  # three blocks were handed over, 60 ms in all


def test_clear_drops_queued_and_part_played_audio() -> None:
    ledger = PlaybackLedger()
    ledger.attach_player()
    ledger.note_audio("a", 100)
    buffer = PlaybackBuffer(RATE, 1, ledger)
    buffer.push("a", b"\x05\x00" * 100)
    buffer.fill(block(30), dac_time=0.0, now=0.0)
    assert buffer.clear() == 70 * FRAME
    out = block(10)
    assert buffer.fill(out, dac_time=0.03, now=0.03) == 0
    assert bytes(out) == bytes(10 * FRAME)
    buffer.report_heard(now=1.0)
    assert ledger.heard_ms("a") == 30


def test_forget_unplayed_after_the_device_drops_its_queue() -> None:
    ledger = PlaybackLedger()
    ledger.attach_player()
    ledger.note_audio("a", 100)
    buffer = PlaybackBuffer(RATE, 1, ledger)
    buffer.push("a", bytes(100 * FRAME))
    buffer.fill(block(40), dac_time=0.0, now=0.0)
    assert buffer.has_unplayed
    buffer.forget_unplayed(now=0.015)
    assert not buffer.has_unplayed
    buffer.report_heard(now=5.0)
    assert ledger.heard_ms("a") == 15


def test_stereo_items_are_counted_in_milliseconds_not_bytes() -> None:
    ledger = PlaybackLedger()
    ledger.attach_player()
    ledger.note_audio("s", 1000)
    buffer = PlaybackBuffer(48000, 2, ledger)
    buffer.push("s", bytes(48 * 4 * 250))  # 250 ms of 48 kHz stereo
    for index in range(25):
        buffer.fill(memoryview(bytearray(48 * 4 * 10)), dac_time=index * 0.01, now=index * 0.01)
    buffer.report_heard(now=10.0)
    assert ledger.heard_ms("s") == 250


def test_a_partial_frame_is_never_queued() -> None:
    buffer = PlaybackBuffer(RATE, 2)
    buffer.push("a", b"\x01\x02\x03")
    assert buffer.buffered_ms == 0


def test_runs_of_one_item_split_by_another_add_up_in_the_ledger() -> None:
    # the buffer reports runs, the ledger keeps the one count per item
    ledger = PlaybackLedger()
    ledger.attach_player()
    ledger.note_audio("a", 100)
    ledger.note_audio("b", 100)
    buffer = PlaybackBuffer(RATE, 1, ledger)
    buffer.push("a", bytes(20 * FRAME))
    buffer.push("b", bytes(10 * FRAME))
    buffer.push("a", bytes(30 * FRAME))
    buffer.fill(block(60), dac_time=0.0, now=0.0)
    buffer.report_heard(now=0.025)  # 20 ms of a, then 5 of b
    assert (ledger.heard_ms("a"), ledger.heard_ms("b")) == (20, 5)
    buffer.report_heard(now=1.0)
    assert (ledger.heard_ms("a"), ledger.heard_ms("b")) == (50, 10)


def test_audio_of_an_item_the_ledger_never_received_is_not_counted() -> None:
    ledger = PlaybackLedger()
    ledger.attach_player()
    buffer = PlaybackBuffer(RATE, 1, ledger)
    buffer.push("ghost", bytes(10 * FRAME))
    buffer.fill(block(10), dac_time=0.0, now=0.0)
    buffer.report_heard(now=1.0)
    assert ledger.heard_ms("ghost") == 0
    assert ledger.received_ms("ghost") == 0
