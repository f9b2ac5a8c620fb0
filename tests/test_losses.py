"""Reconstruction losses: Lp, gradient difference and multi-resolution STFT, on known values."""

from __future__ import annotations

import math

import pytest
import torch

from seqgan.losses import (
    MultiResolutionSTFTLoss,
    gradient_difference_loss,
    lp_loss,
    multi_resolution_stft_loss,
    stft_magnitude,
)


def test_zero_for_identical_signals():
    x = torch.randn(2, 1, 4096)
    sc, mag = multi_resolution_stft_loss(x, x.clone())
    assert float(sc) == 0.0 and float(mag) == 0.0


def test_scaled_estimate_gives_known_values():
    # |S(2x)| = 2|S(x)|: spectral convergence = ||S||/||S|| = 1 and log-magnitude distance = log 2
    torch.manual_seed(0)
    ref = torch.randn(3, 4096)
    sc, mag = multi_resolution_stft_loss(2 * ref, ref, eps=1e-12)
    assert float(sc) == pytest.approx(1.0, rel=1e-5)
    assert float(mag) == pytest.approx(math.log(2.0), rel=1e-4)
    half_sc, _ = multi_resolution_stft_loss(0.5 * ref, ref, eps=1e-12)
    assert float(half_sc) == pytest.approx(0.5, rel=1e-5)


def test_module_sums_terms_and_backpropagates():
    ref = torch.randn(2, 1, 2048)
    est = (0.7 * ref + 0.1 * torch.randn_like(ref)).requires_grad_(True)
    loss_fn = MultiResolutionSTFTLoss(fft_sizes=(128, 256))
    assert loss_fn.resolutions == [(128, 32, 128), (256, 64, 256)]
    loss = loss_fn(est, ref)
    sc, mag = multi_resolution_stft_loss(est, ref, [(128, 32, 128), (256, 64, 256)])
    assert float(loss.detach()) == pytest.approx(float((sc + mag).detach()))
    loss.backward()
    assert est.grad is not None and torch.isfinite(est.grad).all()


def test_shapes_checked_and_magnitude_shape():
    with pytest.raises(ValueError, match="differ in shape"):
        multi_resolution_stft_loss(torch.zeros(1, 1, 100), torch.zeros(1, 1, 200))
    with pytest.raises(ValueError, match="expected"):
        multi_resolution_stft_loss(torch.zeros(1, 2, 100), torch.zeros(1, 2, 100))
    assert stft_magnitude(torch.zeros(2, 1024), 256, 64, 256).shape == (2, 129, 17)


def test_gdl_of_identical_frames_is_zero():
    x = torch.randn(2, 3, 8, 8)
    assert gradient_difference_loss(x, x.clone()).item() == 0.0


@pytest.mark.parametrize("alpha", [1.0, 2.0])
def test_gdl_of_a_shifted_edge(alpha):
    # a vertical edge from -1 to 1: the horizontal differences are 2 at one column, 0 elsewhere
    w = 9
    y = torch.full((1, 1, 5, w), -1.0)
    y[..., 4:] = 1.0
    y_hat = torch.full_like(y, -1.0)
    y_hat[..., 5:] = 1.0
    # per row |2 - 0|^a + |0 - 2|^a over w - 1 differences; no vertical differences
    expected = 2 * 2**alpha / (w - 1)
    assert gradient_difference_loss(y_hat, y, alpha).item() == pytest.approx(expected)
    # a blurred edge keeps the mean value but loses sharpness: the GDL sees it, l1 of means does not
    blurred = torch.zeros_like(y)
    assert gradient_difference_loss(blurred, y, alpha).item() == pytest.approx(2**alpha / (w - 1))


def test_lp_loss_values():
    a, b = torch.zeros(1, 1, 2, 2), torch.tensor([[[[1.0, -1.0], [2.0, 0.0]]]])
    assert lp_loss(a, b, 1).item() == pytest.approx(1.0)
    assert lp_loss(a, b, 2).item() == pytest.approx(1.5)


def test_mel_loss_of_a_doubled_signal_is_log_two_and_zero_for_itself():
    from seqgan.losses import log_mel_spectrogram, mel_spectrogram_loss

    x = torch.randn(2, 1, 8000, generator=torch.Generator().manual_seed(0))
    assert mel_spectrogram_loss(x, x.clone(), 16000).item() == 0.0
    # white noise fills every mel band far above the floor: log mel(2x) = log 2 + log mel(x)
    assert mel_spectrogram_loss(2 * x, x, 16000).item() == pytest.approx(math.log(2), rel=1e-4)
    assert log_mel_spectrogram(x, 16000).shape == (2, 80, 8000 // 256 + 1)


def test_compressed_spectrum_loss_of_a_scaled_signal():
    from seqgan.losses import compressed_spectrum_loss

    x = torch.randn(1, 1, 4000, generator=torch.Generator().manual_seed(1))
    ri, mag = compressed_spectrum_loss(x, x.clone())
    assert ri.item() == pytest.approx(0.0, abs=1e-10) and mag.item() == pytest.approx(0.0, abs=1e-10)
    # |C(2x)| = 2^0.3 |C(x)|, phase kept: both terms are (2^0.3 - 1)^2 mean |C(x)|^2
    window = torch.hamming_window(400, periodic=True)
    spec = torch.stft(x[:, 0], 400, 100, 400, window, center=True, return_complex=True)
    expected = (2**0.3 - 1) ** 2 * spec.abs().pow(0.6).mean().item()
    ri, mag = compressed_spectrum_loss(2 * x, x)
    assert mag.item() == pytest.approx(expected, rel=1e-4) and ri.item() == pytest.approx(expected, rel=1e-4)
