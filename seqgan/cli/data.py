"""`seqgan data <corpus>`: generate or record the embedded corpora.

Each corpus command lives in ``seqgan/cli/data_<name>.py`` (``HELP``, ``add_arguments``, ``run``);
``CORPORA`` maps the command name to that module.
"""

from __future__ import annotations

import argparse
import importlib
import sys

HELP = "generate or record an embedded corpus (synth-speech, bouncing-balls, moving-digits, atari)"

CORPORA = {
    "synth-speech": "seqgan.cli.data_speech",
    "bouncing-balls": "seqgan.cli.data_balls",
    "moving-digits": "seqgan.cli.data_digits",
    "atari": "seqgan.cli.data_atari",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="corpus", metavar="CORPUS")
    for name, module_name in CORPORA.items():
        module = importlib.import_module(module_name)  # light: corpus packages are imported in run()
        p = sub.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_corpus_module=module)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "_corpus_module", None) is None:
        print("seqgan data: name a corpus: " + ", ".join(CORPORA), file=sys.stderr)
        return 2
    return int(args._corpus_module.run(args) or 0)
