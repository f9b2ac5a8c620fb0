"""`seqgan data moving-digits`: moving digits from scikit-learn's digits, real MNIST, or mnist_test_seq.npy."""

from __future__ import annotations

import argparse
import sys

from seqgan.cli._frame_corpus import LAYOUT, add_common_arguments, run_corpus

HELP = "generate moving-digit videos (sklearn digits; real MNIST or Moving MNIST when given)"
DESCRIPTION = f"""\
Two digits bouncing in a 64x64 canvas (Moving MNIST motion: step 0.1 per frame, bouncing off the edges,
pixel-wise maximum where they overlap), 20 frames per sequence.

Digit sources:
  default              scikit-learn's bundled 8x8 digits upscaled to 28x28 (no download).
                       NOT comparable with Moving MNIST numbers; the metadata says so.
  --mnist DIR          real 28x28 MNIST digits from DIR/train-images-idx3-ubyte[.gz].
  --moving-mnist FILE  convert the published test set mnist_test_seq.npy ([20, 10000, 64, 64] uint8)
                       into episodes (protocol 10 -> 10: --context 10, horizon 10).

Examples:
  seqgan data moving-digits --out corpora/digits --num-episodes 2000
  seqgan data moving-digits --out corpora/mmnist --moving-mnist ~/data/mnist_test_seq.npy

{LAYOUT}"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, default_episodes=None)
    g = parser.add_argument_group("moving digits")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--mnist", metavar="DIR", help="directory holding train-images-idx3-ubyte[.gz]")
    src.add_argument("--moving-mnist", metavar="FILE", help="mnist_test_seq.npy to convert")
    g.add_argument("--num-digits", type=int, default=2, help="digits per video (default: 2)")
    g.add_argument("--num-frames", type=int, default=20, help="frames per video (default: 20)")
    g.add_argument("--canvas", type=int, default=64, help="frame side in pixels (default: 64)")
    g.add_argument("--digit-size", type=int, default=28, help="digit box side in pixels (default: 28)")
    g.add_argument(
        "--step", type=float, default=0.1, help="motion per frame, fraction of the free range (0.1)"
    )


def run(args: argparse.Namespace) -> int:
    import hashlib
    import os
    from dataclasses import asdict

    from seqgan.data.synth import digits as D

    try:
        if args.moving_mnist:
            seqs = D.open_moving_mnist(args.moving_mnist)
            n = seqs.shape[1] if args.num_episodes is None else min(args.num_episodes, seqs.shape[1])
            stat = os.stat(args.moving_mnist)
            settings = {
                "moving_mnist": os.path.abspath(args.moving_mnist),
                "size": stat.st_size,
                "mtime": int(stat.st_mtime),
            }
            return run_corpus(
                args,
                "moving-digits",
                "mmnist",
                lambda i: D.moving_mnist_episode(seqs, i, args.moving_mnist),
                settings,
                n,
            )
        cfg = D.DigitsConfig(
            canvas=args.canvas,
            digit_size=args.digit_size,
            num_digits=args.num_digits,
            num_frames=args.num_frames,
            step=args.step,
        )
        cfg.check()
        if args.mnist:
            if args.digit_size != 28:
                raise ValueError("--mnist digits are 28x28; leave --digit-size at 28")
            path = D.find_mnist_images(args.mnist)
            images, labels, source = D.read_idx_images(path), None, "mnist"
            digest = hashlib.sha256(images.tobytes()).hexdigest()[:16]
        else:
            images, labels = D.sklearn_digits(cfg.digit_size)
            source, digest = "sklearn", "sklearn"
            print(f"moving-digits: {D.NOT_COMPARABLE}")
    except (ValueError, FileNotFoundError) as e:
        print(f"seqgan data moving-digits: {e}", file=sys.stderr)
        return 2
    n = 1000 if args.num_episodes is None else args.num_episodes
    settings = {"params": asdict(cfg), "digit_source": source, "digits": digest, "seed": args.seed}
    return run_corpus(
        args,
        "moving-digits",
        "digits",
        lambda i: D.moving_digits_episode(images, labels, cfg, args.seed, i, source),
        settings,
        n,
    )
