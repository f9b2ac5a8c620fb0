"""One utterance of the synthetic noisy-speech corpus: speech, room, noise, channel, level.

The chain, each step drawn from the utterance's own random streams:

1. a sentence of the speaker's language, synthesised, with random leading / trailing pauses;
2. on a fraction of utterances, a synthetic room (:mod:`seqgan.data.synth.reverb`): the input is
   the reverberant speech, the **clean target the early-reverberant speech** (direct path and the
   first 50 ms of reflections); otherwise both are the dry speech. A -75 dBFS Gaussian floor keeps
   the clean file from ever being digital zero;
3. the noise (synthetic or recorded) scaled to the SNR against the clean target;
4. on a fraction, a telephone / 8 kHz band limit on the input *and* the target;
5. the input's active level set to a random value in ``level_range_db`` (target and noise scaled
   by the same gain), then one common gain down if a peak would pass 0.95;
6. on a fraction, clipping of the input at 25-70 % of its peak (the target stays unclipped).

``noise.wav`` is ``noisy.wav - clean.wav`` sample for sample: the additive noise, plus the late
reverberation, band-limit and clipping residuals where those were applied (so the three files keep
``noisy = clean + noise`` exactly, and remixing the noise at another SNR keeps the room and channel).
``utt2snr`` is the SNR of the additive noise alone against the clean target.

Everything is rendered at ``sample_rate`` (16 kHz by default, 48 kHz for full-band models): the
noises, rooms and recorded clips at that rate, the talkers resampled from their synthesizer's own
rate (:data:`NATIVE_RATES_HZ`, :func:`speech_band`), so the clean speech of a 48 kHz corpus is band-limited to what the
synthesizer produced (espeak-ng: 11 kHz, its fricative noise included), not invented above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqgan.atomic import AtomicFile
from seqgan.data.synth import channel, reverb
from seqgan.data.synth.mixing import mix_at_snr, speech_power, to_pcm16
from seqgan.data.synth.noises import make_noise
from seqgan.data.synth.phrases import make_text
from seqgan.data.synth.recorded import RECORDED_NAMES, make_recorded_noise
from seqgan.data.synth.speech import Speaker
from seqgan.data.synth.speech_talkers import WARP_RANGE
from seqgan.data.synth.voices import synthesize

SAMPLE_RATE = 16000  # the default corpus rate
SAMPLE_RATES: tuple[int, ...] = (16000, 22050, 24000, 32000, 44100, 48000)
# the synthesizers' own output rates (measured: espeak-ng 1.51 writes 22.05 kHz; the packaged flite
# voices 16 kHz; festival's diphone and ona voices 16 kHz, cmu_us_slt_arctic_hts 32 kHz)
NATIVE_RATES_HZ: dict[str, tuple[int, ...]] = {
    "espeak": (22050,),
    "flite": (16000,),
    "festival": (16000, 32000),
}
DURATION_RANGE = (1.2, 4.0)  # target utterance length in seconds, pauses included
MIN_SECONDS = 1.1  # at least one 16384-sample training window per utterance
PAUSE_RANGE = (0.05, 0.3)  # leading / trailing pause in seconds
LEVEL_RANGE_DB = (-35.0, -15.0)  # active level of the noisy input, dB re full scale
FLOOR_BELOW_SPEECH_DB = 48.0  # Gaussian floor of the clean speech: -75 dBFS for a -27 dBFS talker
PEAK_LIMIT = 0.95  # clean, noise and noisy are scaled together when a peak would exceed this
WORDS_PER_WPM_SECOND = 1.35  # words per second per (speed / 60) that fill the target (measured)
BABBLE_SENTENCES = 4  # per babble talker


@dataclass(frozen=True)
class Utterance:
    """The plan of one utterance."""

    split: str
    index: int
    utt_id: str
    speaker: Speaker
    noise: str
    snr_db: float


@dataclass(frozen=True)
class Augment:
    """Room, channel and level settings of a split.

    Attributes:
        reverb_fraction: share of utterances in a synthetic room.
        rt60_range: RT60 range in seconds.
        drr_range_db: direct-to-reverberant ratio range in dB.
        band_fraction: share of band-limited utterances (telephone or 8 kHz, half each).
        clip_fraction: share of clipped inputs.
        level_range_db: active level range of the noisy input in dBFS.
    """

    reverb_fraction: float = 0.0
    rt60_range: tuple[float, float] = reverb.TRAIN_RT60_RANGE
    drr_range_db: tuple[float, float] = reverb.DRR_RANGE_DB
    band_fraction: float = 0.0
    clip_fraction: float = 0.0
    level_range_db: tuple[float, float] = LEVEL_RANGE_DB


def speech_band(sample_rate: int, warp_range: tuple[float, float] = WARP_RANGE) -> dict[str, str]:
    """The band the clean speech of each synthesizer really has in a corpus at ``sample_rate``.

    A talker's audio is resampled from its synthesizer's rate ``r`` as if recorded at ``r * warp``,
    so its content stops at ``min(r * warp / 2, sample_rate / 2)``; above that the clean file holds
    only the -75 dBFS white floor (and, in rooms, nothing the room adds).

    Returns:
        ``{engine: "0-11025 Hz x warp 0.9-1.12 (9923-12348 Hz)"}``-style descriptions.
    """
    nyquist = sample_rate / 2.0
    out = {}
    for engine, rates in NATIVE_RATES_HZ.items():
        parts = []
        for rate in rates:
            low, high = (min(rate * w / 2.0, nyquist) for w in warp_range)
            parts.append(
                f"{rate / 2:g} Hz x warp {warp_range[0]:g}-{warp_range[1]:g} ({low:.0f}-{high:.0f} Hz)"
            )
        out[engine] = " or ".join(parts)
    return out


def speak(
    rng: np.random.Generator,
    speaker: Speaker,
    target: float,
    limit: float,
    programs: dict[str, str],
    sample_rate: int = SAMPLE_RATE,
) -> tuple[str, np.ndarray]:
    """A sentence of about ``target`` seconds (never over ``limit`` but for a short fallback) and its audio.

    The audio is ``(samples,)`` float64 at ``sample_rate``.
    """
    rate = speaker.speed * speaker.warp
    budget = max(2, int(target * rate / 60.0 * WORDS_PER_WPM_SECOND))
    for _ in range(4):
        text = make_text(speaker.language, rng, budget)
        wave = synthesize(text, speaker, programs, sample_rate)
        seconds = wave.size / sample_rate
        if seconds <= min(1.2 * target, limit):
            return text, wave
        budget = max(2, min(budget - 1, int(budget * target / seconds)))  # too long: scale the budget
    return text, wave


def babble_stream(
    seed: int,
    split_index: int,
    j: int,
    speaker: Speaker,
    programs: dict[str, str],
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """A few sentences of one babble talker at ``sample_rate``, each at unit active power, with short pauses."""
    rng = np.random.default_rng([seed, 2, split_index, j])
    parts = []
    for _ in range(BABBLE_SENTENCES):
        _, wave = speak(rng, speaker, 3.5, 4.0, programs, sample_rate)
        parts += [
            wave / np.sqrt(speech_power(wave, sample_rate)),
            np.zeros(int(rng.uniform(0.05, 0.3) * sample_rate)),
        ]
    return np.concatenate(parts)


def _noise(
    kind: str, n: int, sample_rate: int, rng: np.random.Generator, bank: list[np.ndarray] | None
) -> np.ndarray:
    if kind in RECORDED_NAMES:
        return make_recorded_noise(kind, n, sample_rate, rng)
    return make_noise(kind, n, sample_rate, rng, talkers=bank)


def make_utterance(
    seed: int,
    split_index: int,
    utt: Utterance,
    bank: list[np.ndarray] | None,
    programs: dict[str, str],
    out: Path,
    augment: Augment,
    sample_rate: int = SAMPLE_RATE,
) -> dict:
    """Synthesise, mix and write one utterance at ``sample_rate`` (see the module docstring); returns its record."""
    sr = int(sample_rate)
    text_rng, level_rng, noise_rng, aug_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, 1, split_index, utt.index]).spawn(4)
    )
    target = level_rng.uniform(*DURATION_RANGE)
    lead, tail = (int(p * sr) for p in level_rng.uniform(*PAUSE_RANGE, size=2))
    pauses = (lead + tail) / sr
    text, speech = speak(text_rng, utt.speaker, target - pauses, DURATION_RANGE[1] - pauses, programs, sr)
    speech = speech / np.sqrt(speech_power(speech, sr))
    n = max(lead + speech.size + tail, int(MIN_SECONDS * sr))
    dry = np.zeros(n)
    dry[lead : lead + speech.size] = speech

    # every draw is made whatever the fractions, so changing one fraction changes only its effect
    u_reverb, u_band, u_clip = aug_rng.random(3)
    rt60 = float(aug_rng.uniform(*augment.rt60_range))
    drr = float(aug_rng.uniform(*augment.drr_range_db))
    band = channel.BANDS[int(aug_rng.integers(len(channel.BANDS)))]
    clip_at = float(aug_rng.uniform(*channel.CLIP_RANGE))
    level_db = float(aug_rng.uniform(*augment.level_range_db))
    info = {"level": f"{level_db:.1f}"}
    if u_reverb < augment.reverb_fraction:
        rir = reverb.synth_rir(aug_rng, sr, rt60, drr)
        wet, clean = reverb.reverberate(dry, rir, sr)
        info.update(rt60=f"{rt60:.2f}", drr=f"{drr:.1f}")
    else:
        wet, clean = dry, dry.copy()
    hiss = 10.0 ** (-FLOOR_BELOW_SPEECH_DB / 20.0) * level_rng.standard_normal(n)  # speech is at unit power
    clean, wet = clean + hiss, wet + hiss

    noise = _noise(utt.noise, n, sr, noise_rng, bank)
    _, noise = mix_at_snr(clean, noise, utt.snr_db, sample_rate=sr)
    noisy = wet + noise
    if u_band < augment.band_fraction:
        noisy, clean = (
            channel.band_limit(noisy, sr, band),
            channel.band_limit(clean, sr, band),
        )
        info["band"] = band
    gain = 10.0 ** (level_db / 20.0) / np.sqrt(speech_power(noisy, sr))
    noisy, clean = noisy * gain, clean * gain
    peak = max(np.abs(noisy).max(), np.abs(clean).max(), np.abs(noisy - clean).max())
    if peak > PEAK_LIMIT:  # one gain for all keeps the SNR
        noisy, clean = noisy * (PEAK_LIMIT / peak), clean * (PEAK_LIMIT / peak)
    if u_clip < augment.clip_fraction:
        noisy = channel.clip(noisy, clip_at)
        info["clip"] = f"{clip_at:.2f}"
    clean16 = to_pcm16(clean)
    noise16 = (to_pcm16(noisy).astype(np.int32) - clean16).clip(-32767, 32767).astype(np.int16)
    noisy16 = (clean16.astype(np.int32) + noise16).clip(-32767, 32767).astype(np.int16)

    paths = {}
    for kind, data in (("clean", clean16), ("noisy", noisy16), ("noise", noise16)):
        paths[kind] = out / "wav" / utt.split / kind / f"{utt.utt_id}.wav"
        _write_wav(paths[kind], data, sr)
    return {
        "utt_id": utt.utt_id,
        "split": utt.split,
        "spk_id": utt.speaker.spk_id,
        "text": text,
        "language": utt.speaker.language,
        "noise": utt.noise,
        "snr_db": utt.snr_db,
        "aug": " ".join(f"{k}={v}" for k, v in info.items()),
        "num_samples": n,
        "paths": paths,
    }


def _write_wav(path: Path, data: np.ndarray, sample_rate: int) -> None:
    import soundfile as sf

    with AtomicFile(path) as out:
        sf.write(out.tmp, data, sample_rate, format="WAV", subtype="PCM_16")
