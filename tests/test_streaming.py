"""The causal MetricGAN+ and the streaming engine: streamed output equals offline enhancement."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from seqgan.enhance import Enhancer
from seqgan.export import load_model, save_model
from seqgan.models.causal import PRESETS, CausalMetricGANGenerator, CausalSTFT, build_causal_metricgan
from seqgan.streaming import CausalFrameStream, StreamingEnhancer, is_streamable
from seqgan.tasks.enhancement.networks import build_networks, family_of


def _model(seed: int = 0, **kw) -> CausalMetricGANGenerator:
    torch.manual_seed(seed)
    return CausalMetricGANGenerator(hidden_size=16, fc_size=8, **kw).eval()


def _identity(**kw) -> CausalMetricGANGenerator:
    """Mask 1 everywhere (beta 1, a saturated sigmoid): the model returns its input."""
    g = _model(beta=1.0, min_mask=0.0, **kw)
    with torch.no_grad():
        g.out.weight.zero_()
        g.out.bias.fill_(40.0)
    return g


def _stream(engine, x: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    outs, i, k = [], 0, 0
    while i < x.shape[-1]:
        n = sizes[k % len(sizes)]
        outs.append(engine.push(x[:, i : i + n]))
        i, k = i + n, k + 1
    return torch.cat([*outs, engine.flush()], dim=-1)


@pytest.mark.parametrize(
    ("n_fft", "hop", "win", "window"), [(512, 256, 512, "hamming"), (320, 80, 240, "hann")]
)
def test_causal_stft_reconstructs_exactly(n_fft, hop, win, window):
    stft = CausalSTFT(n_fft, hop, win, window)
    x = torch.randn(2, 1, 1777)
    spec = stft(x)
    assert spec.shape == (2, n_fft // 2 + 1, stft.frames(1777))
    torch.testing.assert_close(stft.inverse(spec, 1777), x, atol=2e-6, rtol=0)


def test_causal_stft_has_no_look_ahead():
    """Frame t sees samples < (t + 1) * hop only: changing later samples leaves it alone."""
    stft = CausalSTFT(512, 256, 512, "hamming")
    x = torch.randn(1, 1, 4096)
    y = x.clone()
    y[..., 1024:] = torch.randn(1, 1, 3072)
    a, b = stft(x), stft(y)
    torch.testing.assert_close(a[..., :4], b[..., :4])  # frames 0..3 end at sample 1023
    assert not torch.allclose(a[..., 4], b[..., 4])


def test_generator_is_causal_with_latency_n_fft():
    """Output sample n depends on inputs up to n + latency - 1 only."""
    g = _model()
    x = torch.randn(1, 1, 4000)
    y = x.clone()
    cut = 2500
    y[..., cut:] += torch.randn(1, 1, 4000 - cut)
    with torch.no_grad():
        a, b = g(x), g(y)
    ok = cut - g.latency + 1  # outputs before this sample cannot see the change
    torch.testing.assert_close(a[..., :ok], b[..., :ok], atol=1e-6, rtol=0)
    assert (a[..., ok + 300 :] - b[..., ok + 300 :]).abs().max() > 1e-4
    assert g.latency == 512 and 1000 * g.latency / 16000 == 32.0  # the stated algorithmic latency, ms


@pytest.mark.parametrize("sizes", [[1], [7], [160], [256], [333, 1, 4096], [5000]])
def test_stream_equals_offline_for_any_chunk_size(sizes):
    g = _model()
    x = torch.randn(2, 1, 3001) * 0.3
    with torch.no_grad():
        offline = g(x)[:, 0]
    streamed = _stream(CausalFrameStream(g), x[:, 0], sizes)
    assert streamed.shape == offline.shape
    torch.testing.assert_close(streamed, offline, atol=1e-5, rtol=0)


def test_identity_model_streams_a_sine_without_clicks():
    """A sine through an identity model in odd chunks comes back unchanged: no click, no gain jump."""
    g = _identity()
    t = torch.arange(8000) / 16000
    x = (0.5 * torch.sin(2 * math.pi * 440 * t)).reshape(1, -1)
    y = _stream(CausalFrameStream(g), x, [37, 1, 250, 511])
    torch.testing.assert_close(y, x, atol=1e-5, rtol=0)
    step = (y[0, 1:] - y[0, :-1]).abs().max()
    assert step <= 2 * math.pi * 440 / 16000 * 0.5 + 1e-4  # never steeper than the sine itself


def test_constant_input_has_no_gain_jump_at_borders():
    g = _model()
    x = torch.full((1, 6000), 0.25)
    with torch.no_grad():
        offline = g(x.unsqueeze(1))[:, 0]
    y = _stream(CausalFrameStream(g), x, [160])
    torch.testing.assert_close(y, offline, atol=1e-5, rtol=0)
    steady = y[0, 2000:]  # after the start-up
    borders = torch.arange(2080, 6000, 160) - 2000
    jumps = (steady[borders] - steady[borders - 1]).abs()
    assert jumps.max() <= (steady[1:] - steady[:-1]).abs().max() + 1e-7


def test_enhancer_runs_causal_models_through_the_stream():
    """Offline Enhancer.enhance (any block size) and the streaming engine give the same samples."""
    g = _model()
    x = torch.randn(2, 3001) * 0.3
    with torch.no_grad():
        ref = g(x.unsqueeze(1))[:, 0]
    e = Enhancer(g, 16000, preemphasis=0.0, window=1024, device="cpu", block_seconds=0.01)
    torch.testing.assert_close(e.enhance(x, 16000), ref, atol=1e-5, rtol=0)
    s = StreamingEnhancer(e, 16000, channels=2)
    torch.testing.assert_close(_stream(s, x, [37]), ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize(("rate", "coef"), [(16000, 0.95), (48000, 0.0), (22050, 0.5)])
def test_streaming_enhancer_equals_offline_with_resampling_and_emphasis(rate, coef):
    g = _model(1)
    e = Enhancer(g, 16000, preemphasis=coef, window=1024, device="cpu")
    x = torch.randn(1, rate // 5) * 0.2
    offline = e.enhance(x, rate)
    s = StreamingEnhancer(e, rate, channels=1)
    y = _stream(s, x, [rate // 100, 1, 333])
    assert y.shape == x.shape
    torch.testing.assert_close(y, offline, atol=2e-5, rtol=0)


def test_streaming_enhancer_lags_at_most_max_delay():
    for rate in (16000, 48000):
        e = Enhancer(_model(), 16000, preemphasis=0.0, window=1024, device="cpu")
        s = StreamingEnhancer(e, rate, channels=1)
        pushed = returned = 0
        for _ in range(60):
            n = rate // 100
            returned += s.push(np.zeros((n, 1), np.float32)).shape[0]
            pushed += n
            assert pushed - returned <= s.max_delay()
        assert s.latency_seconds == pytest.approx(0.032)


def test_streaming_enhancer_numpy_layout_and_errors():
    e = Enhancer(_model(), 16000, preemphasis=0.0, window=1024, device="cpu")
    s = StreamingEnhancer(e, 16000, channels=2)
    out = s.push(np.zeros((1000, 2), np.float32))
    assert isinstance(out, np.ndarray) and out.shape[1] == 2
    with pytest.raises(ValueError, match="2 channel"):
        s.push(np.zeros((10, 3), np.float32))
    offline = Enhancer(torch.nn.Identity(), 16000, window=1024, device="cpu")
    with pytest.raises(ValueError, match="not a causal model"):
        StreamingEnhancer(offline, 16000)
    assert not is_streamable(torch.nn.Identity())


def test_presets_build_registered_and_export(tmp_path):
    assert family_of("metricgan_causal_small").name == "metricgan_causal"
    g, d = build_networks("metricgan_causal_small", {}, {}, "", 16000)
    assert isinstance(g, CausalMetricGANGenerator) and g.hparams["hidden_size"] == 128
    assert not g.lstm.bidirectional
    for name in PRESETS:
        gen, _ = build_causal_metricgan(name)
        assert gen.hparams["hidden_size"] == PRESETS[name]["generator"]["hidden_size"]
    small = _model()
    save_model(small, tmp_path / "m.safetensors", sample_rate=16000, preemphasis=0.0, window=16000)
    loaded = load_model(tmp_path / "m.safetensors")
    assert isinstance(loaded, CausalMetricGANGenerator) and loaded.hparams == small.hparams
    x = torch.randn(1, 1, 2000)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), small(x))


def test_spectra_and_gradients_for_training():
    g = _model()
    g.train()
    noisy, clean = torch.randn(2, 1, 4000), torch.randn(2, 1, 4000)
    parts = g.spectra(noisy, clean)
    assert parts["enhanced_feats"].shape == parts["clean_feats"].shape == (2, g.stft.frames(4000), 257)
    g(noisy).square().mean().backward()
    assert all(p.grad is not None for p in g.lstm.parameters())


def test_stream_latency_bench_reports_each_chunk_size(capsys):
    import importlib.util
    import json
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "bench"
    sys.path.insert(0, str(bench))
    spec = importlib.util.spec_from_file_location("bench_stream_latency", bench / "stream_latency.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    threads = torch.get_num_threads()
    try:
        assert module.main(["--chunks-ms", "10,40", "--seconds", "0.3"]) == 0
    finally:
        torch.set_num_threads(threads)
    result = json.loads(capsys.readouterr().out)
    assert result["algorithmic_latency_ms"] == 32.0 and result["threads"] == 1
    ten, forty = result["chunks"]
    assert (ten["chunk_samples"], forty["chunk_samples"]) == (160, 640)
    for c in (ten, forty):
        assert c["rtf"] > 0 and c["process_ms"]["p95"] <= c["process_ms"]["max"]
        assert c["end_to_end_latency_ms"] == pytest.approx(32.0 + c["chunk_ms"] + c["process_ms"]["p95"])
    with pytest.raises(SystemExit):
        module.main(["--chunks-ms", "0"])
