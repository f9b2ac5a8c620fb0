"""bf16 autocast training tracks fp32 training on a short run (CPU in the default suite, CUDA marked gpu)."""

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


def _curve(tmp_path, device: str, amp: bool, window: int, steps: int) -> list[float]:
    cfg = load_config(
        None,
        [
            "model.preset=segan_small",
            f"data.window={window}",
            "data.train_dir=unused",
            "train.batch_size=16",
            f"train.max_steps={steps}",
            "train.log_interval=1",
            "train.save_interval=0",
            f"train.device={device}",
            f"train.amp={str(amp).lower()}",
        ],
        task="enhancement",
    )
    exp = tmp_path / f"{device}_{'bf16' if amp else 'fp32'}"
    task = EnhancementTask(cfg)
    task.train_dataset = lambda: _SyntheticWindows(window=window)
    Trainer(task, exp).fit()
    rows = [json.loads(line) for line in (exp / "metrics.jsonl").read_text().splitlines()]
    return [r["g_l1"] for r in rows if r["kind"] == "train"]


def _assert_tracks(tmp_path, device: str, window: int, steps: int) -> None:
    fp32 = torch.tensor(_curve(tmp_path, device, False, window, steps))
    bf16 = torch.tensor(_curve(tmp_path, device, True, window, steps))
    assert len(fp32) == len(bf16) == steps
    assert fp32[-5:].mean() < fp32[:3].mean()  # it learns at all
    # the same data and latents: the L1 curves stay close step by step and at the end
    assert ((bf16 - fp32).abs() / fp32).max() < 0.25
    assert abs(bf16[-5:].mean() - fp32[-5:].mean()) / fp32[-5:].mean() < 0.1


def test_bf16_training_tracks_fp32_on_cpu(tmp_path):
    _assert_tracks(tmp_path, "cpu", window=2048, steps=12)


@pytest.mark.gpu
def test_bf16_training_tracks_fp32(tmp_path):
    torch.backends.cudnn.deterministic = True
    _assert_tracks(tmp_path, "cuda", window=8192, steps=40)


@pytest.mark.slow
def test_compiled_training_tracks_eager(tmp_path):
    """train.compile=true (inductor on CPU) trains like the eager networks on the same data and latents."""
    curves = {}
    for compiled in (False, True):
        cfg = load_config(
            None,
            [
                "model.preset=segan_small",
                "data.window=2048",
                "data.train_dir=unused",
                "train.batch_size=8",
                "train.max_steps=6",
                "train.log_interval=1",
                "train.save_interval=0",
                "train.device=cpu",
                f"train.compile={str(compiled).lower()}",
            ],
            task="enhancement",
        )
        task = EnhancementTask(cfg)
        task.train_dataset = lambda: _SyntheticWindows(window=2048)
        exp = tmp_path / f"compiled_{compiled}"
        Trainer(task, exp).fit()
        rows = [json.loads(line) for line in (exp / "metrics.jsonl").read_text().splitlines()]
        curves[compiled] = torch.tensor([r["g_l1"] for r in rows if r["kind"] == "train"])
    torch.testing.assert_close(curves[True], curves[False], rtol=1e-3, atol=1e-5)
