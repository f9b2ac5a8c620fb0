"""The causal MetricGAN+ configuration: a frame-causal STFT and a unidirectional LSTM mask, streamable.

:class:`CausalSTFT` frames a signal so that every frame *ends* on a hop boundary: the signal is preceded
by ``n_fft - hop`` zeros and frame ``t`` covers samples ``[t·hop - n_fft + hop, (t + 1)·hop)``; no frame
looks past the hop it completes. Synthesis windows each frame again and overlap-adds, dividing by the
summed squared window (periodic in ``hop``, the same for every real sample), so
``inverse(forward(x), T) == x`` to float rounding for any window with a positive sum (Hann, Hamming).

:class:`CausalMetricGANGenerator` is the MetricGAN+ generator (log1p magnitude, learnable-sigmoid mask,
noisy phase) on that front end with a *unidirectional* LSTM. Output sample ``n`` depends on input samples
up to ``n + n_fft - 1`` at most: the **algorithmic latency** is ``n_fft`` samples (512 at 16 kHz = 32 ms
for the presets). :meth:`CausalMetricGANGenerator.step` runs frames with explicit LSTM state, so
:mod:`seqgan.streaming` carries the state from chunk to chunk and reproduces ``forward`` on the whole
signal for any chunk size.

Presets (:data:`PRESETS`, built with :func:`build_causal_metricgan`, discriminator: the published metric
discriminator of :mod:`seqgan.models.metricgan`):

* ``metricgan_causal`` — MetricGAN+ sizes made causal: 2-layer LSTM of 400 units, FC 300 (≈ 2.54 M);
* ``metricgan_causal_small`` — for a CPU: 2-layer LSTM of 128 units, FC 192 (≈ 0.40 M), real time on
  one thread (``bench/stream_latency.py``).
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import nn

from seqgan.models.base import register_model
from seqgan.models.metricgan import MetricDiscriminator, MetricGANGenerator
from seqgan.models.presets import build_pair
from seqgan.models.stft import compress_magnitude, decompress_magnitude, magnitude, make_window, with_phase

__all__ = ["PRESETS", "CausalMetricGANGenerator", "CausalSTFT", "LSTMState", "build_causal_metricgan"]

#: LSTM state ``(h, c)``, each ``(num_layers, batch, hidden_size)``.
LSTMState = tuple[torch.Tensor, torch.Tensor]


class CausalSTFT(nn.Module):
    """STFT whose frames end on hop boundaries (no look-ahead) and its exact-length overlap-add inverse.

    Frame ``t`` holds samples ``[t·hop - pad, t·hop - pad + n_fft)`` with ``pad = n_fft - hop`` (zeros
    before the signal); a signal of ``T`` samples gives ``(T - 1 + pad) // hop + 1`` frames, the last ones
    zero-padded at the end, so every real sample is covered by the same number of frames.

    Args:
        n_fft: frame and FFT size; ``n_fft // 2 + 1`` bins.
        hop_length: frame step, ``1 <= hop_length <= win_length``.
        win_length: window length (``<= n_fft``, centred in the frame as ``torch.stft`` does).
        window: ``"hann"``, ``"hamming"`` or ``"rect"`` (analysis and synthesis).

    Shapes:
        ``forward(x: (batch, 1, samples)) -> (batch, bins, frames)`` complex;
        ``inverse(spec: (batch, bins, frames), length) -> (batch, 1, length)``;
        ``analyse(frames: (batch, k, n_fft)) -> (batch, bins, k)``;
        ``synthesise(spec: (batch, bins, k)) -> (batch, k, n_fft)`` windowed, to be overlap-added.
    """

    def __init__(
        self, n_fft: int, hop_length: int, win_length: int | None = None, window: str = "hann"
    ) -> None:
        super().__init__()
        win_length = int(win_length or n_fft)
        if not 1 <= hop_length <= win_length <= n_fft:
            raise ValueError(
                f"CausalSTFT: need 1 <= hop_length <= win_length <= n_fft, got hop {hop_length}, "
                f"window {win_length}, n_fft {n_fft}"
            )
        self.n_fft, self.hop_length, self.win_length = int(n_fft), int(hop_length), win_length
        self.window_name = window
        left = (self.n_fft - win_length) // 2
        w = torch.zeros(self.n_fft)
        w[left : left + win_length] = make_window(window, win_length)
        env = torch.zeros(self.hop_length)
        for start in range(0, self.n_fft, self.hop_length):  # sum of w² over the frames covering a sample
            part = w[start : start + self.hop_length].square()
            env[: part.numel()] += part
        if float(env.min()) < 1e-6:
            raise ValueError(
                f"CausalSTFT: the {window} window of {win_length} at hop {hop_length} leaves samples uncovered; "
                "choose a smaller hop_length"
            )
        self.register_buffer("window", w, persistent=False)
        self.register_buffer("envelope", env, persistent=False)

    @property
    def bins(self) -> int:
        """Number of frequency bins, ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    @property
    def pad(self) -> int:
        """Zeros before the signal: ``n_fft - hop_length``."""
        return self.n_fft - self.hop_length

    def frames(self, length: int) -> int:
        """Frames of a ``length``-sample signal: ``(length - 1 + pad) // hop + 1`` (0 for an empty one)."""
        return (length - 1 + self.pad) // self.hop_length + 1 if length > 0 else 0

    def analyse(self, frames: torch.Tensor) -> torch.Tensor:
        """Spectra of raw frames ``(batch, k, n_fft)`` -> complex ``(batch, bins, k)``."""
        return torch.fft.rfft(frames.float() * self.window, n=self.n_fft).transpose(1, 2)

    def synthesise(self, spec: torch.Tensor) -> torch.Tensor:
        """Windowed frames ``(batch, k, n_fft)`` of complex spectra ``(batch, bins, k)`` (before overlap-add)."""
        return torch.fft.irfft(spec.transpose(1, 2), n=self.n_fft) * self.window

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Complex spectrum of ``x``: ``(batch, 1, samples)`` or ``(batch, samples)`` -> ``(batch, bins, frames)``."""
        if x.dim() == 3:
            if x.shape[1] != 1:
                raise ValueError(f"CausalSTFT: expected (batch, 1, samples), got {tuple(x.shape)}")
            x = x.squeeze(1)
        if x.dim() != 2 or x.shape[-1] == 0:
            raise ValueError(
                f"CausalSTFT: expected (batch, 1, samples) with samples > 0, got {tuple(x.shape)}"
            )
        n = self.frames(x.shape[-1])
        right = (n - 1) * self.hop_length + self.n_fft - self.pad - x.shape[-1]
        padded = torch.nn.functional.pad(x.float(), (self.pad, right))
        return self.analyse(padded.unfold(-1, self.n_fft, self.hop_length))

    def inverse(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """Waveform of exactly ``length`` samples from ``spec: (batch, bins, frames)`` -> ``(batch, 1, length)``."""
        if spec.dim() != 3 or spec.shape[1] != self.bins:
            raise ValueError(
                f"CausalSTFT.inverse: expected (batch, {self.bins}, frames), got {tuple(spec.shape)}"
            )
        frames = self.synthesise(spec)  # (batch, k, n_fft)
        k = frames.shape[1]
        total = (k - 1) * self.hop_length + self.n_fft
        out = torch.nn.functional.fold(
            frames.transpose(1, 2), (1, total), kernel_size=(1, self.n_fft), stride=(1, self.hop_length)
        ).reshape(spec.shape[0], total)
        reps = -(-total // self.hop_length)
        out = out / self.envelope.repeat(reps)[:total]
        if self.pad + length > total:
            raise ValueError(f"CausalSTFT.inverse: {k} frames hold fewer than {length} samples")
        return out[:, self.pad : self.pad + int(length)].unsqueeze(1)

    def extra_repr(self) -> str:
        return (
            f"n_fft={self.n_fft}, hop_length={self.hop_length}, win_length={self.win_length}, "
            f"window={self.window_name!r}, causal"
        )


@register_model()
class CausalMetricGANGenerator(MetricGANGenerator):
    """MetricGAN+ generator made causal: :class:`CausalSTFT` front end and a unidirectional LSTM.

    Args:
        n_fft, hop_length, win_length, window, compression, exponent: the front end (as MetricGAN+'s;
            the algorithmic latency is ``n_fft`` samples).
        hidden_size: LSTM units.
        num_layers: stacked LSTM layers.
        fc_size, negative_slope, beta, min_mask: as :class:`~seqgan.models.metricgan.MetricGANGenerator`.

    Shapes:
        ``forward(noisy: (batch, 1, samples)) -> (batch, 1, samples)``, any length;
        ``step(frames: (batch, k, n_fft), state) -> ((batch, k, n_fft), state)``.
    """

    def __init__(
        self,
        n_fft: int = 512,
        hop_length: int = 256,
        win_length: int = 512,
        window: str = "hamming",
        compression: str = "log1p",
        exponent: float = 0.3,
        hidden_size: int = 400,
        num_layers: int = 2,
        fc_size: int = 300,
        negative_slope: float = 0.3,
        beta: float = 1.2,
        min_mask: float = 0.05,
    ) -> None:
        # the base builds the front end, the FC layers and the learnable sigmoid; the STFT and the LSTM
        # (a 1-unit placeholder there) are replaced by causal ones
        super().__init__(
            n_fft,
            hop_length,
            win_length,
            window,
            compression,
            exponent,
            hidden_size=1,
            num_layers=1,
            fc_size=fc_size,
            negative_slope=negative_slope,
            beta=beta,
            min_mask=min_mask,
        )
        self.stft = CausalSTFT(n_fft, hop_length, win_length, window)
        self.hidden_size, self.num_layers = int(hidden_size), int(num_layers)
        self.lstm = nn.LSTM(self.stft.bins, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Sequential(nn.Linear(hidden_size, fc_size), nn.LeakyReLU(negative_slope))

    @property
    def latency(self) -> int:
        """Algorithmic latency in samples: an output sample waits for at most ``n_fft - 1`` later inputs."""
        return self.stft.n_fft

    def initial_state(self, batch: int, device: torch.device | str = "cpu") -> LSTMState:
        """Zero LSTM state ``(h, c)``, each ``(num_layers, batch, hidden_size)``."""
        z = torch.zeros(self.num_layers, batch, self.hidden_size, device=device)
        return z, z.clone()

    def _mask_with_state(
        self, feats: torch.Tensor, state: LSTMState | None
    ) -> tuple[torch.Tensor, LSTMState]:
        with torch.autocast("cpu", enabled=False) if feats.device.type == "cpu" else contextlib.nullcontext():
            h, new_state = self.lstm(feats.float(), state)
        return self.activation(self.out(self.fc(h))).clamp_min(self.min_mask), new_state

    def mask(self, feats: torch.Tensor) -> torch.Tensor:
        """The clamped mask ``(batch, frames, bins)`` from compressed magnitudes, from a zero state."""
        return self._mask_with_state(feats, None)[0]

    def step(self, frames: torch.Tensor, state: LSTMState | None = None) -> tuple[torch.Tensor, LSTMState]:
        """Enhances ``k`` consecutive raw frames with the LSTM state left by the previous ones.

        Args:
            frames: ``(batch, k, n_fft)`` input samples of frames ``t .. t + k - 1`` (hop apart).
            state: the state after frame ``t - 1`` (``None``: zeros, the signal's start).

        Returns:
            ``(out, state)``: windowed output frames ``(batch, k, n_fft)`` to overlap-add at the same
            positions and divide by ``stft.envelope``; the state after frame ``t + k - 1``.
        """
        spec = self.stft.analyse(frames)
        feats = compress_magnitude(magnitude(spec), self.compression, self.exponent).transpose(1, 2)
        mask, state = self._mask_with_state(feats, state)
        mag = decompress_magnitude(feats * mask, self.compression, self.exponent).transpose(1, 2)
        return self.stft.synthesise(with_phase(mag, spec)), state


# -- presets ----------------------------------------------------------------------------------------------
_FRONT_END = {"n_fft": 512, "hop_length": 256, "win_length": 512, "window": "hamming", "compression": "log1p"}
_METRIC_D = {**_FRONT_END, "channels": 15, "kernel_size": 5, "num_layers": 4, "fc_sizes": [50, 10]}

PRESETS: dict[str, dict[str, Any]] = {
    "metricgan_causal": {
        "generator": {**_FRONT_END, "hidden_size": 400, "num_layers": 2, "fc_size": 300, "beta": 1.2},
        "discriminator": dict(_METRIC_D),
        "window": 64000,
        "notes": "MetricGAN+ made causal: frames end on hop boundaries (Hamming 512 / hop 256, 32 ms "
        "algorithmic latency at 16 kHz), 2-layer unidirectional LSTM 400, FC 300, learnable sigmoid "
        "(beta 1.2), noisy phase; the published metric discriminator.",
    },
    "metricgan_causal_small": {
        "generator": {**_FRONT_END, "hidden_size": 128, "num_layers": 2, "fc_size": 192, "beta": 1.2},
        "discriminator": dict(_METRIC_D),
        "window": 16000,
        "notes": "CPU-sized causal MetricGAN+: 2-layer unidirectional LSTM 128, FC 192; 32 ms "
        "algorithmic latency at 16 kHz; the published metric discriminator; 1 s windows.",
    },
}


def build_causal_metricgan(
    preset: str,
    generator_overrides: dict[str, Any] | None = None,
    discriminator_overrides: dict[str, Any] | None = None,
) -> tuple[CausalMetricGANGenerator, MetricDiscriminator]:
    """Builds the causal generator and the metric discriminator of a named configuration.

    Args:
        preset: a key of :data:`PRESETS` (``metricgan_causal``, ``metricgan_causal_small``).
        generator_overrides: constructor arguments replacing the preset's generator ones.
        discriminator_overrides: likewise for the discriminator.

    Raises:
        UnknownNameError: for an unknown preset (the message lists the presets).
        ValueError: for an override that is not a constructor argument.
    """
    return build_pair(  # type: ignore[return-value]
        PRESETS,
        "causal MetricGAN",
        preset,
        CausalMetricGANGenerator,
        MetricDiscriminator,
        generator_overrides,
        discriminator_overrides,
    )
