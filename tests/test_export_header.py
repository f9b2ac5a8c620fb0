"""Exported-model files whose header length starts with the byte a pickle starts with."""

from __future__ import annotations

import pytest
import torch

from seqgan.export import ModelFileError, load_model, save_model
from seqgan.models.metricgan import MetricGANGenerator


def test_a_header_length_with_low_byte_0x80_is_not_taken_for_a_pickle(tmp_path):
    tiny = {"n_fft": 64, "hop_length": 32, "win_length": 64, "hidden_size": 8, "fc_size": 12}
    g = MetricGANGenerator(**tiny)
    for pad in range(300):  # a metadata entry whose length moves the header length through every low byte
        path = tmp_path / "m.safetensors"
        save_model(g, path, sample_rate=16000, note="x" * pad)
        if path.read_bytes()[0] == 0x80:
            break
    else:
        pytest.fail("no header length with low byte 0x80 in the range tried")
    loaded = load_model(path)
    assert all(torch.equal(a, b) for a, b in zip(g.state_dict().values(), loaded.state_dict().values()))
    torch.save({"a": 1}, tmp_path / "ckpt.pt")
    with pytest.raises(ModelFileError, match="PyTorch checkpoint"):
        load_model(tmp_path / "ckpt.pt")
