"""Optional dependencies: imports that name the ``seqgan[...]`` extra to install when they fail.

The core install enhances, trains and scores speech; the frame / game corpora need packages that a
user who only denoises wav files never installs (``pip install 'seqgan[frames]'``). Code that needs
one of them imports it through :func:`require`, lazily, where it is used::

    ale_py = require("ale_py", "frames")
"""

from __future__ import annotations

import importlib
from types import ModuleType

# import name -> distribution name, where they differ
DISTRIBUTIONS = {
    "ale_py": "ale-py",
    "sklearn": "scikit-learn",
    "PIL": "Pillow",
    "yaml": "PyYAML",
    "pygame": "pygame-ce",
}


class MissingExtraError(ModuleNotFoundError):
    """An optional dependency is not installed; the message names the extra that provides it."""


def require(module: str, extra: str) -> ModuleType:
    """Imports ``module``, saying which extra to install when it is missing.

    Args:
        module: a module name, e.g. ``"ale_py"`` or ``"sklearn.datasets"``.
        extra: the extra of seqgan that installs it, e.g. ``"frames"``.

    Returns:
        The imported module.

    Raises:
        MissingExtraError: the module (or its package) is not installed, e.g. ``ale-py is not installed:
            pip install 'seqgan[frames]'``. An import error inside an installed package is not masked.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        top = module.split(".")[0]
        if e.name is not None and e.name.split(".")[0] != top:
            raise  # the package is there but one of its own dependencies is not
        dist = DISTRIBUTIONS.get(top, top)
        raise MissingExtraError(f"{dist} is not installed: pip install 'seqgan[{extra}]'", name=e.name) from e
