"""A family of synthetic noises for the synthetic noisy-speech corpus (numpy, seeded).

Every generator returns a float64 ``(num_samples,)`` signal scaled to unit RMS; the mixer sets the
level. All randomness comes from the ``numpy.random.Generator`` passed in, so the same generator state
gives the same noise.

Like VoiceBank-DEMAND (10 noise types for training, 5 other types for testing), :data:`TRAIN_NOISES`
are used for the training and development sets and :data:`TEST_NOISES` are held out for the test set:

* train: ``white``, ``pink`` (−3 dB/octave), ``brown`` (−6 dB/octave), ``babble`` (3–6 synthetic
  talkers), ``hum50`` (50 Hz mains hum with harmonics), ``engine`` (firing-rate harmonics over
  amplitude-modulated rumble), ``fan`` (band-limited noise with blade-rate modulation), ``clicks``
  (impulsive, keyboard-like), ``music`` (plucked notes on a pentatonic scale with a bass line),
  ``tones`` (steady whistles with vibrato);
* test: ``hum60`` (60 Hz mains hum), ``cafe`` (babble with clinking dishes), ``siren`` (wailing,
  yelping or two-tone FM), ``rain`` (dense droplets over a high-passed bed), ``traffic`` (rumble with
  passing vehicles).

``babble`` and ``cafe`` are built from speech: pass ``talkers`` (waveforms at the same sample rate,
spoken by speakers that are not in the split being mixed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
from scipy import signal as sps

from seqgan.registry import Registry

NoiseFn = Callable[..., np.ndarray]
NOISES: Registry[NoiseFn] = Registry("noise type")

TRAIN_NOISES: tuple[str, ...] = tuple("white pink brown babble hum50 engine fan clicks music tones".split())
TEST_NOISES: tuple[str, ...] = ("hum60", "cafe", "siren", "rain", "traffic")
NOISE_KINDS: tuple[str, ...] = TRAIN_NOISES + TEST_NOISES
SPEECH_NOISES: frozenset[str] = frozenset({"babble", "cafe"})


def make_noise(
    kind: str,
    num_samples: int,
    sample_rate: int,
    rng: np.random.Generator,
    *,
    talkers: Sequence[np.ndarray] | None = None,
) -> np.ndarray:
    """Generate ``num_samples`` of noise of type ``kind`` at unit RMS.

    Args:
        kind: one of :data:`NOISE_KINDS`.
        num_samples: length of the result.
        sample_rate: sampling rate in Hz.
        rng: the source of all randomness.
        talkers: for ``babble`` and ``cafe``: speech waveforms ``(samples,)`` at ``sample_rate``.

    Returns:
        ``(num_samples,)`` float64 noise with ``mean(x ** 2) == 1``.
    """
    fn = NOISES.get(kind)
    if num_samples <= 0:
        raise ValueError(f"make_noise: num_samples must be positive, got {num_samples}")
    if kind in SPEECH_NOISES and not talkers:
        raise ValueError(
            f"make_noise: '{kind}' noise is built from speech; pass talkers=[waveform, ...] "
            f"at {sample_rate} Hz from speakers outside the split being mixed"
        )
    out = fn(num_samples, sample_rate, rng, talkers=talkers)
    return _unit(out)


# ----------------------------------------------------------------------------------------------- helpers


def _unit(x: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(x * x)))
    if rms <= 0.0 or not np.isfinite(rms):
        raise ValueError("noise generator produced silence or non-finite values")
    return x / rms


def colored_noise(
    num_samples: int, sample_rate: int, rng: np.random.Generator, exponent: float, f_min: float = 20.0
) -> np.ndarray:
    """Gaussian noise with power spectral density proportional to ``f ** -exponent``.

    ``exponent`` 0 is white, 1 pink (−3.01 dB/octave), 2 brown (−6.02 dB/octave), −1 blue. The
    spectrum is held flat below ``f_min`` (and zero at DC) so the signal does not drift.

    Args:
        num_samples: length of the result.
        sample_rate: sampling rate in Hz.
        rng: the source of randomness.
        exponent: spectral exponent.
        f_min: corner frequency in Hz below which the spectrum is flat.

    Returns:
        ``(num_samples,)`` float64 noise at unit RMS.
    """
    white = rng.standard_normal(num_samples)
    if exponent == 0:
        return _unit(white)
    spec = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(num_samples, 1.0 / sample_rate)
    shape = np.maximum(freqs, f_min) ** (-exponent / 2.0)
    shape[0] = 0.0
    return _unit(np.fft.irfft(spec * shape, n=num_samples))


def _filtered(x: np.ndarray, sample_rate: int, btype: str, cutoff, order: int = 4) -> np.ndarray:
    nyq = sample_rate / 2.0
    wn = np.clip(np.asarray(cutoff, dtype=np.float64) / nyq, 1e-4, 0.999)
    sos = sps.butter(order, wn, btype=btype, output="sos")
    return sps.sosfilt(sos, x)


def _harmonics(cycles: np.ndarray, amps: np.ndarray, phases: np.ndarray | None = None) -> np.ndarray:
    """``sum_k amps[k-1] * sin(2 pi k cycles + phases[k-1])``, one period tabulated then interpolated.

    ``cycles`` counts periods of the fundamental (e.g. ``f0 * t``); a 4096-point table keeps the
    interpolation error below -60 dB up to the 50th harmonic at a fraction of the cost of ``sin``.
    """
    amps = np.asarray(amps, dtype=np.float64)
    phases = np.zeros_like(amps) if phases is None else np.asarray(phases, dtype=np.float64)
    u = np.arange(4097) / 4096.0
    k = np.arange(1, amps.size + 1)[:, None]
    table = (amps[:, None] * np.sin(2 * np.pi * k * u + phases[:, None])).sum(axis=0)
    return np.interp(np.mod(cycles, 1.0), u, table)


def _time(num_samples: int, sample_rate: int) -> np.ndarray:
    return np.arange(num_samples) / sample_rate


def _decaying_burst(rng: np.random.Generator, length: int) -> np.ndarray:
    env = np.exp(-np.arange(length) / max(1.0, length / 5.0))
    return rng.standard_normal(length) * env


def _scatter(out: np.ndarray, start: int, burst: np.ndarray) -> None:
    end = min(out.size, start + burst.size)
    if end > start:
        out[start:end] += burst[: end - start]


def _babble_mix(num_samples: int, rng: np.random.Generator, talkers: Sequence[np.ndarray]) -> np.ndarray:
    count = int(min(len(talkers), rng.integers(3, 7)))
    chosen = rng.choice(len(talkers), size=count, replace=False)
    out = np.zeros(num_samples)
    for i in chosen:
        voice = np.asarray(talkers[int(i)], dtype=np.float64)
        start = int(rng.integers(voice.size))
        seg = np.take(voice, np.arange(start, start + num_samples), mode="wrap")
        rms = float(np.sqrt(np.mean(voice * voice))) or 1.0
        out += seg / rms * 10.0 ** (rng.uniform(-4.0, 4.0) / 20.0)
    return out


# ------------------------------------------------------------------------------------- broadband noises


@NOISES.register("white")
def _white(n: int, sr: int, rng: np.random.Generator, talkers=None) -> np.ndarray:
    return colored_noise(n, sr, rng, 0.0)


@NOISES.register("pink")
def _pink(n: int, sr: int, rng: np.random.Generator, talkers=None) -> np.ndarray:
    return colored_noise(n, sr, rng, 1.0)


@NOISES.register("brown")
def _brown(n: int, sr: int, rng: np.random.Generator, talkers=None) -> np.ndarray:
    return colored_noise(n, sr, rng, 2.0)


# ---------------------------------------------------------------------------------------- speech noises


@NOISES.register("babble")
def _babble(n: int, sr: int, rng: np.random.Generator, talkers=None) -> np.ndarray:
    return _babble_mix(n, rng, talkers)


@NOISES.register("cafe")
def _cafe(n: int, sr: int, rng: np.random.Generator, talkers=None) -> np.ndarray:
    crowd = _unit(_babble_mix(n, rng, talkers))
    clinks = np.zeros(n)
    count = max(1, int(rng.poisson(rng.uniform(0.8, 3.0) * n / sr)))
    for _ in range(count):
        length = int(sr * rng.uniform(0.08, 0.3))
        t = np.arange(length) / sr
        tau = rng.uniform(0.02, 0.08)
        partials = rng.uniform(2000.0, min(7000.0, 0.45 * sr), size=int(rng.integers(2, 4)))
        ring = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) for f in partials)
        _scatter(clinks, int(rng.integers(n)), ring * np.exp(-t / tau) * rng.uniform(0.5, 2.0))
    bed = colored_noise(n, sr, rng, 1.0)
    return crowd + 0.6 * clinks + 0.1 * bed


# ------------------------------------------------------------------------------ mains hum and machinery


def _hum(n: int, sr: int, rng: np.random.Generator, talkers=None, mains: float = 50.0) -> np.ndarray:
    f0 = mains * (1.0 + rng.uniform(-0.004, 0.004))
    t = _time(n, sr)
    k = np.arange(1, int(min(2500.0, 0.45 * sr) // f0) + 1)
    # transformer buzz: odd harmonics stronger, roughly 1/k roll-off
    amps = rng.uniform(0.3, 1.0, k.size) / k ** rng.uniform(0.6, 1.2, k.size) * np.where(k % 2 == 1, 2.0, 1.0)
    out = _harmonics(f0 * t, amps, rng.uniform(0, 2 * np.pi, k.size))
    wobble = 1.0 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t + rng.uniform(0, 2 * np.pi))
    return _unit(out * wobble) + 0.03 * rng.standard_normal(n)


NOISES.register("hum50")(partial(_hum, mains=50.0))
NOISES.register("hum60")(partial(_hum, mains=60.0))


@NOISES.register("engine")
def _engine(n: int, sr: int, rng: np.random.Generator, talkers=None) -> np.ndarray:
    t = _time(n, sr)
    f_fire = rng.uniform(20.0, 55.0) * (1.0 + 0.05 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t))
    phase = 2 * np.pi * np.cumsum(f_fire) / sr
    k = np.arange(1, 13)
    harm = _harmonics(
        phase / (2 * np.pi), rng.uniform(0.2, 1.0, k.size) / k, rng.uniform(0, 2 * np.pi, k.size)
    )
    rumble = _filtered(rng.standard_normal(n), sr, "lowpass", rng.uniform(200.0, 600.0))
    rumble *= 1.0 + rng.uniform(0.3, 0.8) * np.sin(phase)
    return _unit(harm) + rng.uniform(0.5, 1.5) * _unit(rumble)


@NOISES.register("fan")
def _fan(n: int, sr: int, rng: np.random.Generator, talkers=None) -> np.ndarray:
    t = _time(n, sr)
    centre = rng.uniform(300.0, 2000.0)
    band = _unit(_filtered(rng.standard_normal(n), sr, "bandpass", (centre / 1.6, centre * 1.6), order=2))
    blade_rate = rng.uniform(3.0, 15.0)
    band *= 1.0 + rng.uniform(0.2, 0.5) * np.sin(2 * np.pi * blade_rate * t)
    blade_pass = blade_rate * int(rng.integers(3, 8))
    tone = _harmonics(blade_pass * t, 1.0 / np.arange(1, 4), rng.uniform(0, 2 * np.pi, 3))
    return band + 0.2 * _unit(tone) + 0.3 * colored_noise(n, sr, rng, 1.0)


@NOISES.register("traffic")
def _traffic(n: int, sr: int, rng: np.random.Generator, talkers=None) -> np.ndarray:
    t = _time(n, sr)
    duration = n / sr
    bed = _filtered(colored_noise(n, sr, rng, 2.0), sr, "lowpass", 1500.0)
    out = 0.5 * _unit(bed)
    for _ in range(1 + int(rng.poisson(duration / 2.5))):
        centre, width = rng.uniform(-1.0, duration + 1.0), rng.uniform(0.6, 2.0)
        env = np.exp(-0.5 * ((t - centre) / width) ** 2)
        body = _unit(_filtered(rng.standard_normal(n), sr, "bandpass", (80.0, rng.uniform(800.0, 2500.0)), 2))
        # engine tone falling as the vehicle passes (Doppler)
        f = rng.uniform(60.0, 140.0) * (1.0 - 0.06 * np.tanh((t - centre) / 0.5))
        tone = np.sin(2 * np.pi * np.cumsum(f) / sr)
        out += env * rng.uniform(0.8, 2.0) * (body + 0.3 * tone)
    return out


# ------------------------------------------------------------------------------------ impulsive noises


@NOISES.register("clicks")
def _clicks(n: int, sr: int, rng: np.random.Generator, talkers=None) -> np.ndarray:
    out = np.zeros(n)
    count = max(1, int(rng.poisson(rng.uniform(3.0, 12.0) * n / sr)))
    for _ in range(count):
        burst = _decaying_burst(rng, int(sr * rng.uniform(0.001, 0.006)))
        _scatter(out, int(rng.integers(n)), burst * rng.lognormal(0.0, 0.5))
    out = _filtered(out, sr, "highpass", rng.uniform(500.0, 1500.0), order=2)
    # a faint hiss between clicks, 40 dB below them
    return _unit(out) + 0.01 * rng.standard_normal(n)


@NOISES.register("rain")
def _rain(n: int, sr: int, rng: np.random.Generator, talkers=None) -> np.ndarray:
    drops = np.zeros(n)
    count = int(rng.poisson(rng.uniform(300.0, 1500.0) * n / sr)) + 1
    positions = rng.integers(n, size=count)
    # four droplet shapes, each convolved with its own sparse impulse train
    for group in range(4):
        train = np.zeros(n)
        sel = positions[group::4]
        np.add.at(train, sel, rng.lognormal(0.0, 1.0, size=sel.size))
        drops += sps.fftconvolve(train, _decaying_burst(rng, int(sr * rng.uniform(0.0005, 0.002))))[:n]
    drops = _filtered(drops, sr, "highpass", 1000.0, order=2)
    bed = _filtered(colored_noise(n, sr, rng, 1.0), sr, "highpass", 400.0, order=2)
    return _unit(drops) + rng.uniform(0.3, 0.7) * _unit(bed)


# ---------------------------------------------------------------------------------------- tonal noises


@NOISES.register("tones")
def _tones(n: int, sr: int, rng: np.random.Generator, talkers=None) -> np.ndarray:
    t = _time(n, sr)
    out = np.zeros(n)
    for _ in range(int(rng.integers(1, 5))):
        f = np.exp(rng.uniform(np.log(200.0), np.log(min(4000.0, 0.4 * sr))))
        vibrato = 1.0 + rng.uniform(0.0, 0.01) * np.sin(2 * np.pi * rng.uniform(3.0, 7.0) * t)
        out += rng.uniform(0.3, 1.0) * np.sin(
            2 * np.pi * np.cumsum(f * vibrato) / sr + rng.uniform(0, 2 * np.pi)
        )
    return out + 0.01 * rng.standard_normal(n)


@NOISES.register("music")
def _music(n: int, sr: int, rng: np.random.Generator, talkers=None) -> np.ndarray:
    beat = 60.0 / rng.uniform(80.0, 160.0)
    root = int(rng.integers(55, 67))  # MIDI note of the melody's tonic
    scale = (
        np.array([0, 2, 4, 7, 9, 12, 14, 16])
        if rng.random() < 0.5
        else np.array([0, 3, 5, 7, 10, 12, 15, 17])
    )
    out = np.zeros(n)
    # (octave shift, note length in beats, level): melody and bass
    for shift, lengths, level in ((0, (0.5, 1.0), 1.0), (-24, (1.0, 2.0), 0.8)):
        pos, tau = 0.0, rng.uniform(0.2, 0.6)
        while pos * sr < n:
            length = beat * float(rng.choice(lengths))
            midi = root + shift + int(rng.choice(scale))
            f0 = 440.0 * 2.0 ** ((midi - 69) / 12.0)
            size = int(min(length + 4 * tau, 3.0) * sr)
            t = np.arange(size) / sr
            env = np.minimum(t / 0.01, 1.0) * np.exp(-t / tau)
            k = np.arange(1, 7)
            note = _harmonics(f0 * t, np.where(k * f0 < 0.45 * sr, 1.0 / k**1.5, 0.0))
            _scatter(out, int(pos * sr), level * rng.uniform(0.6, 1.0) * env * note)
            pos += length
    return out + 0.005 * rng.standard_normal(n)


@NOISES.register("siren")
def _siren(n: int, sr: int, rng: np.random.Generator, talkers=None) -> np.ndarray:
    t = _time(n, sr)
    fc, depth = rng.uniform(600.0, 1000.0), rng.uniform(250.0, 500.0)
    style = int(rng.integers(3))
    if style == 0:  # wail: slow sinusoidal sweep
        f = fc + depth * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t)
    elif style == 1:  # yelp: fast rising sawtooth sweep
        f = fc - depth + 2 * depth * ((t * rng.uniform(2.0, 4.0)) % 1.0)
    else:  # hi-lo: two alternating tones
        f = fc + depth * np.sign(np.sin(2 * np.pi * rng.uniform(0.5, 1.0) * t))
    phase = 2 * np.pi * np.cumsum(f) / sr
    tone = _harmonics(phase / (2 * np.pi), 1.0 / np.arange(1, 5))
    return _unit(tone) + 0.1 * colored_noise(n, sr, rng, 1.0)
