"""The synthetic noisy-speech corpus: noises, SNR mixing, sentences, espeak-ng talkers, the corpus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal as sps

from seqgan.data.synth import recorded, speech, speech_corpus
from seqgan.data.synth.mixing import measure_snr, mix_at_snr, speech_power, to_pcm16
from seqgan.data.synth.noises import NOISE_KINDS, TEST_NOISES, TRAIN_NOISES, colored_noise, make_noise
from seqgan.data.synth.sentences import make_sentence
from seqgan.data.synth.speech_corpus import CorpusExistsError, generate_corpus
from seqgan.registry import UnknownNameError

SR = 16000
HAVE_ESPEAK = shutil.which("espeak-ng") is not None
needs_espeak = pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng is not installed")
TINY = dict(num_train=8, num_dev=3, num_test=5, speakers_train=3, speakers_dev=2, speakers_test=2, seed=7)


def _speechlike(rng: np.random.Generator, seconds: float = 1.0) -> np.ndarray:
    """Harmonic bursts separated by exact silences (to exercise the active-frame SNR)."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    x = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 8))
    gate = (np.sin(2 * np.pi * 2.0 * t) > 0.3).astype(float)
    return 0.1 * x * gate + 1e-5 * rng.standard_normal(n)


# ---------------------------------------------------------------------------------------------- mixing


@pytest.mark.parametrize("snr", [-5.0, 0.0, 2.5, 17.5, 30.0])
def test_mix_at_snr_hits_the_target(snr):
    rng = np.random.default_rng(0)
    clean = _speechlike(rng)
    noisy, noise = mix_at_snr(clean, 3.0 * rng.standard_normal(clean.size), snr)
    assert measure_snr(clean, noise) == pytest.approx(snr, abs=1e-9)
    np.testing.assert_allclose(noisy, clean + noise)


def test_active_speech_power_ignores_pauses():
    # half speech, half near-silence: the whole-signal power is half the active power (3 dB lower)
    x = np.concatenate([np.where(np.sin(np.arange(8000)) >= 0, 0.1, -0.1), np.full(8000, 1e-6)])
    assert speech_power(x, SR) == pytest.approx(0.01, rel=1e-6)
    assert speech_power(x, SR, active=False) == pytest.approx(0.005, rel=1e-3)
    _, noise = mix_at_snr(x, np.ones_like(x), 10.0, active=False)
    assert measure_snr(x, noise) == pytest.approx(10.0 + 10 * np.log10(2), abs=1e-3)


def test_mix_rejects_bad_input():
    with pytest.raises(ValueError, match="cut or tile"):
        mix_at_snr(np.ones(100), np.ones(99), 5.0)
    with pytest.raises(ValueError, match="all zeros"):
        mix_at_snr(np.ones(100), np.zeros(100), 5.0)


def test_pcm16_rounds_and_saturates():
    np.testing.assert_array_equal(
        to_pcm16(np.array([0.0, 0.5, -1.0, 1.5, 1e-5])), [0, 16384, -32767, 32767, 0]
    )


# ---------------------------------------------------------------------------------------------- noises


def _slope_db_per_octave(x: np.ndarray) -> float:
    f, p = sps.welch(x, SR, nperseg=4096)
    band = (f >= 100) & (f <= 6000)
    return float(np.polyfit(np.log2(f[band]), 10 * np.log10(p[band]), 1)[0])


@pytest.mark.parametrize(("kind", "slope"), [("white", 0.0), ("pink", -3.01), ("brown", -6.02)])
def test_colored_noise_slopes(kind, slope):
    x = make_noise(kind, 8 * SR, SR, np.random.default_rng(3))
    assert _slope_db_per_octave(x) == pytest.approx(slope, abs=0.3)


def test_blue_noise_rises():
    assert _slope_db_per_octave(colored_noise(8 * SR, SR, np.random.default_rng(1), -1.0)) == pytest.approx(
        3.01, abs=0.3
    )


