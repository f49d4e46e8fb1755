"""The app's Prometheus metrics, in a registry of its own (two apps never share counters)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

#: Prometheus text exposition format served by ``GET /metrics``
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ServeMetrics:
    """Calls, interruptions, reconnects and time to first audio, per channel."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.active_calls = Gauge(
            "fullduplex_active_calls",
            "Conversations in progress.",
            ["channel"],
            registry=self.registry,
        )
        self.calls = Counter(
            "fullduplex_calls",
            "Conversations started.",
            ["channel"],
            registry=self.registry,
        )
        self.interruptions = Counter(
            "fullduplex_interruptions",
            "Answers cut short because the user spoke over them.",
            ["channel"],
            registry=self.registry,
        )
        self.reconnects = Counter(
            "fullduplex_reconnects",
            "Browser pages that came back to their conversation with the resume token.",
            registry=self.registry,
        )
        self.rejected = Counter(
            "fullduplex_rejected_requests",
            "Requests refused (bad signature, origin or token; malformed or oversize frames).",
            ["reason"],
            registry=self.registry,
        )
        self.time_to_first_audio = Histogram(
            "fullduplex_time_to_first_audio_seconds",
            "From the end of the user's speech to the first audio sent back.",
            ["channel"],
            buckets=(0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0),
            registry=self.registry,
        )
        self.takeovers = Counter(
            "fullduplex_takeovers",
            "Browser calls taken over from the session store (their process died or drained).",
            registry=self.registry,
        )
        self.draining = Gauge(
            "fullduplex_draining",
            "1 while this process drains (no new calls; running ones finish or move).",
            registry=self.registry,
        )
        # the load an autoscaler acts on: process_cpu_seconds_total, resident memory
        ProcessCollector(registry=self.registry)
        for channel in ("browser", "twilio"):
            self.active_calls.labels(channel)
            self.calls.labels(channel)
            self.interruptions.labels(channel)
            self.time_to_first_audio.labels(channel)

    def render(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)


__all__ = ["CONTENT_TYPE", "ServeMetrics"]
