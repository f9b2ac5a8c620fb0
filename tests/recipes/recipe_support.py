"""Support of the recipe tests: a fake VoiceBank-DEMAND corpus, copies of recipe directories, running scripts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
RATE_48K = 48000

# the real corpus' layout: two training speakers held out for validation, two test speakers
FAKE_TRAIN_SPEAKERS = ("p226", "p230", "p239", "p287")
FAKE_TEST_SPEAKERS = ("p232", "p257")


def speech_like(rng: np.random.Generator, seconds: float, rate: int) -> np.ndarray:
    """A voiced, syllabic signal: harmonics of a gliding f0 under formant-like weights and a 4 Hz envelope."""
    t = np.arange(int(seconds * rate)) / rate
    f0 = rng.uniform(100, 220) * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(1, 3) * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    formants = rng.uniform([500, 1200], [900, 2400])
    wave = np.zeros_like(t)
    for k in range(1, 30):
        freq = k * f0.mean()
        if freq > 7000:
            break
        weight = sum(np.exp(-(((freq - f) / 300) ** 2)) for f in formants) + 0.05 / k
        wave += weight * np.sin(k * phase)
    envelope = np.clip(np.sin(2 * np.pi * rng.uniform(3, 5) * t + rng.uniform(0, np.pi)), 0, None) ** 0.7
    wave *= envelope
    return 0.1 * wave / (np.abs(wave).max() + 1e-9)


def make_fake_voicebank(root: Path, utts_per_speaker: int = 3, seconds: float = 0.8, seed: int = 0) -> Path:
    """Writes a small corpus in VoiceBank-DEMAND's folders and names (48 kHz mono 16-bit wav).

    ``clean_trainset_28spk_wav/p226_001.wav`` ... with the same names under ``noisy_trainset_28spk_wav``
    (clean + white or low-passed noise at 0-15 dB SNR), and ``clean_testset_wav`` /
    ``noisy_testset_wav`` for p232 and p257.
    """
    rng = np.random.default_rng(seed)
    for split, speakers in (("trainset_28spk", FAKE_TRAIN_SPEAKERS), ("testset", FAKE_TEST_SPEAKERS)):
        clean_dir = root / f"clean_{split}_wav"
        noisy_dir = root / f"noisy_{split}_wav"
        clean_dir.mkdir(parents=True, exist_ok=True)
        noisy_dir.mkdir(parents=True, exist_ok=True)
        for spk in speakers:
            for i in range(1, utts_per_speaker + 1):
                clean = speech_like(rng, seconds * rng.uniform(0.9, 1.1), RATE_48K)
                noise = rng.standard_normal(clean.shape)
                if rng.random() < 0.5:  # a darker noise now and then
                    noise = np.convolve(noise, np.ones(8) / 8, mode="same")
                snr = rng.choice([0.0, 5.0, 10.0, 15.0])
                noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2) / 10 ** (snr / 10))
                name = f"{spk}_{i:03d}.wav"
                sf.write(clean_dir / name, clean, RATE_48K, subtype="PCM_16")
                sf.write(noisy_dir / name, np.clip(clean + noise, -1, 1), RATE_48K, subtype="PCM_16")
    return root


def copy_recipe(egs: str, dest_root: Path) -> Path:
    """Copies ``egs/<corpus>/<task>`` into ``dest_root`` with the repository's layout around it.

    ``dest_root/recipes`` links to the real ``recipes/``, and the copy gets the same relative links
    (``utils``, ``se.sh``) as the original, so the scripts run unchanged while data/, dump/ and exp/
    stay out of the repository.
    """
    dest_root.mkdir(parents=True, exist_ok=True)
    (dest_root / "recipes").symlink_to(REPO / "recipes")
    src = REPO / egs
    dst = dest_root / egs
    dst.mkdir(parents=True)
    for item in src.iterdir():
        if item.name in ("data", "dump", "exp", "downloads"):
            continue
        if item.is_symlink():
            (dst / item.name).symlink_to(os.readlink(item))
        elif item.is_dir():
            shutil.copytree(item, dst / item.name, symlinks=True)
        else:
            shutil.copy2(item, dst / item.name)
    return dst


def recipe_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a recipe run: this interpreter's environment first on PATH, one thread."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parents[1])
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run_script(
    args: Iterable[str | Path], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
):
    """Runs a script; returns the CompletedProcess (text; stdout and stderr separate)."""
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env or recipe_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
