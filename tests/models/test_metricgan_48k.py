"""The full-band MetricGAN presets: 32 / 16 ms frames at 48 kHz, the band above 8 kHz passed through."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_metricgan import identity_mask_

from seqgan.enhance import Enhancer
from seqgan.metrics.audio import high_band_si_sdr
from seqgan.models import count_parameters
from seqgan.models.metricgan import PRESETS, build_metricgan


@pytest.mark.parametrize(
    ("name", "base"), [("metricgan_small_48k", "metricgan_small"), ("metricgan_plus_48k", "metricgan_plus")]
)
def test_48k_presets_keep_the_frame_durations_and_the_networks(name, base):
    g, d = build_metricgan(name)
    g16, d16 = build_metricgan(base)
    assert PRESETS[name]["sample_rate"] == 48000 and "sample_rate" not in PRESETS[base]
    assert (g.stft.n_fft, g.stft.hop_length, g.stft.win_length, g.stft.window_name) == (
        1536,
        768,
        1536,
        "hamming",
    )
    assert g.stft.bins == 769 and 768 / 48000 == 256 / 16000  # the same 16 ms hop: the same LSTM frame rate
    assert g.lstm.hidden_size == g16.lstm.hidden_size and g.fc[0].out_features == g16.fc[0].out_features
    # only the layers that touch the bins grow: LSTM input weights (4 x hidden per direction), FC out, alpha
    extra_bins = 769 - 257
    grown = extra_bins * 4 * g.lstm.hidden_size * 2 + extra_bins * (g.fc[0].out_features + 1) + extra_bins
    assert count_parameters(g) - count_parameters(g16) == grown
    assert count_parameters(d) == count_parameters(d16) == 19_010  # pooled: its size does not depend on bins


def test_48k_generator_with_a_unit_mask_passes_the_high_band():
    g, _ = build_metricgan("metricgan_small_48k", {"hidden_size": 8, "fc_size": 12})
    identity_mask_(g)
    x = (0.1 * np.random.default_rng(0).standard_normal(24000)).astype(np.float32)
    y = (
        Enhancer(g, 48000, preemphasis=0.0, window=9216, device="cpu")
        .enhance(torch.from_numpy(x), 48000)
        .numpy()
    )
    assert y.shape == x.shape
    assert high_band_si_sdr(x[2000:-2000], y[2000:-2000], 48000) > 40.0
