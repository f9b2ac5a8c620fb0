"""Building a named (generator, discriminator) configuration with checked constructor overrides."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping
from typing import Any

from torch import nn

from seqgan.registry import UnknownNameError


def check_overrides(cls: type, kwargs: Mapping[str, Any], what: str) -> None:
    """Raises ``ValueError`` naming every key of ``kwargs`` that ``cls.__init__`` does not take."""
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(f"unknown {what} option(s) {', '.join(unknown)}; choose from: {', '.join(allowed)}")


def preset_kwargs(
    presets: Mapping[str, Mapping[str, Any]],
    family: str,
    preset: str,
    part: str,
    cls: type,
    overrides: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The constructor arguments of ``presets[preset][part]`` updated by ``overrides``, checked against ``cls``.

    Raises:
        UnknownNameError: unknown preset (the message lists the presets of ``family``).
        ValueError: an override that ``cls`` does not take.
    """
    if preset not in presets:
        raise UnknownNameError(
            f"unknown {family} preset '{preset}'; choose from: {', '.join(sorted(presets))}"
        )
    kwargs = {**copy.deepcopy(dict(presets[preset][part])), **dict(overrides or {})}
    check_overrides(cls, kwargs, f"{preset} {part}")
    return kwargs


def build_pair(
    presets: Mapping[str, Mapping[str, Any]],
    family: str,
    preset: str,
    generator_cls: type[nn.Module],
    discriminator_cls: type[nn.Module],
    generator_overrides: Mapping[str, Any] | None = None,
    discriminator_overrides: Mapping[str, Any] | None = None,
) -> tuple[nn.Module, nn.Module]:
    """``(generator_cls(**g_kwargs), discriminator_cls(**d_kwargs))`` of a named preset."""
    g = preset_kwargs(presets, family, preset, "generator", generator_cls, generator_overrides)
    d = preset_kwargs(presets, family, preset, "discriminator", discriminator_cls, discriminator_overrides)
    return generator_cls(**g), discriminator_cls(**d)
