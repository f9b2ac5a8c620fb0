"""The ``seqgan`` command: thin wiring from subcommands to the library.

Each subcommand lives in ``seqgan/cli/<name>.py`` with ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args) -> int`` (the exit code). Subcommand modules import heavy libraries inside ``run`` so
that ``seqgan --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from seqgan import __version__
from seqgan._optional import MissingExtraError

SUBCOMMANDS = ("enhance", "train", "score", "predict", "play", "live", "data", "export", "info")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seqgan",
        description="Audio and sequence GANs: speech enhancement and next-frame prediction.",
    )
    parser.add_argument("--version", action="version", version=f"seqgan {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"seqgan.cli.{name}")
        p = sub.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MissingExtraError as e:  # an optional package: one line naming the extra to install
        print(f"seqgan {args.command}: {e}", file=sys.stderr)
        return 1
