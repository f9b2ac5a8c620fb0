"""Counterfactual evaluation of action-conditioned next-frame models against the Atari emulator.

A recorded episode only shows what followed the action the policy took. The emulator knows what
follows *every* action: each held-out Atari episode is replayed in a fresh ale-py emulator seeded as
the recording was (:func:`seqgan.data.synth.atari.record_atari_episode` stores the seed and settings in
the metadata; the replay is checked against the recorded frames), its state is cloned at the last
context frame (``ALEInterface.cloneState``), and for each action of the game's minimal action set the
state is restored (``restoreState``) and that action is **held for every one of the ``S`` steps**
(``frameskip`` emulator frames each, the last one kept, as recorded). The branches run with sticky
actions off (``repeat_action_probability`` 0), so each branch's frames are what that action does.
The emulator screens go through the corpus's own conversion
(:func:`seqgan.data.synth.atari.convert_screens`: crop, grey, resize) and then the model's
(:meth:`seqgan.predict.Predictor.prepare`), exactly as the training frames did.

The model's counterpart: the same ``K`` context frames (with the recorded actions between them), rolled
out for ``S`` steps with its own predictions fed back, action ``a`` at every step. Figures per step
``s = 1 .. S`` (:func:`score_cases`), PSNR in dB with data range 2 on [-1, 1] frames (= 255 on uint8),
capped per frame, and SSIM on the uint8 convention:

* ``factual_psnr`` / ``factual_ssim``: the rollout under the recorded actions against the recorded
  frames (the usual validation figures);
* ``cf_psnr`` / ``cf_ssim``: the mean over actions of the rollout under ``a`` against the emulator's
  frames under ``a``;
* ``ad_psnr``: the PSNR over the **action-dependent pixels** only, the pixels of step ``s`` where the
  emulator's frames under different actions differ (:func:`action_dependent_mask`): one PSNR per state
  and step from the squared error over those pixels of every action's frame (pooled over the actions,
  so that the actions whose frame a model gets exactly right do not enter the mean at the cap), then
  the mean over states; a state whose frames agree for every action at step ``s`` has no such pixel
  and is left out of that step;
* ``identifiability``: for each action ``a`` whose true frame differs from another action's, is the
  prediction under ``a`` closer (mean squared error over the frame) to the true frame under ``a`` than
  the prediction under every action ``b`` whose true frame differs from it? Actions with identical true
  frames at that step (Pong's NOOP and FIRE when nothing fires) form one outcome and count as one: each
  action of an outcome of ``m`` actions weighs ``1 / m``, so the figure is the fraction of outcomes
  identified (:func:`identified`). A tie is a miss, so a model that ignores the action (copy-last-frame)
  scores 0; a state with a single outcome at step ``s`` is left out.

Every model is scored beside copy-last-frame (the last context frame for every step and action).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from seqgan.data.episodes import read_episode
from seqgan.metrics.frames import SSIM_WINDOW, psnr, ssim

log = logging.getLogger(__name__)

__all__ = [
    "COPY_LAST",
    "CounterfactualCase",
    "action_dependent_mask",
    "emulator_cases",
    "generator_rollout",
    "identified",
    "masked_psnr",
    "outcome_groups",
    "score_cases",
]

COPY_LAST = "copy-last"
FIGURES = ("factual_psnr", "factual_ssim", "cf_psnr", "cf_ssim", "ad_psnr", "identifiability")

# (context (B, K, C, H, W) in [-1, 1], actions (B, K - 1 + S) long) -> predictions (B, S, C, H, W)
RolloutFn = Callable[[Tensor, Tensor], Tensor]


@dataclass
class CounterfactualCase:
    """One held-out emulator state and what follows it, in the model's frames.

    Attributes:
        episode: the episode id.
        start: the index of the first context frame in the episode.
        context: uint8 ``(K, H, W, C)``, frames ``start .. start + K - 1``.
        context_actions: int64 ``(K - 1,)``, the recorded actions between the context frames.
        actions: int64 ``(S,)``, the recorded actions leading to the factual frames.
        factual: uint8 ``(S, H, W, C)``, the recorded frames after the context.
        truth: uint8 ``(A, S, H, W, C)``, the emulator's frames when action ``a`` is held for ``S`` steps.
        action_meanings: the names of the ``A`` actions.
    """

    episode: str
    start: int
    context: np.ndarray
    context_actions: np.ndarray
    actions: np.ndarray
    factual: np.ndarray
    truth: np.ndarray
    action_meanings: list[str]


# -- ground truth from the emulator ------------------------------------------------------------------------


def _recording_config(meta: Mapping[str, Any], where: str) -> Any:
    from seqgan.data.synth.atari import AtariConfig

    if meta.get("source") != "ale" or "params" not in meta or "ale_seed" not in meta:
        raise ValueError(
            f"{where}: not an ale-py recording with its settings (source 'ale', params, ale_seed); "
            "record the episodes with seqgan data atari"
        )
    p = dict(meta["params"])
    p["crop"] = tuple(p.get("crop") or (0, 0, 0, 0))
    p["resize"] = tuple(p["resize"]) if p.get("resize") else None
    return AtariConfig(**p)


def emulator_cases(
    episodes: Mapping[str, str],
    starts: Sequence[int],
    context: int,
    steps: int,
    prepare: Callable[[np.ndarray], np.ndarray] | None = None,
    make_emulator: Callable[[str, int, float], Any] | None = None,
) -> list[CounterfactualCase]:
    """The counterfactual cases of recorded Atari episodes: one per start position that leaves room for
    ``context`` frames and ``steps`` recorded frames after them (no terminal frame in between).

    Args:
        episodes: ``{episode id: path}`` of episodes recorded by ``seqgan data atari``.
        starts: first context frame of the cases in each episode.
        context: ``K``, the model's context frames.
        steps: ``S``, the steps each action is held for.
        prepare: the model's frame conversion on uint8 ``(T, H, W, C)``
            (:meth:`seqgan.predict.Predictor.prepare`); None keeps the recorded frames.
        make_emulator: ``(rom id, seed, repeat_action_probability) -> ALEInterface``; default
            :func:`seqgan.data.synth.atari.make_emulator` (a stand-in for tests).

    Returns:
        The cases, in episode then start order.

    Raises:
        ValueError: an episode is not an ale-py recording, or replaying its actions does not give its
            recorded frames (another ale-py version or settings: record the corpus again).
    """
    from seqgan.data.synth import atari

    make = make_emulator or atari.make_emulator
    prepare = prepare or (lambda x: x)
    cases: list[CounterfactualCase] = []
    for key, path in episodes.items():
        ep = read_episode(path)
        where = f"{path} ({key})"
        cfg = _recording_config(ep.meta, where)
        if ep.actions is None:
            raise ValueError(f"{where}: the episode has no recorded actions")
        t_total = ep.num_frames
        ends = np.flatnonzero(ep.terminated[:-1])
        limit = int(ends[0]) + 1 if ends.size else t_total  # frames before the first terminal one
        usable = sorted({int(s) for s in starts if 0 <= s and s + context + steps <= limit})
        if not usable:
            continue
        game = str(ep.meta["game"])
        replay = make(game, int(ep.meta["ale_seed"]), float(cfg.sticky_actions))
        branch = make(game, int(ep.meta["ale_seed"]), 0.0)
        action_set = list(replay.getMinimalActionSet())
        names = [str(n) for n in ep.meta.get("action_meanings", [])] or [str(a) for a in action_set]
        if len(action_set) != int(ep.meta.get("num_actions", len(action_set))):
            raise ValueError(
                f"{where}: the emulator has {len(action_set)} actions, the recording "
                f"{ep.meta.get('num_actions')}; record the corpus again with this ale-py"
            )
        t = 0
        for start in usable:
            last = start + context - 1
            while t < last:
                screen = atari.play_step(replay, action_set[int(ep.actions[t])], cfg.frameskip)
                t += 1
            if t > 0 and not np.array_equal(atari.convert_screens([screen], cfg)[0], ep.frames[t]):
                raise ValueError(
                    f"{where}: replaying the recorded actions does not give the recorded frame {t} "
                    "(another ale-py version or settings?); record the corpus again"
                )
            state = replay.cloneState()
            screens = atari.branch_screens(branch, state, action_set, cfg.frameskip, steps)
            truth = prepare(atari.convert_screens(screens, cfg))
            frames = prepare(ep.frames[start : last + 1 + steps])
            cases.append(
                CounterfactualCase(
                    episode=key,
                    start=start,
                    context=frames[:context],
                    context_actions=ep.actions[start:last].astype(np.int64),
                    actions=ep.actions[last : last + steps].astype(np.int64),
                    factual=frames[context:],
                    truth=truth.reshape(len(action_set), steps, *truth.shape[1:]),
                    action_meanings=names,
                )
            )
    log.info("%d counterfactual cases from %d episode(s)", len(cases), len(episodes))
    return cases


# -- metrics ------------------------------------------------------------------------------------------------


def outcome_groups(truth: Tensor) -> Tensor:
    """Which actions have the same outcome, per step.

    Args:
        truth: ``(A, S, C, H, W)`` the true frames under each action.

    Returns:
        ``(S, A)`` long: the label of action ``a`` at step ``s`` is the smallest action index whose true
        frame at step ``s`` equals ``a``'s (so equal labels mean identical frames).
    """
    flat = truth.flatten(2)  # (A, S, D)
    same = (flat[:, None] == flat[None, :]).all(-1)  # (A, A, S): same[b, a, s]
    return same.permute(2, 1, 0).to(torch.uint8).argmax(-1)  # the first b equal to a


def action_dependent_mask(truth: Tensor) -> Tensor:
    """The pixels where the true frames under different actions differ.

    Args:
        truth: ``(A, S, C, H, W)``.

    Returns:
        ``(S, H, W)`` bool: True where some two actions' frames differ in some channel.
    """
    return (truth.amax(0) != truth.amin(0)).any(-3)


def masked_psnr(
    pred: Tensor, target: Tensor, mask: Tensor, data_range: float, cap: float | None = None
) -> Tensor:
    """PSNR per frame over the masked pixels only.

    Args:
        pred: ``(..., C, H, W)``.
        target: ``(..., C, H, W)``.
        mask: ``(..., H, W)`` bool, broadcast against the frames' leading axes.
        data_range: MAX (2 for [-1, 1]).
        cap: clip values above this many dB (identical pixels give inf).

    Returns:
        ``(...)`` in dB; NaN where the mask is empty.
    """
    m = mask.unsqueeze(-3).to(torch.float64)
    err = (pred.double() - target.double()).pow(2) * m
    count = m.expand_as(err).flatten(-3).sum(-1)
    mse = err.flatten(-3).sum(-1) / count
    out = 10.0 * torch.log10(data_range**2 / mse)
    if cap is not None:
        out = out.clamp(max=cap)
    return torch.where(count > 0, out, torch.full_like(out, float("nan")))


def identified(pred: Tensor, truth: Tensor, groups: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Action identifiability of one state (see the module notes).

    Args:
        pred: ``(A, S, C, H, W)`` the predictions under each action.
        truth: ``(A, S, C, H, W)`` the true frames under each action.
        groups: ``(S, A)`` from :func:`outcome_groups` (computed when None).

    Returns:
        ``(hits, outcomes)``, each ``(S,)`` float64: the identified outcomes (each action of an outcome of
        ``m`` actions counts ``1 / m``) and the outcomes counted (the number of distinct outcomes where
        there are at least two, else 0).
    """
    if groups is None:
        groups = outcome_groups(truth)
    # mse[s, a, b]: the prediction under b against the true frame under a
    diff = pred.double().unsqueeze(0) - truth.double().unsqueeze(1)  # (A_truth, A_pred, S, C, H, W)
    mse = diff.pow(2).flatten(3).mean(-1).permute(2, 0, 1)  # (S, A, A)
    rival = groups.unsqueeze(2) != groups.unsqueeze(1)  # (S, a, b): b's true frame differs from a's
    own = mse.diagonal(dim1=1, dim2=2)  # (S, A)
    best_rival = mse.masked_fill(~rival, float("inf")).amin(-1)  # (S, A)
    has_rival = rival.any(-1)
    size = (groups.unsqueeze(2) == groups.unsqueeze(1)).sum(-1).double()  # (S, A): |outcome of a|
    weight = has_rival.double() / size
    hits = ((own < best_rival).double() * weight).sum(-1)
    return hits, weight.sum(-1)


