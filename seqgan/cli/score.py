"""`seqgan score`."""

from __future__ import annotations

import argparse
import sys

HELP = "score (not available yet)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs=argparse.REMAINDER)


def run(args: argparse.Namespace) -> int:
    print("seqgan score: this command is not available yet in this version of seqgan", file=sys.stderr)
    return 2
