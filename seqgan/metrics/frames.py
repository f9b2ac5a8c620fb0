"""Frame prediction metrics: PSNR, SSIM, sharpness difference, per-step curves and a copy-last baseline.

Conventions (REFERENCE.md, "Frame metrics"):

* Every metric is computed **per frame** over ``(..., C, H, W)`` tensors and returned with the leading
  shape (``reduction="none"``); a reported value is the mean of the per-frame values (not the metric of
  the mean error). ``reduction="mean"`` returns that mean.
* ``data_range`` is explicit: 2 for [-1, 1] data, 255 for uint8, 1 for [0, 1] — or a ``(low, high)``
  pair. PSNR and the sharpness difference depend only on ``high - low``. SSIM's luminance term is not
  shift-invariant: with a pair, frames are shifted to ``[0, high - low]`` first, which gives the SSIM of
  the same frames stored as uint8 (the usual reporting convention); with a number, the values are used
  as they are (and a warning is logged once if they are negative). So for [-1, 1] frames pass
  ``data_range=(-1, 1)`` to report SSIM comparable with uint8 / [0, 1] evaluations.
* Identical frames give ``inf`` for PSNR and the sharpness difference (a zero error). Pass ``cap``
  (e.g. 100 dB) to clip them — useful where static frames make a baseline exact (Atari); report the cap
  beside the numbers.
* SSIM (Wang et al. 2004): 11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, L = data range,
  population (window-weighted) covariance, mean over the *valid* region (windows fully inside the
  frame, no padding), colour as the mean over channels. torchmetrics' SSIM averages over a
  reflection-padded full image instead, so it is written here with ``conv2d``.
* Sharpness difference (Mathieu et al. 2016): ``10 log10(MAX^2 / mean|(|dxY| + |dyY|) - (|dxP| + |dyP|)|)``
  with forward differences on the ``(H-1) x (W-1)`` region where both exist, mean over channels too.

Computation is in float64 on the inputs' device; results are float64 tensors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import torch

Tensor = torch.Tensor
DataRange = float | Sequence[float]

log = logging.getLogger(__name__)
_warned_negative = False

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def _span(data_range: DataRange) -> tuple[float, float | None]:
    """``(MAX, low)``: the range width and the lower end (None when given as a number)."""
    if isinstance(data_range, (int, float)):
        width, low = float(data_range), None
    else:
        lo, hi = (float(v) for v in data_range)
        width, low = hi - lo, lo
    if not width > 0:
        raise ValueError(
            f"data_range must be > 0 (2 or (-1, 1) for [-1, 1], 255 for uint8); got {data_range}"
        )
    return width, low


def _prepare(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    pred, target = torch.as_tensor(pred), torch.as_tensor(target)
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    if pred.dim() < 3:
        raise ValueError(f"frames must be (..., C, H, W); got {tuple(pred.shape)}")
    return pred.to(torch.float64), target.to(pred.device, torch.float64)


def _reduce(values: Tensor, reduction: str, cap: float | None) -> Tensor:
    if cap is not None:
        values = values.clamp(max=cap)
    if reduction == "none":
        return values
    if reduction == "mean":
        return values.mean()
    raise ValueError(f"unknown reduction {reduction!r}; choose from: none, mean")


def psnr(
    pred: Tensor, target: Tensor, data_range: DataRange, reduction: str = "none", cap: float | None = None
) -> Tensor:
    """Peak signal-to-noise ratio per frame: ``10 log10(data_range^2 / MSE)`` in dB.

    Args:
        pred: ``(..., C, H, W)`` predicted frames.
        target: ``(..., C, H, W)`` true frames.
        data_range: MAX (2 for [-1, 1], 255 for uint8) or ``(low, high)``.
        reduction: ``"none"`` -> shape ``(...)``; ``"mean"`` -> the mean over frames.
        cap: clip values above this (``inf`` for identical frames otherwise).
    """
    width, _ = _span(data_range)
    pred, target = _prepare(pred, target)
    mse = (pred - target).pow(2).flatten(-3).mean(-1)
    return _reduce(10.0 * torch.log10(width**2 / mse), reduction, cap)


def _gaussian_1d(size: int, sigma: float, device: torch.device) -> Tensor:
    """The normalised 1-D Gaussian; the 2-D window is its outer product (so the filter is separable)."""
    x = torch.arange(size, dtype=torch.float64, device=device) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _filter_valid(x: Tensor, g: Tensor) -> Tensor:
    """Separable Gaussian filtering of ``(..., H, W)`` over the valid region -> ``(..., H-k+1, W-k+1)``.

    A row pass then a column pass, each as ``k`` in-place multiply-adds of shifted views: several times
    faster than float64 convolutions on CPU, which also unfold ``k`` copies of their input.
    """
    k = g.numel()
    h, w = x.shape[-2:]
    taps = g.tolist()
    rows = x[..., :, : w - k + 1] * taps[0]
    for i in range(1, k):
        rows.add_(x[..., :, i : w - k + 1 + i], alpha=taps[i])
    out = rows[..., : h - k + 1, :] * taps[0]
    for i in range(1, k):
        out.add_(rows[..., i : h - k + 1 + i, :], alpha=taps[i])
    return out


def ssim(
    pred: Tensor,
    target: Tensor,
    data_range: DataRange,
    reduction: str = "none",
    window: int = SSIM_WINDOW,
    sigma: float = SSIM_SIGMA,
) -> Tensor:
    """Structural similarity per frame (Wang et al. 2004 settings, mean over the valid region and channels).

    Args:
        pred: ``(..., C, H, W)`` predicted frames; ``H, W >= window``.
        target: ``(..., C, H, W)`` true frames.
        data_range: L as a number (values used as given), or ``(low, high)``: frames shifted to
            ``[0, high - low]`` first, i.e. the SSIM of the same frames as uint8 — use ``(-1, 1)`` for
            [-1, 1] frames to report the usual convention.
        reduction: ``"none"`` -> shape ``(...)``; ``"mean"`` -> the mean over frames.
        window: Gaussian window side (11).
        sigma: Gaussian standard deviation (1.5).

    Raises:
        ValueError: frames smaller than the window.
    """
    global _warned_negative
    width, low = _span(data_range)
    pred, target = _prepare(pred, target)
    if low is not None:
        pred, target = pred - low, target - low
    elif not _warned_negative and bool((target < 0).any()):
        _warned_negative = True
        log.warning(
            "SSIM of frames with negative values and data_range=%s: the luminance term depends on the "
            "offset; pass data_range=(low, high), e.g. (-1, 1), for SSIM comparable with uint8 frames",
            data_range,
        )
    h, w = pred.shape[-2:]
    if h < window or w < window:
        raise ValueError(f"SSIM needs frames of at least {window}x{window}; got {h}x{w}")
    x, y = pred, target
    g = _gaussian_1d(window, sigma, pred.device)
    # Window-weighted moments over the valid region (no padding).
    mu_x, mu_y, e_xx, e_yy, e_xy = (_filter_valid(m, g) for m in (x, y, x * x, y * y, x * y))
    var_x = e_xx - mu_x**2
    var_y = e_yy - mu_y**2
    cov = e_xy - mu_x * mu_y
    c1 = (SSIM_K1 * width) ** 2
    c2 = (SSIM_K2 * width) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    per_frame = ssim_map.flatten(-2).mean(-1).mean(-1)  # valid region, then channels
    return _reduce(per_frame, reduction, None)


def sharpness_difference(
    pred: Tensor, target: Tensor, data_range: DataRange, reduction: str = "none", cap: float | None = None
) -> Tensor:
    """Sharpness difference per frame (Mathieu et al. 2016), in dB; higher means closer gradients.

    ``10 log10(MAX^2 / mean|(|dxY| + |dyY|) - (|dxP| + |dyP|)|)`` with forward differences
    ``dxY[i, j] = Y[i, j+1] - Y[i, j]``, ``dyY[i, j] = Y[i+1, j] - Y[i, j]`` on the ``(H-1) x (W-1)``
    region, averaged over channels as well.

    Args:
        pred: ``(..., C, H, W)`` predicted frames.
        target: ``(..., C, H, W)`` true frames.
        data_range: MAX or ``(low, high)``.
        reduction: ``"none"`` or ``"mean"``.
        cap: clip values above this (``inf`` when the gradients match exactly).
    """
    width, _ = _span(data_range)
    pred, target = _prepare(pred, target)

    def grad_sum(img: Tensor) -> Tensor:
        dx = img[..., :-1, 1:] - img[..., :-1, :-1]
        dy = img[..., 1:, :-1] - img[..., :-1, :-1]
        return dx.abs() + dy.abs()

    diff = (grad_sum(target) - grad_sum(pred)).abs().flatten(-3).mean(-1)
    return _reduce(10.0 * torch.log10(width**2 / diff), reduction, cap)


def per_step(
    metric: Callable[..., Tensor], pred: Tensor, target: Tensor, data_range: DataRange, **kwargs: object
) -> Tensor:
    """A per-frame metric over rollouts, averaged over sequences: ``(N, S, C, H, W)`` x2 -> ``(S,)``."""
    if torch.as_tensor(pred).dim() != 5:
        raise ValueError(f"rollouts must be (N, S, C, H, W); got {tuple(torch.as_tensor(pred).shape)}")
    return metric(pred, target, data_range, reduction="none", **kwargs).mean(0)


def rollout_metrics(
    pred: Tensor, target: Tensor, data_range: DataRange, cap: float | None = None
) -> dict[str, list[float]]:
    """Per-step PSNR, SSIM (when frames are >= 11x11) and sharpness difference of rollouts.

    Args:
        pred: ``(N, S, C, H, W)`` predicted rollouts.
        target: ``(N, S, C, H, W)`` ground-truth futures.
        data_range: MAX or ``(low, high)`` (see the module notes on SSIM).
        cap: clip PSNR and sharpness difference per frame (see the module notes).

    Returns:
        ``{"psnr": [S values], "ssim": [...], "sharpness": [...]}`` (means over the N sequences).
    """
    out = {
        "psnr": per_step(psnr, pred, target, data_range, cap=cap).tolist(),
        "sharpness": per_step(sharpness_difference, pred, target, data_range, cap=cap).tolist(),
    }
    if min(pred.shape[-2:]) >= SSIM_WINDOW:
        out["ssim"] = per_step(ssim, pred, target, data_range).tolist()
    return out


def copy_last_frame(context: Tensor, horizon: int) -> Tensor:
    """The copy-last-frame baseline: repeats the last context frame.

    Args:
        context: ``(N, K, C, H, W)``.
        horizon: S, the number of future frames.

    Returns:
        ``(N, S, C, H, W)``.
    """
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1; got {horizon}")
    return context[:, -1:].expand(-1, horizon, *context.shape[2:]).clone()
