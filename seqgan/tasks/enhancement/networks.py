"""The enhancement task's networks: a model family chosen by its preset, and any waveform discriminator.

``model.preset`` names a preset of one of the families below (the names are unique across them, so the
preset alone says which family builds the pair):

========== ======================================= ==============================================
family     presets                                 discriminator
========== ======================================= ==============================================
segan      segan, segan_plus, segan_small          conditional: ``D(estimate or clean, noisy)``
metricgan  metricgan_plus, metricgan_small         metric: ``D(estimate, clean)`` -> normalised PESQ
causal     metricgan_causal[_small]                metric (the causal, streamable MetricGAN+)
cmgan      cmgan, cmgan_small                      metric: ``D(estimate, clean)`` -> normalised PESQ
========== ======================================= ==============================================

``model.discriminator_preset`` (``hifigan``, ``univnet``, ``mpd``, ``msd``, ``mrstft``, ``hifigan_small``,
``univnet_small``: :func:`seqgan.models.hifigan.build_waveform_discriminator`) replaces the family's
discriminator by a multi-resolution waveform discriminator, for any of the generators (all map a waveform
to a waveform); ``model.discriminator`` then holds that discriminator's overrides (``conditional: true``
gives it the noisy waveform as a second channel). A metric discriminator learns with the ``metric``
objective only (:mod:`.metric_turns`), and the ``metric`` objective needs one (:func:`check_model`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from seqgan.config import ConfigError
from seqgan.models import causal, cmgan, hifigan, metricgan, segan
from seqgan.models.presets import preset_kwargs

__all__ = [
    "FAMILIES",
    "Family",
    "build_networks",
    "check_model",
    "family_of",
    "preset_names",
]

log = logging.getLogger(__name__)

Builder = Callable[[str, dict[str, Any], dict[str, Any]], tuple[nn.Module, nn.Module]]


@dataclass(frozen=True)
class Family:
    """A model family of the enhancement task.

    Attributes:
        name: the family's name.
        presets: its named configurations (``generator``, ``discriminator``, ``window``, ... per preset).
        build: ``build(preset, generator_overrides, discriminator_overrides) -> (G, D)``.
        generator_class: the generator alone (built beside a waveform discriminator).
        metric_discriminator: its own discriminator predicts a metric of ``(estimate, clean)`` pairs
            (trained with the ``metric`` objective) instead of judging ``(estimate or clean, noisy)``.
        fixed_window: its networks downsample by ``stride ** layers`` (the window must be a multiple) and
            its discriminator's heads see exactly one window (``input_length``).
    """

    name: str
    presets: Mapping[str, Mapping[str, Any]]
    build: Builder
    generator_class: type[nn.Module]
    metric_discriminator: bool = False
    fixed_window: bool = False


FAMILIES: dict[str, Family] = {
    "segan": Family("segan", segan.PRESETS, segan.build_segan, segan.SEGANGenerator, fixed_window=True),
    "metricgan": Family(
        "metricgan", metricgan.PRESETS, metricgan.build_metricgan, metricgan.MetricGANGenerator, True
    ),
    "cmgan": Family("cmgan", cmgan.PRESETS, cmgan.build_cmgan, cmgan.CMGANGenerator, True),
    "metricgan_causal": Family(
        "metricgan_causal",
        causal.PRESETS,
        causal.build_causal_metricgan,
        causal.CausalMetricGANGenerator,
        True,
    ),
}


def preset_names() -> list[str]:
    """Every generator preset of every family, sorted."""
    return sorted(name for family in FAMILIES.values() for name in family.presets)


def family_of(preset: str) -> Family | None:
    """The family whose presets hold ``preset``, or None."""
    for family in FAMILIES.values():
        if preset in family.presets:
            return family
    return None


def check_model(preset: str, discriminator_preset: str, objective: str) -> list[str]:
    """Whether the discriminator and the objective go together, one message per problem (dotted keys).

    A metric discriminator (the MetricGAN+ and CMGAN families' own) learns with the ``metric`` objective
    only, and the ``metric`` objective needs one. Unknown presets are ``model.preset``'s and
    ``model.discriminator_preset``'s own problems (:class:`SEModelConfig`): nothing is said about them here.

    Args:
        preset: ``model.preset``.
        discriminator_preset: ``model.discriminator_preset`` ("" for the family's own discriminator).
        objective: ``loss.objective``.
    """
    family = family_of(preset)
    if family is None:
        return []
    metric_d = family.metric_discriminator and not discriminator_preset
    if metric_d and objective != "metric":
        return [
            f"loss.objective: the {preset} discriminator learns a metric; set loss.objective=metric "
            f"(got '{objective}'), or choose a model.discriminator_preset"
        ]
    if objective == "metric" and not metric_d:
        with_d = f" with discriminator_preset '{discriminator_preset}'" if discriminator_preset else ""
        metric = sorted(n for f in FAMILIES.values() if f.metric_discriminator for n in f.presets)
        return [
            f"loss.objective: 'metric' needs a metric discriminator (model.preset {', '.join(metric)}, "
            f"without model.discriminator_preset); got '{preset}'{with_d}"
        ]
    return []


def _check_segan_window(spec: Mapping[str, Any], name: str, window: int) -> None:
    """SEGAN's networks downsample by ``stride ** layers``: a window that is not a multiple is a config error."""
    try:
        multiple = int(spec.get("stride", 2)) ** len(spec["channels"])
    except (KeyError, TypeError, ValueError):
        return  # build_segan reports a malformed spec
    if window % multiple:
        raise ConfigError(
            f"data.window={window} is not a multiple of the {name}'s length_multiple ({multiple} = "
            f"stride ** layers); use e.g. data.window={max(multiple, window // multiple * multiple)}"
        )


def build_networks(
    preset: str,
    generator: Mapping[str, Any],
    discriminator: Mapping[str, Any],
    discriminator_preset: str,
    window: int,
) -> tuple[nn.Module, nn.Module]:
    """A fresh ``(generator, discriminator)`` pair.

    Args:
        preset: a preset of one family (``model.preset``).
        generator: constructor overrides of the generator (``model.generator``).
        discriminator: overrides of the discriminator (``model.discriminator``): the family's one, or the
            waveform discriminator's with ``discriminator_preset``.
        discriminator_preset: a waveform discriminator preset, or "" for the family's own.
        window: the training window in samples (``data.window``): SEGAN's fixed-length discriminator
            heads see one window, and its networks need a multiple of ``stride ** layers``.

    Raises:
        ConfigError: an unknown preset or override, or a window the networks cannot take (the message
            names the key).
    """
    family = family_of(preset)
    if family is None:
        raise ConfigError(
            f"model.preset: unknown preset '{preset}'; choose from: {', '.join(preset_names())}"
        )
    spec = family.presets[preset]
    if spec.get("window") and spec["window"] != window:
        log.info(
            "model preset '%s' was designed for %d-sample windows; training on %d",
            preset,
            spec["window"],
            window,
        )
    g_overrides, d_overrides = dict(generator), dict(discriminator)
    own_d = not discriminator_preset
    if family.fixed_window:
        _check_segan_window({**spec["generator"], **g_overrides}, "generator", window)
        if own_d:
            d_overrides.setdefault("input_length", window)
            _check_segan_window({**spec["discriminator"], **d_overrides}, "discriminator", window)
    try:
        if own_d:
            return family.build(preset, g_overrides, d_overrides)
        cls = family.generator_class
        g = cls(**preset_kwargs(family.presets, family.name, preset, "generator", cls, g_overrides))
    except ValueError as e:  # UnknownNameError is a ValueError too
        raise ConfigError(f"model: {e}") from None
    try:
        d = hifigan.build_waveform_discriminator(discriminator_preset, d_overrides)
    except ValueError as e:
        raise ConfigError(f"model.discriminator: {e}") from None
    return g, d
