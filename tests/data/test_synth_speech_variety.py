"""The variety of the synthetic speech corpus: rooms, channels, recorded noises, voices, languages."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from scipy import signal as sps

from seqgan.data.synth import channel, phrases, recorded, reverb, speech_corpus, speech_talkers, voices
from seqgan.data.synth.mixing import speech_power

SR = 16000
HAVE_RECORDINGS = all(recorded.source_files(s) for s in recorded.SOURCES)
needs_recordings = pytest.mark.skipif(not HAVE_RECORDINGS, reason="the sound packages are not installed")


# ----------------------------------------------------------------------------------------------- rooms


@pytest.mark.parametrize(("rt60", "drr"), [(0.2, 0.0), (0.5, 6.0), (1.0, 12.0)])
def test_rir_has_the_requested_rt60_and_drr(rt60, drr):
    rir = reverb.synth_rir(np.random.default_rng(3), SR, rt60, drr)
    assert rir[0] == 1.0 and rir.size == int(1.2 * rt60 * SR)
    assert reverb.drr_db(rir) == pytest.approx(drr, abs=1e-9)
    assert reverb.rt60_schroeder(rir, SR) == pytest.approx(rt60, rel=0.12)
    # energy decays: the last tenth holds far less than the first
    tenth = rir.size // 10
    assert np.sum(rir[-tenth:] ** 2) < 1e-3 * np.sum(rir[1:tenth] ** 2)


def test_rir_is_seeded_and_varies():
    a = reverb.synth_rir(np.random.default_rng(1), SR, 0.4, 3.0)
    np.testing.assert_array_equal(a, reverb.synth_rir(np.random.default_rng(1), SR, 0.4, 3.0))
    assert not np.allclose(a, reverb.synth_rir(np.random.default_rng(2), SR, 0.4, 3.0))


def test_reverberate_keeps_alignment_and_the_early_target():
    rir = reverb.synth_rir(np.random.default_rng(0), SR, 0.6, 4.0)
    impulse = np.zeros(SR)
    impulse[100] = 1.0
    wet, early = reverb.reverberate(impulse, rir, SR)
    assert wet.size == early.size == SR
    assert np.argmax(np.abs(wet)) == 100 and np.argmax(np.abs(early)) == 100  # no delay
    n_early = int(reverb.EARLY_SECONDS * SR)
    np.testing.assert_allclose(early[100 : 100 + n_early], rir[:n_early], atol=1e-12)
    assert np.all(np.abs(early[100 + n_early :]) < 1e-12)
    np.testing.assert_allclose(wet[100 : 100 + rir.size], rir, atol=1e-12)


def test_rt60_ranges_hold_out_the_longest_rooms_for_test():
    assert reverb.TEST_RT60_RANGE[1] > reverb.TRAIN_RT60_RANGE[1]
    assert reverb.TRAIN_RT60_RANGE[0] >= 0.2 and reverb.TEST_RT60_RANGE[1] <= 1.0
    with pytest.raises(ValueError, match="rt60"):
        reverb.synth_rir(np.random.default_rng(0), SR, 0.0, 3.0)


# -------------------------------------------------------------------------------------------- channels


def _band_power(x: np.ndarray, lo: float, hi: float) -> float:
    f, p = sps.welch(x, SR, nperseg=1024)
    return float(p[(f >= lo) & (f < hi)].sum())


@pytest.mark.parametrize("kind", channel.BANDS)
def test_band_limits_remove_the_missing_band(kind):
    x = np.random.default_rng(0).standard_normal(SR)
    y = channel.band_limit(x, SR, kind)
    assert y.size == x.size
    assert _band_power(y, 4200, 8000) < 1e-4 * _band_power(x, 4200, 8000)
    assert _band_power(y, 1000, 3000) > 0.5 * _band_power(x, 1000, 3000)
    if kind == "telephone":
        assert _band_power(y, 20, 150) < 0.02 * _band_power(x, 20, 150)
    with pytest.raises(ValueError, match="choose from"):
        channel.band_limit(x, SR, "radio")


def test_clip_at_a_fraction_of_the_peak():
    x = np.sin(np.linspace(0, 20, 1000)) * 0.8
    y = channel.clip(x, 0.5)
    level = 0.5 * np.abs(x).max()
    assert np.abs(y).max() == pytest.approx(level)
    np.testing.assert_array_equal(y[np.abs(x) <= level], x[np.abs(x) <= level])


# ------------------------------------------------------------------------------------- recorded noises


def test_recorded_sources_are_held_out_by_source():
    train, test = set(recorded.TRAIN_RECORDED), set(recorded.TEST_RECORDED)
    assert train and test and not train & test
    assert {recorded.source(n).kind for n in test} == {"music", "effects"}  # both kinds held out
    patterns = {recorded.source(n).pattern for n in recorded.RECORDED_NAMES}
    assert len(patterns) == len(recorded.RECORDED_NAMES)  # no two sources share files
    with pytest.raises(ValueError, match="choose from"):
        recorded.source("music-abba")


@needs_recordings
def test_recorded_files_are_disjoint_and_speech_is_excluded():
    files = {n: set(recorded.source_files(recorded.source(n))) for n in recorded.RECORDED_NAMES}
    for a in files:
        for b in files:
            assert a == b or not files[a] & files[b]
    assert not any("audio-channel-" in f for f in files["effects-freedesktop"])


@needs_recordings
@pytest.mark.parametrize("name", recorded.RECORDED_NAMES)
def test_recorded_noise_is_unit_rms_seeded_and_varied(name):
    a = recorded.make_recorded_noise(name, 20000, SR, np.random.default_rng(5))
    assert a.shape == (20000,) and np.mean(a**2) == pytest.approx(1.0)
    np.testing.assert_array_equal(a, recorded.make_recorded_noise(name, 20000, SR, np.random.default_rng(5)))
    assert not np.allclose(a, recorded.make_recorded_noise(name, 20000, SR, np.random.default_rng(6)))
    assert np.all(np.isfinite(a))


def test_missing_sound_package_falls_back_with_one_line(monkeypatch, caplog):
    monkeypatch.setattr(recorded, "source_files", lambda src: [])
    with caplog.at_level(logging.WARNING):
        kinds = speech_corpus._noise_list(None, ("white",), recorded.TEST_RECORDED, True, "test")
    assert kinds == ("white",)
    lines = [r.getMessage() for r in caplog.records]
    assert any("apt-get install deepin-sound-theme" in m and "synthetic" in m for m in lines)
    assert sum("asterisk-moh-opsound-wav" in m for m in lines) == 1  # one line per package
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        only = speech_corpus._noise_list(("effects-deepin",), ("hum60", "siren"), (), True, "test")
    assert only == ("hum60", "siren") and any("using the synthetic" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------------------------ voices, languages


def test_voice_catalogue_keeps_talkers_in_one_split():
    split_of: dict[str, set[str]] = {}
    for v in voices.CATALOGUE:
        split_of.setdefault(v.talker, set()).add(v.split)
    assert all(len(s) == 1 for s in split_of.values())  # flite slt / kal16 go with festival's slt / kal
    assert {v.split for v in voices.CATALOGUE if v.engine == "festival"} == {"test"}
    assert {v.split for v in voices.CATALOGUE if v.engine == "flite"} == {"train", "test"}


def test_missing_synthesizer_is_skipped_with_one_line(monkeypatch, caplog):
    monkeypatch.setattr(voices.shutil, "which", lambda name: None)
    with caplog.at_level(logging.WARNING):
        programs, found = voices.available_voices(("espeak", "flite", "festival"))
    assert programs == {} and found == []
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and "apt-get install flite" in messages[0] and "festival" in messages[1]
    with pytest.raises(ValueError, match="choose from"):
        voices.available_voices(("sam",))


def test_engine_counts_per_split():
    cat = list(voices.CATALOGUE)
    assert speech_talkers.engine_counts("train", 24, cat) == {"flite": 6}
    assert speech_talkers.engine_counts("dev", 4, cat) == {}
    assert speech_talkers.engine_counts("test", 6, cat) == {"festival": 2, "flite": 1}
    assert speech_talkers.engine_counts("test", 1, cat) == {}  # espeak-ng keeps one
    no_festival = [v for v in cat if v.engine != "festival"]
    assert speech_talkers.engine_counts("test", 6, no_festival) == {"flite": 1}


@pytest.mark.parametrize("lang", phrases.LANGUAGES)
def test_texts_in_every_language_follow_the_budget_and_seed(lang):
    rng = np.random.default_rng(0)
    for budget in (4, 10, 20):
        text = phrases.make_text(lang, rng, budget)
        shortest = min(len(p.split()) for p in phrases.PHRASES.get(lang, ("a b",)))
        assert len(text.split()) <= max(budget, shortest) and text[-1] in ".?!"
    assert phrases.make_text(lang, np.random.default_rng(4), 12) == phrases.make_text(
        lang, np.random.default_rng(4), 12
    )


def test_language_families_hold_one_out():
    assert phrases.family_of("pl") == phrases.HELD_OUT_FAMILY
    assert not set(phrases.TRAIN_LANGUAGES) & set(phrases.TEST_ONLY_LANGUAGES)
    assert "en" in phrases.TRAIN_LANGUAGES
    with pytest.raises(ValueError, match="choose from"):
        phrases.family_of("tlh")


def test_test_speakers_draw_the_held_out_family_train_never():
    rng = np.random.default_rng(0)
    langs = {"de": "de", "fr": "fr-fr", "pl": "pl", "cs": "cs"}
    pool = {"f": ["f1", "f2"], "m": ["m1", "m2"]}
    taken: set[tuple] = set()
    train = speech_talkers.make_espeak_speakers("tr", 40, "train", pool, ["en-us"], langs, rng, taken)
    test = speech_talkers.make_espeak_speakers("tt", 40, "test", pool, ["en-us"], langs, rng, taken)
    assert not {s.language for s in train} & {"pl", "cs"}
    assert {s.language for s in test} >= {"en", "pl"}
    assert all(speech_talkers.WARP_RANGE[0] <= s.warp <= speech_talkers.WARP_RANGE[1] for s in train)
    assert len({(s.accent, s.variant, s.pitch, s.speed, s.warp) for s in train + test}) == 80


def test_warp_changes_duration_and_pitch():
    t = np.arange(SR) / SR
    x = np.sin(2 * np.pi * 200 * t)
    y = speech_corpus_warp(x, 1.1)
    assert y.size == pytest.approx(SR / 1.1, abs=2)
    f, p = sps.welch(y, SR, nperseg=4096)
    assert f[np.argmax(p)] == pytest.approx(220, abs=4)
    assert speech_power(y, SR) == pytest.approx(0.5, rel=0.02)


def speech_corpus_warp(x: np.ndarray, warp: float) -> np.ndarray:
    from seqgan.data.synth.speech import warp_resample

    return warp_resample(x, SR, warp, SR)


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_documents_and_checks_the_new_options(tmp_path, capsys):
    from seqgan.cli import main

    with pytest.raises(SystemExit):
        main(["data", "synth-speech", "--help"])
    text = capsys.readouterr().out
    for option in ("--reverb-fraction", "--band-fraction", "--clip-fraction", "--level-range"):
        assert option in text
    for option in ("--synthesizers", "--languages", "--no-recorded-noises", "early-reverberant"):
        assert option in text
    assert main(["data", "synth-speech", "--out", str(tmp_path / "c"), "--level-range", "loud"]) == 1
    assert "--level-range takes LOW,HIGH" in capsys.readouterr().err
    assert main(["data", "synth-speech", "--out", str(tmp_path / "c"), "--clip-fraction", "2"]) == 1
    assert "fraction must be between 0 and 1" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
