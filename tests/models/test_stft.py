"""The shared STFT front end: exact-length round trips, frame geometry, windows, compression."""

from __future__ import annotations

import math

import pytest
import torch

from seqgan.models.stft import (
    STFT,
    compress_magnitude,
    compress_spectrum,
    decompress_magnitude,
    decompress_spectrum,
    magnitude,
    make_window,
    with_phase,
)

METRICGAN = (512, 256, 512, "hamming")
CMGAN = (400, 100, 400, "hamming")


@pytest.mark.parametrize("setting", [METRICGAN, CMGAN], ids=["metricgan", "cmgan"])
@pytest.mark.parametrize("length", [1, 37, 200, 256, 257, 1000, 4097])
def test_inverse_of_forward_is_identity_at_any_length(setting, length):
    stft = STFT(*setting)
    x = torch.randn(3, 1, length, generator=torch.Generator().manual_seed(length))
    spec = stft(x)
    assert spec.is_complex() and spec.shape == (3, stft.bins, stft.frames(length))
    y = stft.inverse(spec, length)
    assert y.shape == x.shape
    torch.testing.assert_close(y, x, rtol=0, atol=1e-5)


def test_geometry_and_2d_input():
    stft = STFT(400, 100, window="hamming")
    assert stft.bins == 201 and stft.win_length == 400 and stft.frames(16000) == 161
    x = torch.randn(2, 1600)
    torch.testing.assert_close(stft(x), stft(x.unsqueeze(1)))
    assert STFT(512, 256).bins == 257


def test_a_sinusoid_on_a_bin_peaks_there():
    n_fft, k = 512, 40
    t = torch.arange(8000, dtype=torch.float32)
    x = torch.cos(2 * math.pi * k * t / n_fft).view(1, 1, -1)
    mag = magnitude(STFT(n_fft, 256, window="hamming")(x))
    middle = mag[0, :, mag.shape[-1] // 2]
    assert int(middle.argmax()) == k
    # a periodic Hamming window sums to 0.54 * n_fft: a unit cosine gives |X_k| = 0.27 * n_fft
    assert float(middle[k]) == pytest.approx(0.27 * n_fft, rel=1e-3)


def test_windows_are_periodic_and_not_saved():
    torch.testing.assert_close(make_window("hamming", 400), torch.hamming_window(400, periodic=True))
    torch.testing.assert_close(make_window("hann", 64), torch.hann_window(64, periodic=True))
    assert torch.equal(make_window("rect", 8), torch.ones(8))
    stft = STFT(64, 16, 48, window="hann")
    assert stft.window.shape == (48,) and "window" not in stft.state_dict()
    with pytest.raises(ValueError, match="unknown STFT window 'kaiser'; choose from: hann, hamming, rect"):
        STFT(64, 16, window="kaiser")
    with pytest.raises(ValueError, match="hop_length <= win_length <= n_fft"):
        STFT(64, 128)
    with pytest.raises(ValueError, match=r"expected \(batch, 1, samples\)"):
        stft(torch.zeros(2, 2, 100))


def test_magnitude_compression_values_and_round_trip():
    mag = torch.tensor([0.0, 1.0, 8.0, 1000.0])
    torch.testing.assert_close(compress_magnitude(mag, "power", 1 / 3), torch.tensor([0.0, 1.0, 2.0, 10.0]))
    torch.testing.assert_close(compress_magnitude(mag, "log1p"), torch.log1p(mag))
    assert torch.equal(compress_magnitude(mag, "none"), mag)
    for comp, exp in [("power", 0.3), ("power", 0.5), ("log1p", 0.3), ("none", 0.3)]:
        back = decompress_magnitude(compress_magnitude(mag, comp, exp), comp, exp)
        torch.testing.assert_close(back, mag, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="unknown compression 'cube'"):
        compress_magnitude(mag, "cube")
    with pytest.raises(ValueError, match="exponent > 0"):
        compress_magnitude(mag, "power", 0.0)


def test_spectrum_compression_keeps_the_phase_and_inverts():
    g = torch.Generator().manual_seed(1)
    spec = torch.complex(torch.randn(2, 9, 5, generator=g), torch.randn(2, 9, 5, generator=g)) * 3
    comp = compress_spectrum(spec, 0.3)
    torch.testing.assert_close(comp.abs(), spec.abs() ** 0.3, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(comp / comp.abs(), spec / spec.abs(), rtol=0, atol=1e-5)  # phase kept
    torch.testing.assert_close(decompress_spectrum(comp, 0.3), spec, rtol=1e-4, atol=1e-5)
    assert torch.equal(
        compress_spectrum(torch.zeros(1, 2, 3, dtype=torch.complex64)),
        torch.zeros(1, 2, 3, dtype=torch.complex64),
    )


def test_with_phase_and_magnitude():
    spec = torch.tensor([[3 + 4j, -1 + 0j, 0 + 2j]], dtype=torch.complex64)
    torch.testing.assert_close(magnitude(spec), torch.tensor([[5.0, 1.0, 2.0]]))
    out = with_phase(torch.tensor([[10.0, 2.0, 1.0]]), spec)
    torch.testing.assert_close(
        out, torch.tensor([[6 + 8j, -2 + 0j, 0 + 1j]], dtype=torch.complex64), atol=1e-6, rtol=0
    )
    z = torch.zeros(2, requires_grad=True)
    magnitude(torch.complex(z, z)).sum().backward()
    assert torch.isfinite(z.grad).all()