def test_noise_kinds_split_like_voicebank_demand():
    assert len(TRAIN_NOISES) == 10 and len(TEST_NOISES) == 5
    assert not set(TRAIN_NOISES) & set(TEST_NOISES)
    assert set(NOISE_KINDS) == set(TRAIN_NOISES) | set(TEST_NOISES)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_every_noise_is_unit_rms_seeded_and_varied(kind):
    talkers = [_speechlike(np.random.default_rng(i), 0.7) for i in range(4)]
    a = make_noise(kind, SR // 2, SR, np.random.default_rng(5), talkers=talkers)
    b = make_noise(kind, SR // 2, SR, np.random.default_rng(5), talkers=talkers)
    c = make_noise(kind, SR // 2, SR, np.random.default_rng(6), talkers=talkers)
    assert a.shape == (SR // 2,) and a.dtype == np.float64 and np.isfinite(a).all()
    assert np.mean(a * a) == pytest.approx(1.0)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert np.count_nonzero(a == 0) < 10  # no digital silence in any noise


def test_hum_has_its_mains_frequency():
    for kind, f0 in (("hum50", 50.0), ("hum60", 60.0)):
        x = make_noise(kind, 4 * SR, SR, np.random.default_rng(0))
        f, p = sps.welch(x, SR, nperseg=SR)  # 1 Hz bins
        low = (f > 30) & (f < 80)
        assert abs(f[low][np.argmax(p[low])] - f0) <= 1.0


def test_speech_noises_need_talkers_and_unknown_kind_lists_choices():
    with pytest.raises(ValueError, match="talkers"):
        make_noise("babble", 100, SR, np.random.default_rng(0))
    with pytest.raises(UnknownNameError, match="white"):
        make_noise("whte", 100, SR, np.random.default_rng(0))


# ------------------------------------------------------------------------------------ sentences, talkers


def test_sentences_follow_the_budget_and_the_seed():
    rng = np.random.default_rng(0)
    for budget in (4, 8, 12, 20):
        for _ in range(20):
            text = make_sentence(rng, budget)
            assert len(text.split()) <= budget and text[0].isupper() and text[-1] in ".?"
    assert make_sentence(np.random.default_rng(1), 10) == make_sentence(np.random.default_rng(1), 10)


def test_read_wav_bytes_with_streamed_header():
    # espeak-ng --stdout writes 0x7fffffff placeholders for the RIFF and data sizes
    pcm = np.array([0, 1000, -1000, 32767], dtype="<i2").tobytes()
    fmt = (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (22050).to_bytes(4, "little")
    fmt += (44100).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
    header = b"RIFF" + b"\xff\xff\xff\x7f" + b"WAVE" + b"fmt " + (16).to_bytes(4, "little") + fmt
    wave, rate = speech.read_wav_bytes(header + b"data" + b"\xff\xff\xff\x7f" + pcm)
    assert rate == 22050
    np.testing.assert_allclose(wave * 32768, [0, 1000, -1000, 32767])
    with pytest.raises(speech.EspeakError):
        speech.read_wav_bytes(b"not a wav")


def test_missing_espeak_is_a_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    with pytest.raises(speech.EspeakNotFoundError, match="apt-get install espeak-ng"):
        generate_corpus(tmp_path / "c", **TINY)
    assert not (tmp_path / "c").exists()  # nothing written
    from seqgan.cli import main

    assert main(["data", "synth-speech", "--out", str(tmp_path / "c"), "--size", "tiny"]) != 0
    err = capsys.readouterr().err
    assert "espeak-ng not found" in err and "brew install espeak-ng" in err


# ---------------------------------------------------------------------------------------------- corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    if not HAVE_ESPEAK:
        pytest.skip("espeak-ng is not installed")
    out = tmp_path_factory.mktemp("synth") / "corpus"
    summary = generate_corpus(out, nj=2, **TINY)
    assert not summary["skipped"]
    return out


def _table(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split(" ", 1)) for line in path.read_text().splitlines()]


@needs_espeak
def test_same_seed_gives_identical_bytes_for_any_nj(corpus, tmp_path):
    other = tmp_path / "again"
    generate_corpus(other, nj=1, **TINY)
    files = sorted(p.relative_to(corpus) for p in corpus.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file())
    for rel in files:
        a, b = (corpus / rel).read_bytes(), (other / rel).read_bytes()
        if rel.suffix == ".scp":  # absolute paths differ only by the output directory
            b = b.replace(str(other).encode(), str(corpus).encode())
        assert a == b, rel


@needs_espeak
def test_splits_are_speaker_disjoint(corpus):
    info = json.loads((corpus / "corpus.json").read_text())["splits"]
    spk = {s: {v for _, v in _table(corpus / "data" / s / "utt2spk")} for s in ("train", "dev", "test")}
    assert not spk["train"] & spk["dev"] and not spk["train"] & spk["test"] and not spk["dev"] & spk["test"]
    # even the voice variants differ between splits, and the babble talkers use none of them
    variants = {s: {d["variant"] for d in info[s]["speakers"]} for s in info}
    babble = {d["variant"] for s in info for d in info[s]["babble_talkers"]}
    for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
        assert not variants[a] & variants[b]
    assert not babble & (variants["train"] | variants["dev"] | variants["test"])
    assert {d["gender"] for d in info["train"]["speakers"]} == {"f", "m"}
    # the talker behind a flite / festival voice is in one split only, whatever the synthesizer
    talkers = {s: {d["accent"] for d in info[s]["speakers"] if d["engine"] != "espeak"} for s in info}
    assert not talkers["train"] & talkers["test"] and not talkers["dev"]


@needs_espeak
def test_test_set_holds_out_a_synthesizer_and_a_language_family(corpus):
    info = json.loads((corpus / "corpus.json").read_text())
    engines = {s: {d["engine"] for d in info["splits"][s]["speakers"]} for s in info["splits"]}
    langs = {s: {v for _, v in _table(corpus / "data" / s / "utt2lang")} for s in info["splits"]}
    assert not (engines["train"] | engines["dev"]) & {"festival"}
    assert not (langs["train"] | langs["dev"]) & {"pl", "cs"}
    if "festival" in info["synthesizers"]:
        assert "festival" in engines["test"]
    assert info["held_out_for_test"]["language_family"] == "slavic"


@needs_espeak
def test_noise_types_and_snrs_per_split(corpus):
    info = json.loads((corpus / "corpus.json").read_text())["splits"]
    train_kinds, test_kinds = info["train"]["noise_types"], info["test"]["noise_types"]
    assert train_kinds[: len(TRAIN_NOISES)] == list(TRAIN_NOISES)
    assert test_kinds[: len(TEST_NOISES)] == list(TEST_NOISES)
    assert not set(train_kinds) & set(test_kinds)  # noise types and recorded sources held out
    for split, kinds, snrs in (
        ("train", train_kinds, {"0", "5", "10", "15"}),
        ("dev", train_kinds, {"0", "5", "10", "15"}),
        ("test", test_kinds, {"2.5", "7.5", "12.5", "17.5"}),
    ):
        assert {v for _, v in _table(corpus / "data" / split / "utt2noise")} <= set(kinds)
        assert {v for _, v in _table(corpus / "data" / split / "utt2snr")} <= snrs
    # the 5 test utterances use 5 different held-out types
    assert len({v for _, v in _table(corpus / "data/test/utt2noise")}) == 5


@needs_espeak
def test_wavs_mix_exactly_at_the_listed_snr(corpus):
    dry = 0
    for split in ("train", "dev", "test"):
        d = corpus / "data" / split
        snr, dur = dict(_table(d / "utt2snr")), dict(_table(d / "utt2dur"))
        aug = dict(_table(d / "utt2aug"))
        clean_paths, noise_paths = dict(_table(d / "spk1.scp")), dict(_table(d / "noise1.scp"))
        for utt, noisy_path in _table(d / "wav.scp"):
            info = sf.info(noisy_path)
            assert (info.samplerate, info.channels, info.subtype) == (SR, 1, "PCM_16")
            noisy = sf.read(noisy_path, dtype="int16")[0].astype(np.int32)
            clean = sf.read(clean_paths[utt], dtype="int16")[0].astype(np.int32)
            noise = sf.read(noise_paths[utt], dtype="int16")[0].astype(np.int32)
            np.testing.assert_array_equal(noisy, clean + noise)
            if aug[utt].split()[1:] == []:  # no room, band limit or clipping: noise.wav is the noise
                dry += 1
                assert measure_snr(clean / 32767.0, noise / 32767.0) == pytest.approx(
                    float(snr[utt]), abs=0.1
                )
            assert float(dur[utt]) == pytest.approx(clean.size / SR, abs=1e-4)
            assert 1.1 <= clean.size / SR <= 4.5
            # never digital zero: every 5 ms of the clean speech has non-zero samples
            frames = clean[: clean.size // 80 * 80].reshape(-1, 80)
            assert np.all(np.any(frames != 0, axis=1))
    assert dry >= 5


@needs_espeak
def test_input_levels_are_in_range(corpus):
    levels = []
    for split in ("train", "dev", "test"):
        d = corpus / "data" / split
        aug = {u: dict(kv.split("=") for kv in v.split()) for u, v in _table(d / "utt2aug")}
        for utt, path in _table(d / "wav.scp"):
            noisy = sf.read(path)[0]
            level = 10 * np.log10(speech_power(noisy, SR))
            listed = float(aug[utt]["level"])
            assert -35.0 <= listed <= -15.0
            levels.append(listed)
            if "clip" not in aug[utt] and np.abs(noisy).max() < 0.94:  # not peak-limited
                assert level == pytest.approx(listed, abs=0.1)
            else:
                assert level <= listed + 0.1
    assert max(levels) - min(levels) > 5.0  # spread over the range


@needs_espeak
def test_data_dirs_are_consistent_and_sorted(corpus):
    for split in ("train", "dev", "test"):
        d = corpus / "data" / split
        ids = None
        for name in (
            "wav.scp",
            "spk1.scp",
            "noise1.scp",
            "utt2spk",
            "utt2dur",
            "utt2num_samples",
            "utt2snr",
            "utt2noise",
            "utt2lang",
            "utt2aug",
            "text",
        ):
            keys = [k for k, _ in _table(d / name)]
            assert keys == sorted(keys) and len(set(keys)) == len(keys), name
            ids = keys if ids is None else ids
            assert keys == ids, name
        utt2spk = dict(_table(d / "utt2spk"))
        assert all(u.startswith(s + "_") for u, s in utt2spk.items())
        spk2utt = {s: u.split() for s, u in _table(d / "spk2utt")}
        assert list(spk2utt) == sorted(spk2utt)
        assert {u: s for s, us in spk2utt.items() for u in us} == utt2spk
        assert set(dict(_table(d / "spk2gender"))) == set(spk2utt)
        for name in ("wav.scp", "spk1.scp", "noise1.scp"):
            assert all(Path(p).is_absolute() and Path(p).is_file() for _, p in _table(d / name))
    summary = json.loads((corpus / "corpus.json").read_text())
    assert summary["seed"] == TINY["seed"] and summary["espeak_ng_version"]
    assert summary["splits"]["train"]["num_utterances"] == TINY["num_train"]
    assert summary["splits"]["test"]["noise_types"] == list(TEST_NOISES) + list(
        recorded.available_sources(recorded.TEST_RECORDED)
    )
    assert [r["name"] for r in summary["recorded_sources"]] == [
        n for n in recorded.RECORDED_NAMES if n in recorded.available_sources(recorded.RECORDED_NAMES)
    ]


@needs_espeak
def test_complete_corpus_is_kept_and_other_settings_refused(corpus, tmp_path, capsys):
    before = {p: p.stat().st_mtime_ns for p in corpus.rglob("*") if p.is_file()}
    again = generate_corpus(corpus, nj=2, **TINY)
    assert again["skipped"]
    assert before == {p: p.stat().st_mtime_ns for p in corpus.rglob("*") if p.is_file()}
    with pytest.raises(CorpusExistsError, match="--overwrite"):
        generate_corpus(corpus, **{**TINY, "seed": 8})
    from seqgan.cli import main

    args = ["data", "synth-speech", "--out", str(corpus), "--seed", "7", "--num-train", "8", "--num-dev", "3"]
    args += ["--num-test", "5", "--speakers-train", "3", "--speakers-dev", "2", "--speakers-test", "2"]
    assert main(args) == 0
    assert "already holds this corpus" in capsys.readouterr().out
    # a directory with other people's files is never written into
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(CorpusExistsError, match="not empty"):
        generate_corpus(foreign, **TINY)
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]


@needs_espeak
def test_overwrite_and_interrupted_runs_regenerate(tmp_path):
    small = dict(TINY, num_train=2, num_dev=1, num_test=1, speakers_train=1, speakers_dev=1, speakers_test=1)
    small.update(train_noises=("white",), test_noises=("siren",))  # no babble bank: quick
    out = tmp_path / "c"
    generate_corpus(out, **small)
    (out / ".done").unlink()  # as if interrupted before the end
    (out / ".incomplete").write_text("{}")
    result = generate_corpus(out, **small)
    assert not result["skipped"] and (out / ".done").is_file() and not (out / ".incomplete").exists()
    result = generate_corpus(out, overwrite=True, **dict(small, seed=99))
    assert not result["skipped"] and json.loads((out / "corpus.json").read_text())["seed"] == 99
    # a corpus of an older format (other settings by definition) is regenerated without --overwrite
    (out / ".done").write_text(json.dumps({"format_version": 1, "seed": 99}))
    result = generate_corpus(out, **dict(small, seed=99))
    assert not result["skipped"] and json.loads((out / ".done").read_text())["format_version"] == 2


@needs_espeak
def test_rooms_and_channels_follow_their_fractions(tmp_path):
    small = dict(TINY, num_train=2, num_dev=1, num_test=2, speakers_train=1, speakers_dev=1, speakers_test=1)
    small.update(train_noises=("white",), test_noises=("hum60",), synthesizers=("espeak",))
    out = generate_corpus(
        tmp_path / "room", reverb_fraction=1.0, band_fraction=0.0, clip_fraction=0.0, **small
    )
    tests = []
    for split in ("train", "dev", "test"):
        for utt, value in _table(tmp_path / "room" / "data" / split / "utt2aug"):
            fields = dict(kv.split("=") for kv in value.split())
            assert "band" not in fields and "clip" not in fields
            rt60 = float(fields["rt60"])
            low, high = (0.2, 1.0) if split == "test" else (0.2, 0.8)
            assert low <= rt60 <= high and 0.0 <= float(fields["drr"]) <= 12.0
            tests.append(utt)
    assert len(tests) == 5 and out["splits"]["train"]["reverberant"] == 2
    generate_corpus(tmp_path / "band", reverb_fraction=0.0, band_fraction=1.0, clip_fraction=1.0, **small)
    d = tmp_path / "band" / "data" / "train"
    for utt, value in _table(d / "utt2aug"):
        assert "band=" in value and "clip=" in value and "rt60=" not in value
        clean = sf.read(dict(_table(d / "spk1.scp"))[utt])[0]
        noisy = sf.read(dict(_table(d / "wav.scp"))[utt])[0]
        f, p = sps.welch(clean, SR, nperseg=512)
        assert p[f > 4500].sum() < 1e-3 * p[(f > 500) & (f < 3000)].sum()  # the target is band-limited too
        top = np.abs(noisy).max()
        assert np.mean(np.abs(noisy) >= top - 2 / 32767) > 0.002  # a flat top: clipped


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="speakers"):
        generate_corpus(tmp_path / "c", **dict(TINY, speakers_test=9))
    with pytest.raises(UnknownNameError, match="choose from"):
        generate_corpus(tmp_path / "c", **dict(TINY, test_noises=("sirens",)))
    with pytest.raises(ValueError, match="fraction"):
        generate_corpus(tmp_path / "c", **dict(TINY, reverb_fraction=1.5))
    with pytest.raises(ValueError, match="level range"):
        generate_corpus(tmp_path / "c", **dict(TINY, level_range_db=(-10.0, -20.0)))
    with pytest.raises(ValueError, match="choose from"):
        generate_corpus(tmp_path / "c", **dict(TINY, synthesizers=("espeak", "sam")))
    with pytest.raises(ValueError, match="choose from"):
        generate_corpus(tmp_path / "c", **dict(TINY, languages=("en", "tlh")))
    assert not (tmp_path / "c").exists()


def test_presets():
    assert speech_corpus.preset("small")["num_train"] == 600
    with pytest.raises(ValueError, match="tiny, small, medium"):
        speech_corpus.preset("huge")
