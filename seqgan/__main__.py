"""``python -m seqgan`` is the ``seqgan`` command."""

import sys

from seqgan.cli import main

sys.exit(main())
