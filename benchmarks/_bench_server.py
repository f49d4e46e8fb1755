"""A minimal Realtime GA websocket server for the benchmarks, on raw asyncio.

Why not the emulator: the benchmarks measure the *client*. The server must be
cheap enough that it is never what limits a run (400 paced sessions, or a
burst of tens of thousands of audio deltas), and it must stamp frames with
``time.monotonic_ns()`` at the moment they are written. So it speaks only what
the provider's handshake and the measured scenarios need, builds frames by
hand, and writes pre-built audio frames straight to the socket.

Scenarios are driven by the client: a typed user message whose text is a JSON
command (``{"op": "burst", "frames": 20000}``), then ``response.create``,
starts it. Commands:

- ``burst``: ``frames`` audio deltas written as fast as the socket takes them.
- ``paced``: ``frames`` audio deltas, one every 20 ms (a real-time stream);
  each chunk's first 16 bytes carry its scheduled and its sent time (ns).
- ``interrupt``: ``frames`` deltas at once, ``gap_ms`` later a stamped
  ``input_audio_buffer.speech_started``; the ``conversation.item.truncate`` it
  provokes is time-stamped on arrival, then the response ends as cancelled.
- ``tool``: a function call (``bench_tool``) whose ``arguments.done`` is
  stamped when written; the ``function_call_output`` is stamped on arrival.
- ``talk``: ``frames`` paced deltas with a transcript, repeated ``turns`` times
  (a continuous conversation for the memory soak).

Control (from the parent process): the server prints ``{"port": N}`` on its
first line; each ``stats`` line on stdin prints (and resets) what it recorded;
EOF on stdin stops it.

    python benchmarks/_bench_server.py [--cpu 1]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import os
import struct
import sys
import threading
import time
from typing import Any

import orjson

CHUNK_BYTES = 960  # 20 ms of PCM16 mono at 24 kHz
PERIOD_NS = 20_000_000
SLOTS = 20  # paced streams are spread over 20 phases of 1 ms
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_APPEND_PREFIX = b'{"type":"input_audio_buffer.append"'
_STAMP_BYTES = 18  # a multiple of 3, so its base64 never straddles the rest
_REST_B64 = base64.b64encode(bytes(range(256)) * 4)[: (CHUNK_BYTES - _STAMP_BYTES) * 4 // 3]


def frame_header(length: int, opcode: int = 0x1) -> bytes:
    """An unmasked, final websocket frame header (server to client)."""
    first = 0x80 | opcode
    if length < 126:
        return bytes((first, length))
    if length < 65536:
        return struct.pack("!BBH", first, 126, length)
    return struct.pack("!BBQ", first, 127, length)


def text_frame(payload: bytes) -> bytes:
    return frame_header(len(payload)) + payload


def delta_payload(response_id: str, item_id: str, audio_b64: bytes) -> bytes:
    return (
        b'{"type":"response.output_audio.delta","event_id":"event_bench","response_id":"'
        + response_id.encode()
        + b'","item_id":"'
        + item_id.encode()
        + b'","output_index":0,"content_index":0,"delta":"'
        + audio_b64
        + b'"}'
    )


def stamped_audio_b64(scheduled_ns: int) -> bytes:
    stamp = struct.pack("<QQH", scheduled_ns, time.monotonic_ns(), 0)
    return base64.b64encode(stamp) + _REST_B64


def unmask(data: bytes, mask: bytes) -> bytes:
    n = len(data)
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


class Stats:
    """What the server recorded since the last ``stats`` request."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.appends = 0
        self.speech_started_sent_ns: list[int] = []
        self.truncate_received_ns: list[int | None] = []
        self.args_done_sent_ns: dict[str, int] = {}
        self.output_received_ns: dict[str, int] = {}
        self.paced_frames = 0
        self.paced_late_ns: list[int] = []
        self.connections = 0

    def snapshot(self) -> dict[str, Any]:
        late = sorted(self.paced_late_ns)

        def pct(q: float) -> float | None:
            return late[min(len(late) - 1, int(q * len(late)))] / 1e6 if late else None

        return {
            "appends": self.appends,
            "connections": self.connections,
            "speech_started_sent_ns": self.speech_started_sent_ns,
            "truncate_received_ns": self.truncate_received_ns,
            "tool_calls": [
                [self.args_done_sent_ns[c], self.output_received_ns.get(c)]
                for c in self.args_done_sent_ns
            ],
            "paced_frames": self.paced_frames,
            "server_send_late_ms_p50": pct(0.5),
            "server_send_late_ms_p99": pct(0.99),
        }


STATS = Stats()


