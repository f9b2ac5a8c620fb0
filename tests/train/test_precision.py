"""bf16 autocast training tracks fp32 training on a short run (CUDA only)."""

import json

import pytest
import torch

from seqgan.config import load_config
from seqgan.tasks.enhancement import EnhancementTask
from seqgan.train.trainer import Trainer


class _SyntheticWindows(torch.utils.data.Dataset):
    """Noisy/clean window pairs: a few harmonics plus white noise at about 5 dB, seeded per example."""

    def __init__(self, n: int = 256, window: int = 8192) -> None:
        self.n, self.window = n, window

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key):
        index, seed = key if isinstance(key, tuple) else (key, 0)
        g = torch.Generator().manual_seed(index)
        t = torch.arange(self.window) / 16000
        f0 = 100 + 200 * torch.rand(1, generator=g)
        clean = sum(0.2 / k * torch.sin(2 * torch.pi * k * f0 * t) for k in range(1, 5))
        noisy = clean + 0.1 * torch.randn(self.window, generator=torch.Generator().manual_seed(seed))
        return {"noisy": noisy[None].float(), "clean": clean[None].float()}


class _Task(EnhancementTask):
    def train_dataset(self):
        return _SyntheticWindows()


def _curve(tmp_path, amp: bool) -> list[float]:
    cfg = load_config(
        None,
        [
            "model.preset=segan_small",
            "data.window=8192",
            "data.train_dir=unused",
            "train.batch_size=16",
            "train.max_steps=40",
            "train.log_interval=1",
            "train.save_interval=0",
            "train.device=cuda",
            f"train.amp={str(amp).lower()}",
        ],
        task="enhancement",
    )
    exp = tmp_path / ("bf16" if amp else "fp32")
    Trainer(_Task(cfg), exp).fit()
    rows = [json.loads(line) for line in (exp / "metrics.jsonl").read_text().splitlines()]
    return [r["g_l1"] for r in rows if r["kind"] == "train"]


@pytest.mark.gpu
def test_bf16_training_tracks_fp32(tmp_path):
    torch.backends.cudnn.deterministic = True
    fp32 = torch.tensor(_curve(tmp_path, amp=False))
    bf16 = torch.tensor(_curve(tmp_path, amp=True))
    assert len(fp32) == len(bf16) == 40
    assert fp32[-10:].mean() < fp32[:5].mean()  # it learns at all
    # the same data and latents: the L1 curves stay close step by step and on average
    assert ((bf16 - fp32).abs() / fp32).max() < 0.25
    assert abs(bf16[-10:].mean() - fp32[-10:].mean()) / fp32[-10:].mean() < 0.1
