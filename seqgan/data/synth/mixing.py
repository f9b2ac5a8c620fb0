"""Signal-to-noise ratio on active speech, mixing at a target SNR, and 16-bit quantisation.

SNR convention (the one the synthetic speech corpus uses and documents): the speech power is the mean
power of the clean signal over its *active* 20 ms frames — frames whose energy is within 40 dB of the
loudest frame — so leading and trailing pauses do not lower the speech level (VoiceBank-DEMAND mixed
with the ITU-T P.56 active speech level for the same reason). The noise power is the mean power of
the whole noise signal. ``active=False`` uses the whole clean signal instead.
"""

from __future__ import annotations

import numpy as np

FRAME_SECONDS = 0.02
ACTIVE_RANGE_DB = 40.0
PCM16_SCALE = 32767.0


def speech_power(
    signal: np.ndarray,
    sample_rate: int = 16000,
    *,
    active: bool = True,
    frame_seconds: float = FRAME_SECONDS,
    active_range_db: float = ACTIVE_RANGE_DB,
) -> float:
    """Mean power of a speech signal, over its active frames by default.

    Args:
        signal: ``(samples,)`` waveform.
        sample_rate: sampling rate in Hz (sets the 20 ms frame length).
        active: average over the frames within ``active_range_db`` of the loudest frame only; with
            ``False``, over the whole signal.
        frame_seconds: frame length for the activity decision.
        active_range_db: frames more than this many dB below the loudest frame count as pauses.

    Returns:
        The mean of ``signal ** 2`` over the selected samples (0.0 for an all-zero signal).
    """
    x = np.asarray(signal, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise ValueError("speech_power: the signal is empty")
    if not active:
        return float(np.mean(x * x))
    frame = max(1, int(round(frame_seconds * sample_rate)))
    num_frames = max(1, x.size // frame)
    frames = x[: num_frames * frame].reshape(num_frames, frame) if x.size >= frame else x[None, :]
    energy = np.mean(frames * frames, axis=1)
    peak = float(energy.max())
    if peak <= 0.0:
        return 0.0
    keep = energy >= peak * 10.0 ** (-active_range_db / 10.0)
    return float(np.mean(energy[keep]))


def measure_snr(
    clean: np.ndarray, noise: np.ndarray, sample_rate: int = 16000, *, active: bool = True
) -> float:
    """SNR in dB of ``clean`` against ``noise`` with the convention of this module.

    Args:
        clean: ``(samples,)`` clean speech.
        noise: ``(samples,)`` the noise alone (as added to ``clean``).
        sample_rate: sampling rate in Hz.
        active: speech power over active frames (default) or over the whole signal.

    Returns:
        ``10 * log10(speech_power(clean) / mean(noise ** 2))``.
    """
    noise = np.asarray(noise, dtype=np.float64).reshape(-1)
    p_noise = float(np.mean(noise * noise))
    p_speech = speech_power(clean, sample_rate, active=active)
    if p_noise <= 0.0 or p_speech <= 0.0:
        raise ValueError("measure_snr: speech or noise is all zeros; the SNR is undefined")
    return 10.0 * np.log10(p_speech / p_noise)


def mix_at_snr(
    clean: np.ndarray,
    noise: np.ndarray,
    snr_db: float,
    *,
    sample_rate: int = 16000,
    active: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Scale ``noise`` so that ``clean + noise`` has the requested SNR.

    Args:
        clean: ``(samples,)`` clean speech (left unchanged).
        noise: ``(samples,)`` noise of the same length, any level.
        snr_db: target SNR in dB (see the module docstring for the convention).
        sample_rate: sampling rate in Hz (for the active-frame decision).
        active: speech power over active frames (default) or over the whole signal.

    Returns:
        ``(noisy, scaled_noise)``, both ``(samples,)`` float64, with ``noisy = clean + scaled_noise``.
    """
    clean = np.asarray(clean, dtype=np.float64).reshape(-1)
    noise = np.asarray(noise, dtype=np.float64).reshape(-1)
    if clean.shape != noise.shape:
        raise ValueError(
            f"mix_at_snr: clean has {clean.size} samples but noise has {noise.size}; "
            "cut or tile the noise to the speech length first"
        )
    if not np.isfinite(snr_db):
        raise ValueError(f"mix_at_snr: the SNR must be finite, got {snr_db}")
    p_noise = float(np.mean(noise * noise))
    p_speech = speech_power(clean, sample_rate, active=active)
    if p_noise <= 0.0:
        raise ValueError("mix_at_snr: the noise is all zeros and cannot be scaled to an SNR")
    if p_speech <= 0.0:
        raise ValueError("mix_at_snr: the clean signal is all zeros; the SNR is undefined")
    gain = np.sqrt(p_speech / (p_noise * 10.0 ** (snr_db / 10.0)))
    scaled = noise * gain
    return clean + scaled, scaled


def to_pcm16(signal: np.ndarray) -> np.ndarray:
    """Round a float signal in [-1, 1] to 16-bit integers (values beyond full scale saturate).

    Args:
        signal: ``(samples,)`` float waveform.

    Returns:
        ``(samples,)`` int16 array, ``round(signal * 32767)``.
    """
    scaled = np.round(np.asarray(signal, dtype=np.float64) * PCM16_SCALE)
    return np.clip(scaled, -PCM16_SCALE, PCM16_SCALE).astype(np.int16)
