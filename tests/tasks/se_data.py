"""Tiny speech-enhancement data directories for the task tests (harmonic, syllable-like signals)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from seqgan.data.scp import write_scp

SR = 16000


def speech_like(n: int, rng: np.random.Generator, harmonics: int = 5) -> np.ndarray:
    """``(n,)`` float32: a random f0 in 100–200 Hz with ``harmonics`` partials and a 3 Hz envelope."""
    t = np.arange(n) / SR
    f0 = rng.uniform(100, 200)
    env = 0.5 * (1 + np.sin(2 * np.pi * 3 * t))
    x = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6)) / k for k in range(1, harmonics + 1))
    return (0.2 * env * x).astype(np.float32)


def make_data_dir(root: Path, name: str, lengths: list[int], seed: int, harmonics: int = 5) -> Path:
    """``root/name`` with ``wav.scp`` (noisy: + white noise of std 0.05) and ``spk1.scp`` (clean)."""
    rng = np.random.default_rng(seed)
    d = root / name
    d.mkdir()
    wav, spk = {}, {}
    for i, n in enumerate(lengths):
        u = f"{name}_{i}"
        clean = speech_like(n, rng, harmonics)
        noisy = clean + (0.05 * rng.standard_normal(n)).astype(np.float32)
        for table, x, kind in ((wav, noisy, "noisy"), (spk, clean, "clean")):
            path = root / f"{u}_{kind}.wav"
            sf.write(path, x, SR, subtype="FLOAT")
            table[u] = str(path)
    write_scp(d / "wav.scp", wav)
    write_scp(d / "spk1.scp", spk)
    return d
