"""``BidiAudioIO``: the microphone and speaker pair of the seed example."""

from __future__ import annotations

from .devices import DeviceSpec
from .microphone import MicrophoneInput
from .settings import Latency, build_settings
from .speaker import SpeakerOutput


class BidiAudioIO:
    """Microphone input and speaker output on sound devices (PortAudio raw streams).

    ``input_device`` / ``output_device`` pick a device by index or name (``None``:
    the system default; ``fullduplex devices`` lists them). The model's sample
    rate and channel count are used when the device accepts them, otherwise the
    device's own and the audio is converted. ``frame_ms`` is the size of each
    microphone input event; ``output_block_ms`` the speaker's device block, which
    bounds how long stale audio can go on after an interruption (plus the
    device's ``output_latency``). The ``*_sample_rate`` / ``*_channels``
    arguments force a device format.
    """

    def __init__(
        self,
        input_device: DeviceSpec = None,
        output_device: DeviceSpec = None,
        frame_ms: float = 20,
        *,
        output_block_ms: float = 20,
        input_sample_rate: int | None = None,
        output_sample_rate: int | None = None,
        input_channels: int | None = None,
        output_channels: int | None = None,
        input_latency: Latency = "low",
        output_latency: Latency = "low",
    ) -> None:
        self._input_settings, self._output_settings = build_settings(
            input_device=input_device,
            output_device=output_device,
            frame_ms=frame_ms,
            output_block_ms=output_block_ms,
            input_sample_rate=input_sample_rate,
            output_sample_rate=output_sample_rate,
            input_channels=input_channels,
            output_channels=output_channels,
            input_latency=input_latency,
            output_latency=output_latency,
        )

    def input(self) -> MicrophoneInput:
        """A new microphone input for ``agent.run(inputs=[...])``."""
        return MicrophoneInput(self._input_settings)

    def output(self) -> SpeakerOutput:
        """A new speaker output for ``agent.run(outputs=[...])``."""
        return SpeakerOutput(self._output_settings)
