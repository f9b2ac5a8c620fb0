"""`seqgan train`: train any task from a YAML configuration."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

HELP = "train a GAN from a YAML config (auto-resumes from EXP_DIR/checkpoints/last.pt)"
DESCRIPTION = """\
Train a task (enhancement, next_frame, toy) from a YAML configuration. Any key can be overridden on
the command line as key.sub=value (unknown keys, wrong types and bad values are errors, one line each).
Training resumes automatically from EXP_DIR/checkpoints/last.pt; --init-from takes weights only from
another run.

examples:
  seqgan train -c egs/synth/se1/conf/small.yaml -o exp/small train.max_steps=2000
  seqgan train -c conf.yaml -o exp/run --dry-run          # check, build the networks, print the config
  seqgan train --task toy -o exp/toy loss.objective=hinge

multi-GPU / multi-node (DistributedDataParallel; G and D wrapped separately; batch_size is per process):
  torchrun --standalone --nproc_per_node 4 -m seqgan train -c conf.yaml -o exp/run
  torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint HOST:29500 \\
      -m seqgan train -c conf.yaml -o exp/run
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", help="YAML configuration file")
    parser.add_argument("-o", "--exp-dir", help="experiment directory (required unless --dry-run)")
    parser.add_argument(
        "--task", help="task name when the config does not give one (toy, enhancement, next_frame)"
    )
    parser.add_argument("--init-from", help="checkpoint (.pt) or exported model (.safetensors): weights only")
    parser.add_argument("--device", help="auto, cpu, cuda (same as train.device=...)")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check the configuration and build the task and its networks as training would (reading no "
        "training data), print the resolved config and exit",
    )
    parser.add_argument("overrides", nargs="*", metavar="key.sub=value", help="configuration overrides")


def _fail(problems: list[str], code: int = 2) -> int:
    for line in problems:
        print(f"seqgan train: {line}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    from seqgan.config import ConfigError, dump_config, load_config
    from seqgan.data.audio import AudioFileError
    from seqgan.data.episodes import EpisodeError
    from seqgan.data.scp import DataDirError
    from seqgan.tasks import get_task
    from seqgan.train.checkpoint import CheckpointError
    from seqgan.train.trainer import Trainer, resolve_device

    overrides = list(args.overrides)
    if args.device:
        overrides.append(f"train.device={args.device}")
    try:
        config = load_config(args.config, overrides, task=args.task)
        task = get_task(config.task)(config)
        if args.dry_run:  # everything a run does before it reads data: the device and the networks
            resolve_device(config.train.device)
            task.build_networks()
    except ConfigError as e:
        return _fail(e.problems)
    except (ValueError, OSError, RuntimeError) as e:  # unknown task, unreadable files, no such device
        return _fail([str(e)])
    if args.dry_run:
        print(dump_config(config), end="")
        return 0
    if not args.exp_dir:
        return _fail(["-o/--exp-dir is required"])

    exp_dir = Path(args.exp_dir)
    exp_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(exp_dir / "train.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    trainer = Trainer(task, exp_dir, init_from=args.init_from)
    try:
        trainer.fit()
    except ConfigError as e:
        return _fail(e.problems)
    except (CheckpointError, DataDirError, AudioFileError, EpisodeError) as e:  # each names its file
        logging.getLogger(__name__).error("%s", e)
        return _fail([str(e)], code=1)
    print(f"seqgan train: step {trainer.step}; checkpoint {trainer.last_checkpoint}")
    return 0
