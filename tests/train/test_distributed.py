"""torchrun with 2 CPU processes (gloo): ranks agree, and match one process on the combined batches."""

import os
import subprocess
import sys
import textwrap

import torch

SCRIPT = textwrap.dedent(
    """
    import os, sys, torch
    torch.set_num_threads(1)
    from seqgan.config import load_config
    from seqgan.tasks.toy import ToyTask
    from seqgan.train.trainer import Trainer

    out, batch = sys.argv[1], sys.argv[2]
    cfg = load_config(None, [f"train.batch_size={batch}", "train.max_steps=8", "train.n_critic=2",
                             "train.optim_g.lr=1e-3", "train.optim_d.lr=1e-3", "train.log_interval=4",
                             "train.ema_decay=0.5"], task="toy")
    trainer = Trainer(ToyTask(cfg), os.path.join(out, "exp"))
    trainer.fit()
    rank = int(os.environ.get("RANK", "0"))
    torch.save({"g": trainer.generator.state_dict(), "d": trainer.discriminator.state_dict(),
                "ema": trainer.ema.state_dict()}, os.path.join(out, f"rank{rank}.pt"))
    """
)


def test_two_processes_match_one_process_with_the_combined_batch(tmp_path):
    script = tmp_path / "train_toy.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ddp, single = tmp_path / "ddp", tmp_path / "single"
    ddp.mkdir()
    single.mkdir()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(script),
            str(ddp),
            "16",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    run = subprocess.run(
        [sys.executable, str(script), str(single), "32"], capture_output=True, text=True, env=env, timeout=300
    )
    assert run.returncode == 0, run.stdout + run.stderr
    r0, r1 = (torch.load(ddp / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    one = torch.load(single / "rank0.pt", weights_only=True)
    for net in ("g", "d", "ema"):
        for key, value in r0[net].items():
            assert torch.equal(value, r1[net][key]), f"ranks differ in {net}.{key}"
            torch.testing.assert_close(value, one[net][key], rtol=1e-4, atol=1e-5)
