"""Speech-enhancement windows and utterances from a data directory."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.functional as AF
from torch.utils.data import DataLoader

from seqgan.data.audio import AudioFileError
from seqgan.data.scp import write_scp
from seqgan.data.se_dataset import SEUtterances, SEWindows, remix_gain
from seqgan.data.se_windows import WindowPlan

SR = 16000


def _make_dir(tmp_path, lengths, sr=SR, noise=False, seed=0, name="data"):
    """A data dir whose clean/noisy/noise files hold random float32 audio; returns (dir, signals)."""
    rng = np.random.default_rng(seed)
    d = tmp_path / name
    d.mkdir()
    wav, spk, nse, sig = {}, {}, {}, {}
    for i, n in enumerate(lengths):
        u = f"utt{i}"
        clean = (0.3 * rng.standard_normal(n)).astype(np.float32)
        nz = (0.1 * rng.standard_normal(n)).astype(np.float32)
        noisy = clean + nz
        sig[u] = (noisy, clean, nz)
        for table, x, kind in ((wav, noisy, "noisy"), (spk, clean, "clean"), (nse, nz, "noise")):
            path = tmp_path / f"{name}_{u}_{kind}.wav"
            sf.write(path, x, sr, subtype="FLOAT")
            table[u] = str(path)
    write_scp(d / "wav.scp", wav)
    write_scp(d / "spk1.scp", spk)
    if noise:
        write_scp(d / "noise1.scp", nse)
    return d, sig


def _emph(x, a=0.95):
    return np.concatenate([[x[0]], x[1:] - np.float32(a) * x[:-1]]).astype(np.float32)


def test_window_count_overlap_last_partial_dropped_and_short_file_padded(tmp_path):
    d, sig = _make_dir(tmp_path, [64, 100, 40, 160])
    ds = SEWindows(d, window=64, in_memory=False)  # hop defaults to 32
    assert ds.hop == 32
    # 64 -> 1; 100 -> 1 + 36 // 32 = 2; 40 -> 1 (padded); 160 -> 1 + 96 // 32 = 4
    assert len(ds) == 8
    assert [ds.locate(i) for i in range(len(ds))] == [
        ("utt0", 0),
        ("utt1", 0),
        ("utt1", 32),
        ("utt2", 0),
        ("utt3", 0),
        ("utt3", 32),
        ("utt3", 64),
        ("utt3", 96),
    ]
    # a window equals the same slice of the pre-emphasised file (continuity across the window start)
    item = ds[(6, 123)]
    assert item["clean"].shape == (1, 64) and item["clean"].dtype == torch.float32
    noisy, clean, _ = sig["utt3"]
    np.testing.assert_allclose(item["clean"][0].numpy(), _emph(clean)[64:128], atol=1e-6)
    np.testing.assert_allclose(item["noisy"][0].numpy(), _emph(noisy)[64:128], atol=1e-6)
    # the short file is zero-padded at the end
    short = ds[3]["clean"][0].numpy()
    np.testing.assert_allclose(short[:40], _emph(sig["utt2"][1]), atol=1e-6)
    assert np.all(short[40:] == 0)
    assert SEWindows(d, window=64, hop=64, in_memory=False).__len__() == 1 + 1 + 1 + 2


def test_streaming_equals_in_memory(tmp_path):
    d, _ = _make_dir(tmp_path, [300, 129, 50])
    a = SEWindows(d, window=64, hop=48, in_memory=False)
    b = SEWindows(d, window=64, hop=48, in_memory=True)
    assert a.in_memory is False and b.in_memory is True
    assert len(a) == len(b) == 1 + (300 - 64) // 48 + 2 + 1
    for i in range(len(a)):
        for k in ("noisy", "clean"):
            assert torch.equal(a[(i, 7)][k], b[(i, 7)][k])
    assert SEWindows(d, window=64, in_memory="auto").in_memory is True


def test_plain_index_is_seed_zero_and_negative_index(tmp_path):
    d, _ = _make_dir(tmp_path, [200], noise=True)
    ds = SEWindows(d, window=64, remix_snrs=[0, 5, 10], remix_prob=0.5, in_memory=True)
    assert torch.equal(ds[2]["noisy"], ds[(2, 0)]["noisy"])
    assert torch.equal(ds[-1]["clean"], ds[len(ds) - 1]["clean"])
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_resamples_48k_files(tmp_path, caplog):
    n48 = 4800 + 7
    d, sig = _make_dir(tmp_path, [n48], sr=48000)
    with caplog.at_level(logging.INFO, logger="seqgan.data.se_dataset"):
        mem = SEWindows(d, window=512, preemphasis=0.0, in_memory=True)
    assert "resampled to 16000 Hz" in caplog.text
    n16 = -(-n48 // 3)  # ceil
    assert mem.lengths[0] == n16
    assert len(mem) == 1 + (n16 - 512) // 256
    expected = AF.resample(torch.from_numpy(sig["utt0"][1]), 48000, 16000).numpy()
    assert len(expected) == n16
    np.testing.assert_allclose(mem[1]["clean"][0].numpy(), expected[256:768], atol=1e-6)
    stream = SEWindows(d, window=512, preemphasis=0.0, in_memory=False)
    for i in range(len(mem)):
        assert torch.equal(stream[i]["clean"], mem[i]["clean"])
    _, noisy, clean = SEUtterances(d, sample_rate=16000)[0]
    assert clean.shape == (1, n16)
    np.testing.assert_allclose(clean[0].numpy(), expected, atol=1e-6)


@pytest.mark.parametrize("with_noise_scp", [True, False])
def test_remix_snr_exact_and_deterministic_per_seed(tmp_path, with_noise_scp):
    d, sig = _make_dir(tmp_path, [400, 300, 500], noise=with_noise_scp)
    snrs = [-5.0, 0.0, 7.5]
    ds = SEWindows(d, window=128, preemphasis=0.0, remix_snrs=snrs, remix_prob=1.0, in_memory=False)
    noises = [s[2] for s in sig.values()]
    seen = set()
    for seed in range(12):
        item = ds[(3, seed)]
        clean, noisy = item["clean"][0].double().numpy(), item["noisy"][0].double().numpy()
        noise = noisy - clean
        snr = 10 * np.log10(np.mean(clean**2) / np.mean(noise**2))
        match = [s for s in snrs if abs(s - snr) < 1e-3]
        assert match, snr
        seen.add(match[0])
        # the added noise is a scaled slice of one utterance's noise
        ok = False
        for nz in noises:
            corr = np.correlate(nz.astype(np.float64), noise, mode="valid")
            k = int(np.argmax(np.abs(corr)))
            seg = nz[k : k + len(noise)]
            g = np.dot(seg, noise) / np.dot(seg, seg)
            ok |= np.allclose(g * seg, noise, atol=1e-4)
        assert ok
        again = ds[(3, seed)]
        assert torch.equal(again["noisy"], item["noisy"])  # same seed, same mixture
        assert torch.equal(item["clean"], ds[(3, seed + 100)]["clean"])  # clean never changes
    assert seen == set(snrs)
    assert not torch.equal(ds[(3, 0)]["noisy"], ds[(3, 1)]["noisy"])


def test_remix_prob_zero_keeps_recorded_noisy(tmp_path):
    d, _ = _make_dir(tmp_path, [300], noise=True)
    plain = SEWindows(d, window=128, in_memory=True)
    never = SEWindows(d, window=128, remix_snrs=[0.0], remix_prob=0.0, in_memory=True)
    half = SEWindows(d, window=128, remix_snrs=[0.0], remix_prob=0.5, in_memory=True)
    assert all(torch.equal(never[(1, s)]["noisy"], plain[1]["noisy"]) for s in range(5))
    remixed = [not torch.equal(half[(1, s)]["noisy"], plain[1]["noisy"]) for s in range(40)]
    assert 5 < sum(remixed) < 35


def test_multichannel_is_refused(tmp_path):
    d, sig = _make_dir(tmp_path, [200])
    path = tmp_path / "data_utt0_clean.wav"
    sf.write(path, np.stack([sig["utt0"][1]] * 2, axis=1), SR, subtype="FLOAT")
    with pytest.raises(AudioFileError, match=r"data_utt0_clean.wav: has 2 channels.*must be mono"):
        SEWindows(d, window=64)


def test_unreadable_audio_names_the_file(tmp_path):
    d, _ = _make_dir(tmp_path, [200])
    (tmp_path / "data_utt0_noisy.wav").write_bytes(b"not audio")
    with pytest.raises(AudioFileError, match="data_utt0_noisy.wav: not a readable audio file"):
        SEWindows(d, window=64)


def test_utterances_max_utts_and_lengths(tmp_path):
    d, sig = _make_dir(tmp_path, [100, 200, 150, 120, 90])
    utts = SEUtterances(d, max_utts=3)
    assert utts.ids == ["utt0", "utt2", "utt4"]  # evenly spaced over the sorted ids
    items = list(utts)
    assert [u for u, _, _ in items] == utts.ids
    u, noisy, clean = items[1]
    assert noisy.shape == clean.shape == (1, 150)
    np.testing.assert_array_equal(clean[0].numpy(), sig["utt2"][1])
    assert len(SEUtterances(d)) == len(SEUtterances(d, max_utts=0)) == 5


def test_non_finite_samples_name_the_file(tmp_path):
    d, sig = _make_dir(tmp_path, [200])
    bad = sig["utt0"][1].copy()
    bad[150] = np.nan
    sf.write(tmp_path / "data_utt0_clean.wav", bad, SR, subtype="FLOAT")
    ds = SEWindows(d, window=64, in_memory=False)
    ds[0]  # samples 0..63 are fine
    with pytest.raises(
        AudioFileError, match=r"data_utt0_clean.wav: non-finite sample \(NaN or Inf\) at frame 150"
    ):
        ds[3]  # window 96..159
    with pytest.raises(AudioFileError, match="non-finite"):
        SEWindows(d, window=64, in_memory=True)


def _unequal_dir(tmp_path):
    """Utterances with noisy longer than clean, a noise shorter than a window, and a silent clean file."""
    rng = np.random.default_rng(3)
    d = tmp_path / "unequal"
    d.mkdir()
    wav, spk, nse = {}, {}, {}
    for i, (n_noisy, n_clean, n_noise, silent) in enumerate(
        [(300, 290, 20, False), (64, 64, 400, False), (40, 45, 64, False), (130, 130, 3, True)]
    ):
        u = f"u{i}"
        clean = (
            np.zeros(n_clean, np.float32)
            if silent
            else (0.3 * rng.standard_normal(n_clean)).astype(np.float32)
        )
        for table, x, kind in (
            (wav, (0.2 * rng.standard_normal(n_noisy)).astype(np.float32), "noisy"),
            (spk, clean, "clean"),
            (nse, (0.1 * rng.standard_normal(n_noise)).astype(np.float32), "noise"),
        ):
            path = tmp_path / f"unequal_{u}_{kind}.wav"
            sf.write(path, x, SR, subtype="FLOAT")
            table[u] = str(path)
    write_scp(d / "wav.scp", wav)
    write_scp(d / "spk1.scp", spk)
    return d, nse


@pytest.mark.parametrize("noise_scp", [False, True])
@pytest.mark.parametrize("preemphasis", [0.95, 0.0])
@pytest.mark.parametrize("remix", [False, True])
def test_device_batches_equal_loader_items(tmp_path, noise_scp, preemphasis, remix):
    d, nse = _unequal_dir(tmp_path)
    if noise_scp:
        write_scp(d / "noise1.scp", nse)
    ds = SEWindows(
        d,
        window=64,
        hop=24,
        preemphasis=preemphasis,
        remix_snrs=[-5.0, 0.0, 10.0] if remix else None,
        remix_prob=0.7,
        in_memory=False,
    )
    batches = ds.on_device("cpu")
    assert ds.in_memory is False and batches.nbytes > 0  # decoded for the device, not for the loader
    keys = [(i % len(ds), 1000 + 7 * i) for i in range(3 * len(ds))]
    got = batches(keys)
    want = {name: torch.stack([ds[k][name] for k in keys]) for name in ("noisy", "clean")}
    for name in ("noisy", "clean"):
        assert got[name].shape == want[name].shape == (len(keys), 1, 64)
        torch.testing.assert_close(got[name], want[name], atol=2e-6, rtol=1e-5)
        # one definition: on the host the device batch is the loader's bit for bit, per item or per batch
        assert torch.equal(got[name], want[name])
        assert torch.equal(torch.stack([item[name] for item in ds.__getitems__(keys)]), want[name])
    if remix:  # some examples were remixed, some not
        plans = [ds.remix_plan(s) for _, s in keys]
        assert any(p is None for p in plans) and any(p is not None for p in plans)
    with pytest.raises(IndexError, match="out of range"):
        batches([(len(ds), 0)])


def test_plan_fields_are_named_and_typed(tmp_path):
    d, nse = _unequal_dir(tmp_path)
    write_scp(d / "noise1.scp", nse)
    ds = SEWindows(d, window=64, hop=24, remix_snrs=[10.0], remix_prob=0.5, in_memory=True)
    assert [ds.locate(i)[0] for i in (10, 11, len(ds) - 1)] == ["u1", "u2", "u3"]
    keys = [(0, 1), (11, 2), (len(ds) - 1, 3), (-1, 4), (5, 5), (6, 6)]
    plan = ds.plan(keys)
    assert isinstance(plan, WindowPlan)
    for name in (
        "utt",
        "start",
        "valid",
        "remixed",
        "noise_utt",
        "noise_start",
        "noise_period",
        "noise_skip",
    ):
        assert getattr(plan, name).dtype == torch.int64, name
    # a file's first window reads a zero before it; u2 (40 samples) is shorter than a window
    assert plan.utt.tolist() == [0, 2, 3, 3, 0, 0]
    assert plan.start.tolist()[:4] == [-1, -1, 47, 47] and plan.valid.tolist() == [65, 41, 65, 65, 65, 65]
    assert plan.short is True
    # the remixed examples, in batch order, and theirs alone the noise fields
    drawn = [ds.remix_plan(seed) for _, seed in keys]
    remixed = [i for i, p in enumerate(drawn) if p is not None]
    assert 0 < len(remixed) < len(keys) and plan.remixed.tolist() == remixed
    assert plan.snr_power.dtype == torch.float64 and torch.equal(
        plan.snr_power, torch.full((len(remixed),), 10.0)
    )
    assert plan.noise_utt.tolist() == [drawn[i][1] for i in remixed]
    assert plan.noise_start.tolist() == [drawn[i][2] for i in remixed]
    assert plan.noise_skip.tolist() == [65 - plan.valid.tolist()[i] for i in remixed]
    # a noise shorter than window + 1 repeats: its period is its length (u0: 20, u3: 3 samples)
    lengths = [20, 400, 64, 3]
    assert plan.noise_period.tolist() == [min(65, lengths[v]) for v in plan.noise_utt.tolist()]
    assert plan.repeat == any(lengths[v] < 65 for v in plan.noise_utt.tolist())
    assert plan.to(torch.device("cpu")) is plan
    plain = SEWindows(d, window=64, hop=24, in_memory=True).plan(keys[2:3])
    assert plain.remixed.numel() == plain.snr_power.numel() == 0 and not plain.repeat and not plain.short


def test_remix_gain_values():
    assert remix_gain(4.0, 1.0, 0.0) == 2.0  # sqrt(4 / 1)
    assert remix_gain(1.0, 1.0, 20.0) == pytest.approx(0.1, rel=1e-15)
    assert remix_gain(1.0, 0.0, 0.0) == 0.0  # no noise: nothing to add
    assert remix_gain(1e-12, 1.0, 0.0) == 1.0  # silent clean: the noise keeps its level


def test_streaming_reads_only_what_a_window_uses(tmp_path):
    """A remixed example never reads its recorded noisy file (a NaN there is never met)."""
    d, sig = _make_dir(tmp_path, [200], noise=True)
    bad = sig["utt0"][0].copy()
    bad[10] = np.nan
    sf.write(tmp_path / "data_utt0_noisy.wav", bad, SR, subtype="FLOAT")
    ds = SEWindows(d, window=64, remix_snrs=[0.0], remix_prob=1.0, in_memory=False)
    item = ds[(0, 5)]
    assert torch.isfinite(item["noisy"]).all()
    with pytest.raises(AudioFileError, match="non-finite"):
        SEWindows(d, window=64, in_memory=False)[0]


def test_loader_batches_through_getitems(tmp_path):
    d, _ = _make_dir(tmp_path, [300, 200], noise=True)
    ds = SEWindows(d, window=64, remix_snrs=[0.0, 5.0], remix_prob=0.5, in_memory=False)
    keys = [[(i, 10 + i) for i in range(len(ds))]]
    (batch,) = list(DataLoader(ds, batch_sampler=keys))
    for name in ("noisy", "clean"):
        assert batch[name].shape == (len(ds), 1, 64)
        assert torch.equal(batch[name], torch.stack([ds[k][name] for k in keys[0]]))
