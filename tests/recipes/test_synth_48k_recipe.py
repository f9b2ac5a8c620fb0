"""The synth recipe at 48 kHz: local/data.sh --sample_rate and local/band_energy.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from recipe_support import REPO, copy_recipe, run_script

BAND_ENERGY = REPO / "egs" / "synth" / "se1" / "local" / "band_energy.py"


@pytest.mark.slow  # ~6-18 s: a tiny corpus with its babble talkers
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_data_sh_at_48k_writes_its_own_sets_beside_the_16k_ones(tmp_path: Path) -> None:
    recipe = copy_recipe("egs/synth/se1", tmp_path)
    opts = ["--size", "tiny", "--num_train", "4", "--num_dev", "2", "--num_test", "2", "--nj", "1"]
    r = run_script(["local/data.sh", *opts, "--sample_rate", "48000"], recipe)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert (
        "data/{train,dev,test}_48k from downloads/synth-speech_tiny_seed0_48k_train4_dev2_test2" in r.stdout
    )
    assert not (recipe / "data" / "train").exists()  # the 16 kHz sets are left alone
    for split in ("train", "dev", "test"):
        lines = (recipe / "data" / f"{split}_48k" / "wav.scp").read_text().splitlines()
        assert lines and all(sf.info(line.split(maxsplit=1)[1]).samplerate == 48000 for line in lines)


def _high_share_db(x: np.ndarray, rate: int) -> float:
    power = np.abs(np.fft.rfft(x)) ** 2
    return float(10 * np.log10(power[np.fft.rfftfreq(x.size, 1 / rate) > 8000].sum() / power.sum()))


def test_band_energy_tabulates_the_band_above_8k(tmp_path: Path) -> None:
    rate, n = 48000, 24000
    rng = np.random.default_rng(0)
    f = np.fft.rfftfreq(n, 1 / rate)
    clean = np.fft.irfft(np.fft.rfft(0.1 * rng.standard_normal(n)) * np.where(f > 8000, 0.1, 1.0), n=n)
    sets = {
        "clean": clean,
        "noisy": clean + 0.01 * rng.standard_normal(n),
        "low": np.fft.irfft(np.fft.rfft(clean) * (f < 8000), n=n) + 1e-6 * rng.standard_normal(n),
    }
    for name, x in sets.items():
        sf.write(tmp_path / f"{name}.wav", x, rate, subtype="FLOAT")
        (tmp_path / f"{name}.scp").write_text(f"u1 {tmp_path / name}.wav\n")
    args = [
        sys.executable,
        BAND_ENERGY,
        "--ref",
        tmp_path / "clean.scp",
        f"noisy={tmp_path}/noisy.scp",
        f"low={tmp_path}/low.scp",
    ]
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, check=True)
    rows = {line.split("|")[1].strip(): line.split("|")[2:5] for line in r.stdout.splitlines()[2:]}
    assert (
        float(rows["clean"][1]) == pytest.approx(_high_share_db(clean, rate), abs=0.05)
        and rows["clean"][2].strip() == "+0.0"
    )
    assert float(rows["noisy"][2]) > 0.5 and float(rows["low"][2]) < -40.0  # more band / the band dropped