class Pacer:
    """One task writes every paced stream's next chunk, each on its own 1 ms phase."""

    def __init__(self) -> None:
        self.slots: list[set[BenchConnection]] = [set() for _ in range(SLOTS)]
        self.next_slot = 0
        self.task: asyncio.Task[None] | None = None

    def add(self, conn: BenchConnection) -> None:
        self.slots[self.next_slot].add(conn)
        self.next_slot = (self.next_slot + 1) % SLOTS
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self.run())

    def remove(self, conn: BenchConnection) -> None:
        for slot in self.slots:
            slot.discard(conn)

    async def run(self) -> None:
        start = time.monotonic_ns() + 1_000_000
        tick = 0
        while True:
            target = start + tick * 1_000_000
            delay = (target - time.monotonic_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            for conn in list(self.slots[tick % SLOTS]):
                conn.paced_tick(target)
            tick += 1


PACER = Pacer()


class BenchConnection(asyncio.Protocol):
    """One client: handshake, frame parsing, and the scenario it asked for."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.open = False
        self.command: dict[str, Any] = {}
        self.counter = 0
        self.paced_left = 0
        self.paced_total = 0
        self.paced_ids = ("", "")
        self.talk_turns = 0
        self.truncated: asyncio.Future[int] | None = None
        self.can_write = asyncio.Event()
        self.can_write.set()
        self.tasks: set[asyncio.Task[None]] = set()

    # transport ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        PACER.remove(self)
        self.can_write.set()
        for task in self.tasks:
            task.cancel()

    def pause_writing(self) -> None:
        self.can_write.clear()

    def resume_writing(self) -> None:
        self.can_write.set()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def send_event(self, event: dict[str, Any]) -> None:
        self.write(text_frame(orjson.dumps(event)))

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.open:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self.handshake(bytes(self.buffer[:end]))
            del self.buffer[: end + 4]
        self.parse_frames()

    def handshake(self, request: bytes) -> None:
        key = b""
        for line in request.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-key":
                key = value.strip()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        self.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self.open = True
        STATS.connections += 1
        self.send_event(
            {
                "type": "session.created",
                "event_id": "event_created",
                "session": {"id": f"sess_{id(self)}", "type": "realtime"},
            }
        )

    def parse_frames(self) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            opcode = buf[0] & 0x0F
            length = buf[1] & 0x7F
            offset = 2
            if length == 126:
                if len(buf) < 4:
                    return
                length = int.from_bytes(buf[2:4], "big")
                offset = 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length = int.from_bytes(buf[2:10], "big")
                offset = 10
            if len(buf) < offset + 4 + length:
                return
            mask = bytes(buf[offset : offset + 4])
            payload = unmask(bytes(buf[offset + 4 : offset + 4 + length]), mask)
            del buf[: offset + 4 + length]
            if opcode == 0x8:
                self.write(frame_header(len(payload), 0x8) + payload)
                if self.transport is not None:
                    self.transport.close()
                return
            if opcode == 0x9:
                self.write(frame_header(len(payload), 0xA) + payload)
            elif opcode in (0x1, 0x2):
                self.on_message(payload)

    # protocol -----------------------------------------------------------------
    def on_message(self, payload: bytes) -> None:
        if payload.startswith(_APPEND_PREFIX):
            STATS.appends += 1
            return
        event = orjson.loads(payload)
        kind = event.get("type")
        if kind == "session.update":
            self.send_event(
                {
                    "type": "session.updated",
                    "event_id": "event_updated",
                    "session": {"id": f"sess_{id(self)}", "type": "realtime"},
                }
            )
        elif kind == "conversation.item.create":
            item = event.get("item") or {}
            if item.get("type") == "function_call_output":
                STATS.output_received_ns[item.get("call_id", "")] = time.monotonic_ns()
            elif item.get("type") == "message":
                text = item["content"][0].get("text", "")
                self.command = orjson.loads(text) if text.startswith("{") else {}
        elif kind == "conversation.item.truncate":
            if self.truncated is not None and not self.truncated.done():
                self.truncated.set_result(time.monotonic_ns())
        elif kind == "response.create":
            command, self.command = self.command, {}
            self.start_response(command)

    def ids(self) -> tuple[str, str]:
        self.counter += 1
        return f"resp_{self.counter}", f"item_{self.counter}"

    def response_created(self, response_id: str) -> None:
        self.send_event(
            {
                "type": "response.created",
                "event_id": "event_rc",
                "response": {"id": response_id, "status": "in_progress", "output": []},
            }
        )

    def response_done(
        self, response_id: str, status: str = "completed", output: list[Any] | None = None
    ) -> None:
        response: dict[str, Any] = {"id": response_id, "status": status, "output": output or []}
        if status == "cancelled":
            response["status_details"] = {"type": "cancelled", "reason": "turn_detected"}
        self.send_event({"type": "response.done", "event_id": "event_rd", "response": response})

    def audio_done(self, response_id: str, item_id: str) -> None:
        self.send_event(
            {
                "type": "response.output_audio.done",
                "event_id": "event_ad",
                "response_id": response_id,
                "item_id": item_id,
                "output_index": 0,
                "content_index": 0,
            }
        )

    def start_response(self, command: dict[str, Any]) -> None:
        op = command.get("op")
        response_id, item_id = self.ids()
        self.response_created(response_id)
        if op == "burst":
            self.spawn(self.burst(response_id, item_id, int(command["frames"])))
        elif op in ("paced", "talk"):
            self.talk_turns = int(command.get("turns", 1))
            self.start_paced(response_id, item_id, int(command["frames"]))
        elif op == "interrupt":
            self.spawn(
                self.interrupt(
                    response_id, item_id, int(command["frames"]), float(command["gap_ms"])
                )
            )
        elif op == "tool":
            self.tool_call(response_id, item_id)
        else:
            self.response_done(response_id)

    async def burst(self, response_id: str, item_id: str, frames: int) -> None:
        one = text_frame(delta_payload(response_id, item_id, base64.b64encode(bytes(CHUNK_BYTES))))
        batch = one * 256
        left = frames
        while left > 0:
            await self.can_write.wait()
            if self.transport is None or self.transport.is_closing():
                return
            count = min(256, left)
            self.write(batch if count == 256 else one * count)
            left -= count
        await self.can_write.wait()
        self.audio_done(response_id, item_id)
        self.response_done(response_id)

    def start_paced(self, response_id: str, item_id: str, frames: int) -> None:
        self.paced_ids = (response_id, item_id)
        self.paced_left = frames
        self.paced_total = frames
        PACER.add(self)

    def paced_tick(self, scheduled_ns: int) -> None:
        response_id, item_id = self.paced_ids
        if self.paced_left <= 0:
            return
        now = time.monotonic_ns()
        STATS.paced_frames += 1
        if len(STATS.paced_late_ns) < 2_000_000:
            STATS.paced_late_ns.append(now - scheduled_ns)
        self.write(text_frame(delta_payload(response_id, item_id, stamped_audio_b64(scheduled_ns))))
        self.paced_left -= 1
        if self.paced_left > 0:
            return
        PACER.remove(self)
        self.audio_done(response_id, item_id)
        self.send_event(
            {
                "type": "response.output_audio_transcript.done",
                "event_id": "event_td",
                "response_id": response_id,
                "item_id": item_id,
                "output_index": 0,
                "content_index": 0,
                "transcript": f"Turn {self.counter} of a long conversation, said in full.",
            }
        )
        self.response_done(response_id)
        self.talk_turns -= 1
        if self.talk_turns > 0:
            next_response, next_item = self.ids()
            self.response_created(next_response)
            self.start_paced(next_response, next_item, self.paced_total)

    async def interrupt(self, response_id: str, item_id: str, frames: int, gap_ms: float) -> None:
        self.truncated = asyncio.get_running_loop().create_future()
        audio = base64.b64encode(bytes(CHUNK_BYTES))
        self.write(text_frame(delta_payload(response_id, item_id, audio)) * frames)
        await asyncio.sleep(gap_ms / 1000)
        event = {
            "type": "input_audio_buffer.speech_started",
            "event_id": "event_ss",
            "audio_start_ms": 1000,
            "item_id": f"user_{self.counter}",
        }
        frame = text_frame(orjson.dumps(event))
        STATS.speech_started_sent_ns.append(time.monotonic_ns())
        self.write(frame)
        try:
            received: int | None = await asyncio.wait_for(self.truncated, 2.0)
        except TimeoutError:
            received = None
        STATS.truncate_received_ns.append(received)
        self.response_done(response_id, "cancelled")

    def tool_call(self, response_id: str, item_id: str) -> None:
        call_id = f"call_{self.counter}"
        item = {
            "id": item_id,
            "type": "function_call",
            "status": "completed",
            "name": "bench_tool",
            "call_id": call_id,
            "arguments": '{"n": 1}',
        }
        self.send_event(
            {
                "type": "response.output_item.added",
                "event_id": "event_oi",
                "response_id": response_id,
                "output_index": 0,
                "item": {**item, "status": "in_progress", "arguments": ""},
            }
        )
        frame = text_frame(
            orjson.dumps(
                {
                    "type": "response.function_call_arguments.done",
                    "event_id": "event_fd",
                    "response_id": response_id,
                    "item_id": item_id,
                    "output_index": 0,
                    "call_id": call_id,
                    "name": "bench_tool",
                    "arguments": '{"n": 1}',
                }
            )
        )
        STATS.args_done_sent_ns[call_id] = time.monotonic_ns()
        self.write(frame)
        self.response_done(response_id, output=[item])


async def serve(cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
        with contextlib.suppress(PermissionError):
            os.nice(-10)  # the machine is shared: keep other jobs off the server's core
    loop = asyncio.get_running_loop()
    server = await loop.create_server(BenchConnection, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(orjson.dumps({"port": port}).decode(), flush=True)
    done: asyncio.Future[None] = loop.create_future()

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    def read_stdin() -> None:
        for line in sys.stdin:
            if line.strip() == "stats":
                loop.call_soon_threadsafe(report)
        loop.call_soon_threadsafe(finish)

    def report() -> None:
        print(orjson.dumps(STATS.snapshot()).decode(), flush=True)
        STATS.reset()

    threading.Thread(target=read_stdin, daemon=True).start()
    async with server:
        await done


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpu", type=int, default=None, help="pin the server to this CPU")
    options = parser.parse_args()
    asyncio.run(serve(options.cpu))
