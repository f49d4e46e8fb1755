"""A private PulseAudio server with two null sinks, for the real-sound tests.

``speaker`` is the default sink: what the SDK plays lands there and the test
records its monitor. ``mic`` is a sink the test plays into; its monitor is the
default source, so the SDK's "microphone" hears it. PortAudio reaches the
server through the ALSA pulse plugin (``libasound2-plugins``): the ``default``
and ``pulse`` ALSA devices route to whatever ``PULSE_SERVER`` names.

A null sink left alone renders in blocks of up to two seconds; a recording
stream with a 10 ms latency on each monitor, kept open for the whole session,
holds both sinks at a low latency so the tests see audio promptly.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

PACAT_FORMAT = ["--raw", "--format=s16le"]


class PulseUnavailable(Exception):
    """The sound server cannot run here; the message says why."""


class Recorder:
    """Records a PulseAudio source through ``pacat --record`` into memory."""

    def __init__(
        self, server: PulseServer, source: str, rate: int = 48000, channels: int = 1
    ) -> None:
        self.rate = rate
        self.channels = channels
        self._data = bytearray()
        self._ready = threading.Event()
        self._proc = subprocess.Popen(
            [
                "pacat",
                "--record",
                "-d",
                source,
                f"--rate={rate}",
                f"--channels={channels}",
                "--latency-msec=10",
                *PACAT_FORMAT,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=server.env,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        while True:
            chunk = self._proc.stdout.read1(65536)
            if not chunk:
                return
            self._data.extend(chunk)
            self._ready.set()

    def wait_ready(self, timeout: float = 10.0) -> None:
        if not self._ready.wait(timeout):
            raise PulseUnavailable(f"pacat --record delivered nothing within {timeout} s")

    @property
    def recorded_ms(self) -> float:
        return len(self._data) / 2 / self.channels * 1000.0 / self.rate

    def stop(self) -> np.ndarray:
        """End the recording; the samples as int16 at ``rate`` (channels interleaved)."""
        self._proc.terminate()
        self._proc.wait(timeout=10)
        self._thread.join(timeout=10)
        data = bytes(self._data)
        return np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2")


class PulseServer:
    """One running PulseAudio daemon in a temporary directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        home = root / "home"
        runtime = root / "run"
        home.mkdir(parents=True, exist_ok=True)
        runtime.mkdir(parents=True, exist_ok=True)
        runtime.chmod(0o700)
        self.socket = runtime / "pulse" / "native"
        self.env = {
            **os.environ,
            "HOME": str(home),
            "XDG_RUNTIME_DIR": str(runtime),
            "PULSE_SERVER": f"unix:{self.socket}",
        }
        self.env.pop("PULSE_SINK", None)
        self.env.pop("PULSE_SOURCE", None)
        self._keepalive: list[Recorder] = []
        self._pid: int | None = None

    def start(self) -> None:
        for tool in ("pulseaudio", "pactl", "pacat"):
            if shutil.which(tool) is None:
                raise PulseUnavailable(
                    f"{tool} is not installed (apt-get install pulseaudio pulseaudio-utils)"
                )
        config = self.root / "default.pa"
        config.write_text(
            "load-module module-native-protocol-unix auth-anonymous=1\n"
            "load-module module-null-sink sink_name=speaker rate=48000 channels=2\n"
            "load-module module-null-sink sink_name=mic rate=48000 channels=2\n"
            "set-default-sink speaker\n"
            "set-default-source mic.monitor\n"
        )
        log = self.root / "pulseaudio.log"
        done = subprocess.run(
            [
                "pulseaudio",
                "--daemonize=yes",
                "--exit-idle-time=-1",
                "--system=false",
                "-n",
                "-F",
                str(config),
                f"--log-target=file:{log}",
                "--disallow-exit=no",
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if done.returncode != 0:
            details = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PulseUnavailable(
                f"pulseaudio did not start (exit {done.returncode}): {done.stderr.strip()} "
                f"{details}"
            )
        pid_file = self.socket.parent / "pid"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            ok = subprocess.run(["pactl", "info"], env=self.env, capture_output=True, timeout=10)
            if ok.returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise PulseUnavailable("pulseaudio started but pactl cannot reach it")
        with contextlib.suppress(OSError, ValueError):
            self._pid = int(pid_file.read_text().strip())
        self._keepalive = [Recorder(self, "speaker.monitor"), Recorder(self, "mic.monitor")]
        for recorder in self._keepalive:
            recorder.wait_ready()

    def record(
        self, source: str = "speaker.monitor", rate: int = 48000, channels: int = 1
    ) -> Recorder:
        recorder = Recorder(self, source, rate, channels)
        recorder.wait_ready()
        return recorder

    def play(
        self, sink: str, pcm: bytes, rate: int, channels: int = 1, latency_ms: int = 100
    ) -> subprocess.Popen[bytes]:
        """Start playing ``pcm`` into ``sink`` with ``pacat`` (returns the process at once).

        A thread feeds the pipe: it holds 64 KiB, and pacat drains it only as fast
        as it plays, so writing longer audio here would block the caller (in an
        async test, the event loop) for as long as it plays.
        """
        proc = subprocess.Popen(
            [
                "pacat",
                "--playback",
                "-d",
                sink,
                f"--rate={rate}",
                f"--channels={channels}",
                f"--latency-msec={latency_ms}",
                *PACAT_FORMAT,
            ],
            stdin=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=self.env,
        )
        stdin = proc.stdin
        assert stdin is not None

        def feed() -> None:
            with contextlib.suppress(BrokenPipeError), stdin:
                stdin.write(pcm)

        threading.Thread(target=feed, name="pacat-feed", daemon=True).start()
        return proc

    def load_module(self, name: str, *args: str) -> int:
        """``pactl load-module``; the module's index (for :meth:`unload_module`)."""
        done = subprocess.run(
            ["pactl", "load-module", name, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if done.returncode != 0:
            raise PulseUnavailable(f"pactl load-module {name} failed: {done.stderr.strip()}")
        return int(done.stdout.strip())

    def unload_module(self, index: int) -> None:
        subprocess.run(
            ["pactl", "unload-module", str(index)], env=self.env, capture_output=True, timeout=10
        )

    @contextlib.contextmanager
    def echo_path(self, latency_ms: int = 40, volume_percent: int = 70) -> Iterator[None]:
        """Make the virtual microphone hear the virtual speaker, like a laptop without headphones.

        A ``module-loopback`` plays the ``speaker`` sink's monitor into the ``mic``
        sink (whose monitor is the default source) ``latency_ms`` later, at
        ``volume_percent`` (PulseAudio's cubic volume scale) of the original.
        """
        index = self.load_module(
            "module-loopback",
            "source=speaker.monitor",
            "sink=mic",
            f"latency_msec={latency_ms}",
            "adjust_time=0",
            "source_dont_move=true",
            "sink_dont_move=true",
        )
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                listing = subprocess.run(
                    ["pactl", "list", "sink-inputs"],
                    env=self.env,
                    capture_output=True,
                    text=True,
                    timeout=10,
                ).stdout
                ours = [
                    block.split()[0]
                    for block in listing.split("Sink Input #")[1:]
                    if f"Owner Module: {index}\n" in block
                ]
                if ours:
                    subprocess.run(
                        ["pactl", "set-sink-input-volume", ours[0], f"{volume_percent}%"],
                        env=self.env,
                        capture_output=True,
                        timeout=10,
                    )
                    break
                time.sleep(0.05)
            else:
                raise PulseUnavailable("module-loopback created no sink input")
            yield
        finally:
            self.unload_module(index)

    def stop(self) -> None:
        for recorder in self._keepalive:
            with contextlib.suppress(Exception):
                recorder.stop()
        self._keepalive = []
        if self._pid is None and not self.socket.exists():
            return  # never started
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(["pactl", "exit"], env=self.env, capture_output=True, timeout=10)
        if self._pid is not None:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _alive(self._pid):
                time.sleep(0.05)
            if _alive(self._pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self._pid, 15)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (our daemon's parent has gone) counts as gone
    with contextlib.suppress(OSError):
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    return True
