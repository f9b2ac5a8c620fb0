"""The speech enhancer shipped in the package: found without a path, described by `seqgan info`, used by
`seqgan enhance` without -m, and better than the input on speech it never heard."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
import soxr
from safetensors import safe_open

from seqgan import pretrained
from seqgan.cli import main
from seqgan.enhance import Enhancer
from seqgan.metrics.audio import compute_metrics

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def test_the_default_enhancer_is_a_small_safetensors_file():
    entry = pretrained.default_model("enhancement")
    assert entry.name == "synth_metricgan" and entry.path.suffix == ".safetensors"
    assert entry.path.stat().st_size <= 25 * 2**20
    with safe_open(str(entry.path), "pt") as f:  # a plain safetensors file: no pickle anywhere
        assert f.metadata()["task"] == "enhancement"
    assert "conf/pretrained.yaml" in entry.recipe


def test_from_pretrained_without_a_path_loads_it():
    enhancer = Enhancer.from_pretrained(device="cpu")
    assert enhancer.source == str(pretrained.default_model("enhancement").path)
    assert enhancer.sample_rate == 16000
    by_name = Enhancer.from_pretrained("synth_metricgan", device="cpu")
    assert by_name.source == enhancer.source
    with pytest.raises(ValueError, match="pong"):  # a registered model of another task
        Enhancer.from_pretrained("pong", device="cpu")


def test_info_lists_and_describes_the_shipped_models(capsys):
    assert main(["info"]) == 0
    listing = capsys.readouterr().out
    assert re.search(r"^synth_metricgan +enhancement \(default\)", listing, flags=re.M)
    assert re.search(r"^synth_metricgan_causal +enhancement,", listing, flags=re.M)
    assert main(["info", "synth_metricgan", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["architecture"] == "MetricGANGenerator" and info["sample_rate"] == 16000
    assert info["shipped"] == "synth_metricgan (enhancement, default)"
    assert "conf/pretrained.yaml" in info["recipe"] and info["results"].endswith("RESULTS.md")
    assert main(["info", "no_such_model"]) == 1


def test_enhance_without_a_model_keeps_rate_and_channels(tmp_path, capsys):
    rng = np.random.default_rng(0)
    stereo = (0.05 * rng.standard_normal((44100, 2))).astype(np.float32)
    sf.write(tmp_path / "in.wav", stereo, 44100)
    assert main(["enhance", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out"), "--device", "cpu"]) == 0
    out, rate = sf.read(tmp_path / "out" / "in.wav", dtype="float32")
    assert rate == 44100 and out.shape == stereo.shape


def _speech(text: str, voice: str) -> np.ndarray:
    wav = subprocess.run(["espeak-ng", "--stdout", "-v", voice, text], capture_output=True, check=True).stdout
    x, rate = sf.read(io.BytesIO(wav), dtype="float32")
    x = soxr.resample(x, rate, 16000).astype(np.float32)
    return 0.1 * x / np.abs(x).max()


@needs_espeak
def test_it_improves_unheard_speech_in_noise():
    """Four espeak-ng voices (two languages it never heard as these voices, a female variant) in white and
    low-passed noise at 5 dB SNR: PESQ up in every case, SI-SDR up on average, STOI kept on average."""
    enhancer = Enhancer.from_pretrained(device="cpu")
    names = ["pesq_wb", "stoi", "si_sdr"]
    gains = []
    for voice in ("en", "en-us+f3", "de", "es+m3"):
        clean = _speech("The quick brown fox jumps over the lazy dog near the river bank.", voice)
        for lowpass in (False, True):
            n = np.random.default_rng(1).standard_normal(len(clean)).astype(np.float32)
            if lowpass:
                n = np.convolve(n, np.ones(8) / 8, "same").astype(np.float32)
            n *= np.sqrt((clean**2).mean() / (n**2).mean()) * 10 ** (-5 / 20)
            noisy = clean + n
            before, _ = compute_metrics(clean, noisy, 16000, names)
            after, _ = compute_metrics(clean, enhancer.enhance(noisy, 16000), 16000, names)
            gains.append({m: after[m] - before[m] for m in names})
    assert min(g["pesq_wb"] for g in gains) > 0.1
    assert np.mean([g["si_sdr"] for g in gains]) > 2.0
    assert np.mean([g["stoi"] for g in gains]) > -0.01


def test_the_shipped_causal_model_streams_without_a_model_option(tmp_path):
    from seqgan.streaming import is_streamable

    entry = pretrained.get(pretrained.STREAMING_DEFAULT, "enhancement")
    assert (
        not entry.default and entry.path.stat().st_size <= 25 * 2**20 and "conf/causal.yaml" in entry.recipe
    )
    enhancer = Enhancer.from_pretrained(pretrained.STREAMING_DEFAULT, device="cpu")
    assert is_streamable(enhancer.generator) and enhancer.sample_rate == 16000
    rng = np.random.default_rng(1)
    x = (0.05 * rng.standard_normal(8000)).astype(np.float32)
    sf.write(tmp_path / "in.wav", x, 16000, subtype="FLOAT")
    assert main(["enhance", "--stream", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav")]) == 0
    y, rate = sf.read(tmp_path / "out.wav", dtype="float32")
    assert rate == 16000 and y.shape == x.shape
    np.testing.assert_allclose(y, enhancer.enhance(x, 16000), atol=1e-5)  # streamed = offline
