"""PSNR, SSIM and sharpness difference against known values and a direct reference computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqgan.metrics.frames import (
    copy_last_frame,
    per_step,
    psnr,
    rollout_metrics,
    sharpness_difference,
    ssim,
)


def _images(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g) * 2 - 1  # [-1, 1]


def _blur(x, sigma=1.5):
    k = torch.exp(-(torch.arange(-4, 5.0) ** 2) / (2 * sigma**2))
    k = (k / k.sum()).to(x.dtype)
    c = x.shape[-3]
    flat = x.reshape(-1, c, *x.shape[-2:])
    flat = F.conv2d(
        F.pad(flat, (4, 4, 4, 4), mode="replicate"), k.view(1, 1, 1, 9).repeat(c, 1, 1, 1), groups=c
    )
    flat = F.conv2d(flat, k.view(1, 1, 9, 1).repeat(c, 1, 1, 1), groups=c)
    return flat.reshape(x.shape)


# -- PSNR -------------------------------------------------------------------------------------------


def test_psnr_known_mse_per_frame_and_inf():
    target = torch.zeros(2, 3, 1, 4, 4)
    pred = target.clone()
    pred[0, 0] += 0.1  # MSE 0.01 -> 10 log10(4 / 0.01) = 26.02 dB with data range 2
    pred[1, 2, :, :2] += 0.2  # half the pixels off by 0.2: MSE 0.02
    values = psnr(pred, target, data_range=2.0)
    assert values.shape == (2, 3) and values.dtype == torch.float64
    assert values[0, 0].item() == pytest.approx(10 * math.log10(4 / 0.01))
    assert values[1, 2].item() == pytest.approx(10 * math.log10(4 / 0.02))
    assert math.isinf(values[0, 1].item())  # identical frames
    capped = psnr(pred, target, data_range=2.0, cap=100.0)
    assert capped[0, 1].item() == 100.0 and capped[0, 0] == values[0, 0]
    assert psnr(pred[0, 0], target[0, 0], 2.0, reduction="mean").item() == pytest.approx(values[0, 0].item())
    # uint8 data with range 255: an error of 1 everywhere gives 48.13 dB.
    a = torch.full((1, 8, 8), 100, dtype=torch.uint8)
    assert psnr(a + 1, a, 255).item() == pytest.approx(20 * math.log10(255))
    with pytest.raises(ValueError, match="differ in shape"):
        psnr(pred, target[:1], 2.0)


# -- SSIM ---------------------------------------------------------------------------------------------


def _ssim_reference(x: np.ndarray, y: np.ndarray, data_range: float) -> float:
    """Direct Wang et al. 2004 SSIM of one channel: explicit 11x11 Gaussian windows over the valid region."""
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g)
    w /= w.sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    vals = []
    for i in range(x.shape[0] - 10):
        for j in range(x.shape[1] - 10):
            px, py = x[i : i + 11, j : j + 11], y[i : i + 11, j : j + 11]
            mx, my = (w * px).sum(), (w * py).sum()
            vx, vy = (w * (px - mx) ** 2).sum(), (w * (py - my) ** 2).sum()  # population (weighted) moments
            cxy = (w * (px - mx) * (py - my)).sum()
            vals.append(((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    return float(np.mean(vals))


def test_ssim_matches_direct_reference():
    x = _images(3, 14, 13, seed=1)
    y = (x + 0.3 * _images(3, 14, 13, seed=2)).clamp(-1, 1)
    got = ssim(y, x, data_range=2.0)
    ref = np.mean([_ssim_reference(y[c].double().numpy(), x[c].double().numpy(), 2.0) for c in range(3)])
    assert got.shape == () and got.item() == pytest.approx(ref, rel=1e-10)


def test_ssim_matches_torchmetrics_on_the_valid_region():
    from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

    x = _images(2, 1, 24, 24, seed=3).double()
    y = (x + 0.2 * _images(2, 1, 24, 24, seed=4).double()).clamp(-1, 1)
    _, full = tm_ssim(y, x, data_range=2.0, reduction="none", return_full_image=True)
    expected = full[..., 5:-5, 5:-5].mean(dim=(1, 2, 3))  # torchmetrics pads; keep the valid windows
    torch.testing.assert_close(ssim(y, x, data_range=2.0), expected, rtol=1e-9, atol=1e-12)


def test_ssim_identity_noise_and_small_frames():
    x = _images(1, 32, 32, seed=5)
    assert ssim(x, x, 2.0).item() == pytest.approx(1.0)
    scores = [
        ssim((x + s * _images(1, 32, 32, seed=6)).clamp(-1, 1), x, 2.0).item() for s in (0.05, 0.2, 0.8)
    ]
    assert 1.0 > scores[0] > scores[1] > scores[2]
    # SSIM's luminance term depends on the offset: [-1, 1] frames given as (-1, 1) score like the same
    # frames as uint8; as a bare width 2 they are used unshifted (a different, lower value here).
    u8 = ((x + 1) * 127.5).round()
    noisy = (((x + 0.1 * _images(1, 32, 32, seed=7)).clamp(-1, 1) + 1) * 127.5).round()
    as_u8 = ssim(noisy, u8, 255.0).item()
    assert ssim(noisy / 127.5 - 1, u8 / 127.5 - 1, (-1.0, 1.0)).item() == pytest.approx(as_u8)
    assert ssim(noisy / 255, u8 / 255, 1.0).item() == pytest.approx(as_u8)
    assert ssim(noisy / 127.5 - 1, u8 / 127.5 - 1, 2.0).item() < as_u8
    # PSNR depends on the width only.
    assert psnr(noisy / 127.5 - 1, u8 / 127.5 - 1, (-1, 1)).item() == pytest.approx(
        psnr(noisy, u8, 255).item()
    )
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(torch.zeros(1, 8, 8), torch.zeros(1, 8, 8), 2.0)


# -- sharpness difference -------------------------------------------------------------------------------


def test_sharpness_difference_values():
    target = torch.zeros(1, 3, 3)
    target[0, :, 2] = 1.0  # a vertical edge: |dx| = 1 on column 1 of the 2x2 gradient region
    pred = torch.zeros(1, 3, 3)
    # Target gradient sum is [[0, 1], [0, 1]]; prediction is flat: mean |diff| = 0.5.
    assert sharpness_difference(pred, target, 2.0).item() == pytest.approx(10 * math.log10(4 / 0.5))
    assert math.isinf(sharpness_difference(target, target, 2.0).item())
    assert sharpness_difference(target, target, 2.0, cap=100.0).item() == 100.0


def test_blurred_prediction_scores_lower_than_sharp():
    target = _images(4, 1, 32, 32, seed=8)
    sharp = (target + 0.02 * _images(4, 1, 32, 32, seed=9)).clamp(-1, 1)
    blurred = [_blur(target, s) for s in (0.7, 1.5, 3.0)]
    sd_sharp = sharpness_difference(sharp, target, 2.0, reduction="mean").item()
    sd_blur = [sharpness_difference(b, target, 2.0, reduction="mean").item() for b in blurred]
    assert sd_sharp > sd_blur[0] > sd_blur[1] > sd_blur[2]


# -- rollouts and the baseline ----------------------------------------------------------------------


def test_per_step_curves_and_copy_last():
    context = _images(3, 4, 1, 16, 16, seed=10)
    future = context[:, -1:].repeat(1, 3, 1, 1, 1)
    future = future + torch.arange(1, 4.0).view(1, 3, 1, 1, 1) * 0.05 * _images(3, 3, 1, 16, 16, seed=11)
    base = copy_last_frame(context, 3)
    assert base.shape == (3, 3, 1, 16, 16)
    torch.testing.assert_close(base[:, 2], context[:, -1])
    curve = per_step(psnr, base, future, 2.0)
    assert curve.shape == (3,) and curve[0] > curve[1] > curve[2]  # the error grows with the step
    manual = psnr(base[:, 1], future[:, 1], 2.0).mean()
    assert curve[1].item() == pytest.approx(manual.item())
    out = rollout_metrics(base, future, 2.0)
    assert set(out) == {"psnr", "ssim", "sharpness"} and len(out["ssim"]) == 3
    assert out["ssim"][0] > out["ssim"][2]
    assert "ssim" not in rollout_metrics(base[..., :8, :8], future[..., :8, :8], 2.0)
