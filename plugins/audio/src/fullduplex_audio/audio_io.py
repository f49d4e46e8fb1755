"""``BidiAudioIO``: the microphone and speaker pair of the seed example."""

from __future__ import annotations

from .devices import DeviceSpec
from .echo import EchoCanceller, check_echo_settings
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

    ``echo_cancellation`` (on by default) removes what this object's speaker
    plays from what its microphone records, with WebRTC's AEC3, so the model's
    turn detection does not take the assistant's own voice for the user on a
    laptop without headphones. It acts only while this object's ``output()``
    is playing; turn it off with headphones or a device that cancels echo
    itself. ``noise_suppression`` and ``auto_gain`` add WebRTC's noise
    suppressor and AGC2 to the microphone (off by default).
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
        echo_cancellation: bool = True,
        noise_suppression: bool = False,
        auto_gain: bool = False,
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
        self._echo_settings = check_echo_settings(echo_cancellation, noise_suppression, auto_gain)
        self._echo: EchoCanceller | None = None

    @property
    def echo_canceller(self) -> EchoCanceller | None:
        """The canceller shared by this object's microphone and speaker (None when all off)."""
        if self._echo is None and self._echo_settings.any:
            self._echo = EchoCanceller(self._echo_settings)
        return self._echo

    def input(self) -> MicrophoneInput:
        """A new microphone input for ``agent.run(inputs=[...])``."""
        return MicrophoneInput(self._input_settings, self.echo_canceller)

    def output(self) -> SpeakerOutput:
        """A new speaker output for ``agent.run(outputs=[...])``."""
        return SpeakerOutput(self._output_settings, self.echo_canceller)
