"""LLR, WSS, segmental SNR and the composite formulas (seqgan/metrics/composite.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seqgan.metrics.composite import (
    composite_from_measures,
    composite_measures,
    llr,
    loizou_frames,
    lpc_autocorrelation,
    segmental_snr,
    wss,
)

SR = 16000
EPS = np.finfo(np.float64).eps


# --- a literal, loop-by-loop transcription of the published frame measures (Loizou 2007, ch. 10), used to
# --- check the vectorised implementation; 0-based indices, otherwise step for step.


def _frames_literal(x, sr):
    win = round(30 * sr / 1000)
    hop = win // 4
    window = np.array([0.5 * (1 - math.cos(2 * math.pi * n / (win + 1))) for n in range(1, win + 1)])
    n_frames = math.floor(len(x) / hop - win / hop)
    return [x[i * hop : i * hop + win] * window for i in range(n_frames)]


def _lpc_literal(frame, order):
    r = [float(np.sum(frame[: len(frame) - k] * frame[k:])) for k in range(order + 1)]
    a = [1.0] * order  # predictor coefficients a_1..a_P (error filter [1, -a])
    e = [r[0]]
    for i in range(order):
        past = a[:i]
        acc = sum(past[j] * r[i - j] for j in range(i))
        k = (r[i + 1] - acc) / e[i]
        a[i] = k
        for j in range(i):
            a[j] = past[j] - k * past[i - 1 - j]
        e.append((1 - k * k) * e[i])
    return np.array(r), np.array([1.0] + [-c for c in a])


def _llr_literal(ref, est, sr):
    order = 10 if sr < 10000 else 16
    dist = []
    for fc, fe in zip(_frames_literal(ref, sr), _frames_literal(est, sr)):
        r_c, a_c = _lpc_literal(fc, order)
        _, a_e = _lpc_literal(fe, order)
        toe = np.array([[r_c[abs(i - j)] for j in range(order + 1)] for i in range(order + 1)])
        dist.append(math.log((a_e @ toe @ a_e) / (a_c @ toe @ a_c)))
    dist = sorted(dist)
    return float(np.mean(dist[: round(len(dist) * 0.95)]))


BANDS = [50.0, 120.0, 190.0, 260.0, 330.0, 400.0, 470.0, 540.0, 617.372, 703.378, 798.717, 904.128, 1020.38,
         1148.30, 1288.72, 1442.54, 1610.70, 1794.16, 1993.93, 2211.08, 2446.71, 2701.97, 2978.04, 3276.17,
         3597.63]  # fmt: skip
WIDTHS = [70.0] * 7 + [77.3724, 86.0056, 95.3398, 105.411, 116.256, 127.914, 140.423, 153.823, 168.154, 183.457,
                       199.776, 217.153, 235.631, 255.255, 276.072, 298.126, 321.465, 346.136]  # fmt: skip


def _wss_literal(ref, est, sr):
    win = round(30 * sr / 1000)
    n_fft = 2 ** math.ceil(math.log2(2 * win))
    half = n_fft // 2
    filt = np.zeros((25, half))
    for i in range(25):
        f0 = BANDS[i] / (sr / 2) * half
        bw = WIDTHS[i] / (sr / 2) * half
        norm = math.log(WIDTHS[0]) - math.log(WIDTHS[i])
        for j in range(half):
            v = math.exp(-11 * ((j - math.floor(f0)) / bw) ** 2 + norm)
            filt[i, j] = v if v > math.exp(-30 / (2 * 2.303)) else 0.0
    dist = []
    for fc, fe in zip(_frames_literal(ref, sr), _frames_literal(est, sr)):
        energies, slopes, peaks = [], [], []
        for frame in (fc, fe):
            spec = np.abs(np.fft.fft(frame, n_fft)) ** 2
            en = 10 * np.log10(np.maximum(filt @ spec[:half], 1e-10))
            sl = en[1:] - en[:-1]
            pk = np.zeros(24)
            for i in range(24):
                n = i
                if sl[i] > 0:
                    while n < 24 and sl[n] > 0:
                        n += 1
                    pk[i] = en[n - 1]
                else:
                    while n >= 0 and sl[n] <= 0:
                        n -= 1
                    pk[i] = en[n + 1]
            energies.append(en)
            slopes.append(sl)
            peaks.append(pk)
        w = 0.0
        for en, pk in zip(energies, peaks):
            w = w + 0.5 * (20 / (20 + en.max() - en[:24])) * (1 / (1 + pk - en[:24]))
        dist.append(np.sum(w * (slopes[0] - slopes[1]) ** 2) / np.sum(w))
    dist = sorted(dist)
    return float(np.mean(dist[: round(len(dist) * 0.95)]))


def _pair(seed=0, n=4000, snr_db=5.0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    ref = np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t)) + 0.3 * rng.standard_normal(n)
    noise = rng.standard_normal(n)
    est = ref + noise * np.sqrt(np.mean(ref**2) / 10 ** (snr_db / 10))
    return ref, est


@pytest.mark.parametrize("sr", [16000, 8000])
def test_llr_and_wss_match_literal_transcription(sr):
    ref, est = _pair(seed=3, n=sr // 4)
    ref_e, est_e = ref + EPS, est + EPS
    assert llr(ref, est, sr) == pytest.approx(_llr_literal(ref_e, est_e, sr), rel=1e-9, abs=1e-12)
    assert wss(ref, est, sr) == pytest.approx(_wss_literal(ref_e, est_e, sr), rel=1e-9, abs=1e-12)


def test_wss_literal_on_speech(speech):
    ref = speech[:8000]
    rng = np.random.default_rng(5)
    est = ref + 0.05 * rng.standard_normal(ref.size)
    assert wss(ref, est, SR) == pytest.approx(_wss_literal(ref + EPS, est + EPS, SR), rel=1e-9)
    assert llr(ref, est, SR) == pytest.approx(_llr_literal(ref + EPS, est + EPS, SR), rel=1e-9)


def test_lpc_is_the_least_squares_predictor():
    # the autocorrelation-method LPC minimises a' R a with a[0] = 1: compare with a direct solve
    ref, _ = _pair(seed=1)
    frames = loizou_frames(ref, SR)[:5]
    r, a = lpc_autocorrelation(frames, 16)
    for f in range(5):
        toe = r[f][np.abs(np.arange(17)[:, None] - np.arange(17)[None, :])]
        direct = np.linalg.solve(toe[1:, 1:], -toe[1:, 0])
        np.testing.assert_allclose(a[f, 1:], direct, rtol=1e-6, atol=1e-9)


def test_frame_count_follows_the_published_convention():
    win, hop = 480, 120
    assert loizou_frames(np.ones(win), SR).shape == (0, win)
    assert loizou_frames(np.ones(win + hop), SR).shape == (1, win)
    assert loizou_frames(np.ones(win + 10 * hop + 7), SR).shape == (10, win)
    assert loizou_frames(np.ones(240 + 60 * 3), 8000).shape == (3, 240)


def test_identical_signals_are_perfect():
    ref, _ = _pair()
    assert llr(ref, ref, SR) == pytest.approx(0.0, abs=1e-10)
    assert wss(ref, ref, SR) == pytest.approx(0.0, abs=1e-10)
    assert segmental_snr(ref, ref, SR) == 35.0


def test_llr_is_never_negative_and_grows_with_noise():
    ref, _ = _pair()
    values = [llr(ref, _pair(seed=0, snr_db=snr)[1], SR) for snr in (30, 15, 5, 0)]
    assert all(v >= 0 for v in values)
    assert values == sorted(values)


def test_ssnr_clip_bounds():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal(SR)
    assert segmental_snr(ref, ref, SR) == 35.0  # every frame at the upper clip
    loud_noise = 100 * rng.standard_normal(SR)  # about -40 dB per frame
    assert segmental_snr(ref, loud_noise, SR) == -10.0
    # a comparable independent noise: about -3 dB per frame (noise energy = 2x signal), inside the bounds
    assert segmental_snr(ref, rng.standard_normal(SR), SR) == pytest.approx(-3.0, abs=0.5)
    # a constant gain error g per frame: SNR = -20 log10|1 - g|
    assert segmental_snr(ref, 0.9 * ref, SR) == pytest.approx(20.0, abs=1e-6)


def test_ssnr_truncates_to_the_shorter_signal():
    rng = np.random.default_rng(1)
    ref = rng.standard_normal(SR)
    est = np.concatenate([0.9 * ref, rng.standard_normal(SR)])
    assert segmental_snr(ref, est, SR) == pytest.approx(20.0, abs=1e-6)


def test_too_short_signals_raise():
    with pytest.raises(ValueError, match="too short"):
        segmental_snr(np.ones(400), np.ones(400), SR)
    with pytest.raises(ValueError, match="no analysable frames"):
        llr(np.ones(400), np.ones(400), SR)


def test_digital_silence_stays_finite():
    x = np.zeros(SR)
    x[SR // 2 :] = np.random.default_rng(0).standard_normal(SR // 2)
    assert math.isfinite(llr(x, x, SR)) and math.isfinite(wss(x, x, SR))
    # silent reference frames count as -10 dB (no VAD, as published), the rest as 35 dB
    assert -10.0 < segmental_snr(x, x, SR) < 35.0


def test_composite_formulas_known_values():
    got = composite_from_measures(llr=0.5, wss=30.0, pesq=2.5, segsnr=5.0)
    assert got["csig"] == pytest.approx(3.093 - 1.029 * 0.5 + 0.603 * 2.5 - 0.009 * 30)  # 3.816
    assert got["cbak"] == pytest.approx(1.634 + 0.478 * 2.5 - 0.007 * 30 + 0.063 * 5)  # 2.934
    assert got["covl"] == pytest.approx(1.594 + 0.805 * 2.5 - 0.512 * 0.5 - 0.007 * 30)  # 3.1405
    assert got == pytest.approx({"csig": 3.816, "cbak": 2.934, "covl": 3.1405})


def test_composite_formulas_clip_to_1_5():
    assert composite_from_measures(0.0, 0.0, 4.64, 35.0) == {"csig": 5.0, "cbak": 5.0, "covl": 5.0}
    assert composite_from_measures(2.0, 100.0, 1.0, -10.0) == {"csig": 1.0, "cbak": 1.0, "covl": 1.0}
    # just inside: CSIG 3.093 - 1.029 + 0.603 * 1.5 - 0 = 2.9685 is not clipped
    assert composite_from_measures(1.0, 0.0, 1.5, 0.0)["csig"] == pytest.approx(2.9685)


def test_composite_measures_uses_the_given_pesq(speech):
    ref = speech[:SR]
    values = composite_measures(ref, ref, SR, pesq_wb=2.0)
    expected = composite_from_measures(values["llr"], values["wss"], 2.0, values["ssnr"])
    assert {k: values[k] for k in ("csig", "cbak", "covl")} == expected
    assert values["llr"] == pytest.approx(0.0, abs=1e-10) and values["ssnr"] == 35.0
