"""Audio samples of the enhancement task: noisy, enhanced and clean validation utterances."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from seqgan.data.audio import write_audio


def write_audio_samples(
    utterances: Sequence[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor]],
    sample_rate: int,
    folder: Path,
    step: int,
    writer: Any | None = None,
) -> None:
    """Writes ``<utt>_{noisy,enhanced,clean}.wav`` (16-bit PCM, clipped to [-1, 1]) under ``folder`` and,
    with a TensorBoard ``writer``, ``samples/<utt>/<kind>`` at ``step``.

    Args:
        utterances: ``(utt_id, noisy, enhanced, clean)``, each signal ``(1, samples)``.
        sample_rate: their rate in Hz.
        folder: created if missing.
        step: the training step (TensorBoard's x axis).
        writer: a ``SummaryWriter`` or None.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for utt, noisy, enhanced, clean in utterances:
        for kind, wave in (("noisy", noisy), ("enhanced", enhanced), ("clean", clean)):
            wave = wave.float().clamp(-1.0, 1.0)
            write_audio(folder / f"{utt}_{kind}.wav", wave, sample_rate, subtype="PCM_16")
            if writer is not None:
                writer.add_audio(f"samples/{utt}/{kind}", wave, step, sample_rate=sample_rate)