def generator_rollout(generator: nn.Module, device: str | torch.device = "cpu") -> RolloutFn:
    """A :data:`RolloutFn` rolling ``generator`` out with its predictions fed back
    (:func:`seqgan.predict.rollout`), clamped to [-1, 1]."""
    from seqgan.predict import rollout

    def run(context: Tensor, actions: Tensor) -> Tensor:
        steps = actions.shape[1] - context.shape[1] + 1
        with torch.no_grad():
            out = rollout(generator, context.to(device), steps, actions.to(device))
        return out.float().clamp(-1.0, 1.0).cpu()

    return run


def _copy_last(context: Tensor, actions: Tensor) -> Tensor:
    steps = actions.shape[1] - context.shape[1] + 1
    return context[:, -1:].expand(-1, steps, -1, -1, -1)


def _pm1(frames: np.ndarray) -> Tensor:
    """uint8 ``(..., H, W, C)`` -> float32 ``(..., C, H, W)`` in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).float().div(127.5).sub(1.0).movedim(-1, -3)


def score_cases(
    models: Mapping[str, RolloutFn],
    cases: Sequence[CounterfactualCase],
    psnr_cap: float | None = 100.0,
    num_actions: int | None = None,
) -> dict[str, Any]:
    """Factual and counterfactual figures per step of each model and of copy-last-frame.

    Args:
        models: ``{name: rollout function}`` (:func:`generator_rollout`); copy-last-frame is added as
            :data:`COPY_LAST`.
        cases: from :func:`emulator_cases`, all with the same ``A`` and ``S``.
        psnr_cap: per-frame cap of the PSNR figures in dB (None: no cap).
        num_actions: score only the first this many actions (default: all of the cases').

    Returns:
        A JSON-ready dict: ``models[name][figure]`` a list of ``S`` per-step values for each figure of
        the module notes (``None`` where no case counts), ``num_cases``, ``steps``, ``actions``;
        per step ``outcomes`` (the mean number of distinct outcomes), ``action_dependent_fraction``
        (the mean fraction of action-dependent pixels), ``ad_cases`` and ``id_outcomes`` (the cases
        and outcomes behind ``ad_psnr`` and ``identifiability``).

    Raises:
        ValueError: no case, or cases of different shapes.
    """
    if not cases:
        raise ValueError("no counterfactual case: the episodes are too short for the start positions")
    a_n, steps = cases[0].truth.shape[:2]
    a_n = min(a_n, num_actions or a_n)
    runners = {COPY_LAST: _copy_last, **models}
    sums = {n: {f: torch.zeros(steps, dtype=torch.float64) for f in FIGURES} for n in runners}
    ad_cases = torch.zeros(steps, dtype=torch.float64)
    id_outcomes = torch.zeros(steps, dtype=torch.float64)
    outcomes = torch.zeros(steps, dtype=torch.float64)
    ad_fraction = torch.zeros(steps, dtype=torch.float64)
    with_ssim = min(cases[0].truth.shape[2:4]) >= SSIM_WINDOW
    for case in cases:
        if case.truth.shape[1] != steps:
            raise ValueError(f"case {case.episode}@{case.start} has {case.truth.shape[1]} steps, not {steps}")
        truth = _pm1(case.truth[:a_n])  # (A, S, C, H, W)
        factual = _pm1(case.factual).unsqueeze(0)  # (1, S, C, H, W)
        ctx = _pm1(case.context).unsqueeze(0)  # (1, K, C, H, W)
        prefix = torch.from_numpy(case.context_actions.clip(0)).long()
        held = torch.arange(a_n).unsqueeze(1).expand(a_n, steps)
        cf_actions = torch.cat([prefix.expand(a_n, -1), held], dim=1)  # (A, K - 1 + S)
        fa_actions = torch.cat([prefix, torch.from_numpy(case.actions).long()]).unsqueeze(0)
        mask = action_dependent_mask(truth)  # (S, H, W)
        has_mask = mask.flatten(1).any(-1)
        groups = outcome_groups(truth)
        ad_cases += has_mask.double()
        ad_fraction += mask.flatten(1).double().mean(-1)
        outcomes += torch.tensor([len(torch.unique(g)) for g in groups], dtype=torch.float64)
        for name, run in runners.items():
            s = sums[name]
            fa = run(ctx, fa_actions)
            cf = run(ctx.expand(a_n, -1, -1, -1, -1), cf_actions)
            s["factual_psnr"] += psnr(fa, factual, 2.0, cap=psnr_cap)[0].double()
            s["cf_psnr"] += psnr(cf, truth, 2.0, cap=psnr_cap).double().mean(0)
            if with_ssim:
                s["factual_ssim"] += ssim(fa, factual, (-1.0, 1.0))[0].double()
                s["cf_ssim"] += ssim(cf, truth, (-1.0, 1.0)).double().mean(0)
            # one PSNR per step over the action-dependent pixels of every action's frame (NaN: no pixel)
            pooled = [x.transpose(0, 1).flatten(1, 2) for x in (cf, truth)]  # (S, A * C, H, W)
            ad = masked_psnr(*pooled, mask, 2.0, psnr_cap)
            s["ad_psnr"] += torch.nan_to_num(ad, nan=0.0)
            hits, counted = identified(cf, truth, groups)
            s["identifiability"] += hits
            if name == COPY_LAST:
                id_outcomes += counted
    n = float(len(cases))

    def finish(values: Tensor, count: Tensor | float) -> list[float | None]:
        count = torch.as_tensor(count, dtype=torch.float64).expand(steps)
        return [float(v / c) if c > 0 else None for v, c in zip(values, count)]

    result: dict[str, Any] = {"models": {}}
    for name, s in sums.items():
        r = {f: finish(s[f], n) for f in ("factual_psnr", "cf_psnr")}
        if with_ssim:
            r.update({f: finish(s[f], n) for f in ("factual_ssim", "cf_ssim")})
        r["ad_psnr"] = finish(s["ad_psnr"], ad_cases)
        r["identifiability"] = finish(s["identifiability"], id_outcomes)
        result["models"][name] = r
    result.update(
        {
            "num_cases": len(cases),
            "steps": int(steps),
            "actions": cases[0].action_meanings[:a_n],
            "outcomes": finish(outcomes, n),
            "action_dependent_fraction": finish(ad_fraction, n),
            "ad_cases": ad_cases.tolist(),
            "id_outcomes": id_outcomes.tolist(),
            "psnr_cap": psnr_cap,
        }
    )
    return result
