"""The synthetic noisy-speech corpus at 48 kHz: every file at the rate, the band each talker really has."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from scipy import signal as sps

from seqgan.cli import main
from seqgan.data.synth.speech_corpus import generate_corpus
from seqgan.data.synth.speech_utterance import speech_band

RATE = 48000
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
TINY = dict(num_train=2, num_dev=1, num_test=2, speakers_train=1, speakers_dev=1, speakers_test=1, seed=3)


def _table(path):
    return [tuple(line.split(maxsplit=1)) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    out = tmp_path_factory.mktemp("c48")
    summary = generate_corpus(
        out,
        sample_rate=RATE,
        train_noises=("white",),
        test_noises=("siren",),
        synthesizers=("espeak",),
        reverb_fraction=0.5,
        band_fraction=0.0,
        clip_fraction=0.0,
        nj=1,
        **TINY,
    )
    return out, summary


@needs_espeak
def test_every_file_and_table_is_at_48k(corpus):
    out, summary = corpus
    info = json.loads((out / "corpus.json").read_text())
    assert info["sample_rate"] == RATE == summary["sample_rate"]
    assert json.loads((out / ".done").read_text())["sample_rate"] == RATE
    assert "11025" in info["clean_speech_band"]["espeak"]
    for split in ("train", "dev", "test"):
        d = out / "data" / split
        durs = dict(_table(d / "utt2dur"))
        for utt, n in _table(d / "utt2num_samples"):
            assert float(durs[utt]) == pytest.approx(int(n) / RATE, abs=1e-4)
            files = {
                k: sf.read(dict(_table(d / k))[utt], dtype="int16")
                for k in ("wav.scp", "spk1.scp", "noise1.scp")
            }
            assert {rate for _, rate in files.values()} == {RATE}
            noisy, clean, noise = (
                files[k][0].astype(np.int32) for k in ("wav.scp", "spk1.scp", "noise1.scp")
            )
            assert noisy.size == int(n) and np.array_equal(noisy, clean + noise)


@needs_espeak
def test_clean_speech_has_the_synthesizers_band_and_the_noise_the_full_band(corpus):
    out, _ = corpus
    d = out / "data" / "train"
    for utt, _ in _table(d / "wav.scp"):
        clean = sf.read(dict(_table(d / "spk1.scp"))[utt])[0]
        noise = sf.read(dict(_table(d / "noise1.scp"))[utt])[0]
        f, p = sps.welch(clean, RATE, nperseg=1024)
        low, mid, top = (
            p[(f > 300) & (f < 4000)].mean(),
            p[(f > 8500) & (f < 9500)].mean(),
            p[f > 14000].mean(),
        )
        # espeak-ng's 22.05 kHz output (x warp 0.9-1.12): speech between 8 and 9.9 kHz, only the
        # -75 dBFS floor above 12.35 kHz
        assert mid > 30 * top and low > 100 * mid
        f, p = sps.welch(noise, RATE, nperseg=1024)
        assert p[f > 16000].mean() > 0.3 * p[(f > 300) & (f < 4000)].mean()  # white noise: the full band


def test_speech_band_and_rate_checks(tmp_path, capsys):
    band = speech_band(RATE)
    assert "(9922-12348 Hz)" in band["espeak"] and "(7200-8960 Hz)" in band["flite"]
    assert "(8000-8000 Hz)" in speech_band(16000)["espeak"]  # a 16 kHz corpus keeps 8 kHz of every talker
    with pytest.raises(ValueError, match="sample rate must be 16000-96000 Hz"):
        generate_corpus(tmp_path / "c", sample_rate=8000, **TINY)
    assert main(["data", "synth-speech", "--out", str(tmp_path / "c"), "--sample-rate", "8000"]) == 1
    assert "sample rate must be" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
