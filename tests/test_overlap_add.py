"""OverlapAdd (seqgan/overlap_add.py): streaming Hann-weighted overlap-add."""

from __future__ import annotations

import pytest
import torch
from test_enhance import EnhTestConv, _noise

from seqgan.enhance import OverlapAdd as ReExported
from seqgan.overlap_add import OverlapAdd


def test_overlap_add_in_blocks_equals_one_piece():
    model = EnhTestConv().eval()
    x = torch.from_numpy(_noise(2, 2345, seed=3))

    def process(frames):
        with torch.no_grad():
            return model(frames[:, None])[:, 0]

    whole = OverlapAdd(process, 128, 64, 3)
    ref = torch.cat([whole.push(x), whole.flush()], -1)
    ola = OverlapAdd(process, 128, 64, 3)
    parts = [ola.push(x[:, i : i + 97]) for i in range(0, x.shape[1], 97)] + [ola.flush()]
    y = torch.cat(parts, -1)
    assert y.shape == ref.shape == x.shape
    torch.testing.assert_close(y, ref, atol=1e-6, rtol=0)


@pytest.mark.parametrize("window,hop,block", [(64, 32, 50), (64, 23, 7), (48, 47, 1000)])
def test_identity_process_returns_the_input_exactly(window, hop, block):
    x = torch.from_numpy(_noise(2, 777, seed=7))
    ola = OverlapAdd(lambda frames: frames, window, hop, batch_size=5)
    parts = [ola.push(x[:, i : i + block]) for i in range(0, x.shape[1], block)] + [ola.flush()]
    torch.testing.assert_close(torch.cat(parts, -1), x, atol=1e-6, rtol=0)
    assert ReExported is OverlapAdd  # from seqgan.enhance import OverlapAdd keeps working


def test_bad_geometry_is_refused():
    with pytest.raises(ValueError, match="hop must be in"):
        OverlapAdd(lambda f: f, 64, 64, 1)
    with pytest.raises(ValueError, match="batch_size"):
        OverlapAdd(lambda f: f, 64, 32, 0)
    with pytest.raises(RuntimeError, match="before any push"):
        OverlapAdd(lambda f: f, 64, 32, 1).flush()
