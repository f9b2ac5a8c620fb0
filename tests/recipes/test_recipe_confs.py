"""Every recipe configuration (egs/*/*/conf/*.yaml) loads and passes its checks as `seqgan train` would."""

from __future__ import annotations

from pathlib import Path

import pytest

import seqgan.tasks  # noqa: F401  (registers the tasks, as `seqgan train` does)
from seqgan.config import load_config

REPO = Path(__file__).resolve().parents[2]
CONFS = sorted(REPO.glob("egs/*/*/conf/*.yaml"))


def test_the_recipes_have_configurations():
    assert len(CONFS) >= 10


@pytest.mark.parametrize("path", CONFS, ids=[str(p.relative_to(REPO / "egs")) for p in CONFS])
def test_recipe_configuration_loads(path):
    config = load_config(path)
    assert config.task in ("enhancement", "next_frame", "toy")
