"""Adversarial objectives, discriminator penalties and feature matching, shared by every task.

An *objective* turns raw discriminator outputs ``v`` (logits / critic values, before any activation)
into a discriminator loss and a generator loss::

    objective = get_objective("lsgan")
    enhanced = G(noisy)
    d_loss = objective.discriminator_loss(D(clean, noisy), D(enhanced.detach(), noisy))
    g_loss = objective.generator_loss(D(enhanced, noisy))

``real`` / ``fake`` may be one tensor or a list/tuple of tensors (multi-scale or several
discriminators); the loss is then the average over the list. Any shape is accepted (``(batch, 1)``,
patch outputs ``(batch, frames)``, ...); every element counts equally in the means. Half-precision
outputs are promoted to float32 before the loss.

=================== ===================================================== ==========================
name                D loss                                                G loss (default)
=================== ===================================================== ==========================
``minimax``         E_P softplus(-v) + E_Q softplus(v)  (= -V(D, G))      -E_Q softplus(v) = E log(1-D)
``nsgan``           same as minimax                                       E_Q softplus(-v) = -E log D
``lsgan``           E_P (v - 1)^2 + E_Q v^2                               E_Q (v - 1)^2
``wgan``            E_Q v - E_P v  (+ weight clipping of D)               -E_Q v
``wgan-gp``         E_Q v - E_P v  (+ gradient penalty, weight 10)        -E_Q v
``hinge``           E_P relu(1 - v) + E_Q relu(1 + v)                     -E_Q v
``fgan-<f>``        -(E_P g_f(v) - E_Q f*(g_f(v)))                        -E_Q g_f(v)
``metric``          E_P (v - Q_P)^2 + E_Q (v - Q_Q)^2 (per-example Q)     E_Q (v - 1)^2
=================== ===================================================== ==========================

The f-GAN family (Nowozin, Cseke, Tomioka 2016) covers ``kl``, ``reverse-kl``, ``pearson``,
``hellinger`` (squared Hellinger), ``js`` and ``gan``; each exposes ``f``, ``f_prime``, ``activation``
(g_f) and ``conjugate`` (f*) from the paper's Tables 1 and 2.

Objectives that need something outside the loss say so: ``weight_clip_recommended`` / ``weight_clip``
(WGAN: clamp D's weights with :func:`clip_weights_` after every D step) and ``needs_gradient_penalty``
/ ``gradient_penalty_weight`` (WGAN-GP: add :func:`gradient_penalty` to the D loss).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqgan.registry import Registry

#: A discriminator's output: one tensor, or a list/tuple of tensors (one per scale / discriminator).
Outputs = Union[Tensor, Sequence[Tensor]]

LOG2 = math.log(2.0)


def _as_list(outputs: Outputs) -> list[Tensor]:
    items = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if not items:
        raise ValueError("discriminator outputs are an empty list; expected a tensor or a list of tensors")
    # bf16/fp16 logits (autocast) are promoted so that squares and exponentials stay accurate
    return [t.float() if t.dtype in (torch.float16, torch.bfloat16) else t for t in items]


def _list_mean(losses: list[Tensor]) -> Tensor:
    return losses[0] if len(losses) == 1 else torch.stack(losses).mean()


class Objective:
    """Base class of the adversarial objectives.

    Subclasses implement ``_d_loss`` and ``_g_loss`` on single tensors; the public methods accept a
    tensor or a list of tensors and average over the list.

    Attributes:
        name: registry name.
        needs_gradient_penalty: the task should add :func:`gradient_penalty` to the D loss.
        gradient_penalty_weight: the weight to use with it (0 when not needed).
        weight_clip_recommended: the trainer should clamp D's weights after every D step.
        weight_clip: the clamp value c (weights in [-c, c]); 0 when not needed.
    """

    name: str = ""
    needs_gradient_penalty: bool = False
    gradient_penalty_weight: float = 0.0
    weight_clip_recommended: bool = False
    weight_clip: float = 0.0

    def discriminator_loss(self, real: Outputs, fake: Outputs) -> Tensor:
        """Loss the discriminator minimises.

        Args:
            real: D outputs on real data, a tensor of any shape or a list of them.
            fake: D outputs on generated data (detached from G by the caller), same structure as ``real``.

        Returns:
            Scalar tensor.
        """
        reals, fakes = _as_list(real), _as_list(fake)
        if len(reals) != len(fakes):
            raise ValueError(
                f"{len(reals)} real outputs but {len(fakes)} fake outputs; D must return the same structure"
            )
        return _list_mean([self._d_loss(r, f) for r, f in zip(reals, fakes)])

    def generator_loss(self, fake: Outputs) -> Tensor:
        """Loss the generator minimises, from D outputs on generated data (tensor or list). Scalar."""
        return _list_mean([self._g_loss(f) for f in _as_list(fake)])

    def _d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        raise NotImplementedError

    def _g_loss(self, fake: Tensor) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        params = inspect.signature(type(self)).parameters
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in params if hasattr(self, k))
        return f"{type(self).__name__}({args})"


OBJECTIVES: Registry[type[Objective]] = Registry("objective", base=Objective)


def _objective(name: str) -> Callable[[type[Objective]], type[Objective]]:
    """Registers a class in ``OBJECTIVES`` and records its name on it."""

    def deco(cls: type[Objective]) -> type[Objective]:
        cls.name = name
        return OBJECTIVES.register(name)(cls)

    return deco


# -- the classic objectives -------------------------------------------------------------------------
@_objective("minimax")
class MinimaxGAN(Objective):
    """Original GAN (Goodfellow et al. 2014) with the saturating generator loss.

    With D(x) = σ(v): V(D, G) = E_P log D(x) + E_Q log(1 − D(G(z))). D minimises −V, written stably as
    E_P softplus(−v) + E_Q softplus(v); G minimises E_Q log(1 − σ(v)) = −E_Q softplus(v). At the optimal
    D* = p/(p + q), V = −log 4 + 2·JS(P‖Q).

    Args:
        real_label: target for real data in the D loss; 1 is the paper, 0.9 is one-sided label
            smoothing (Salimans et al. 2016).
    """

    def __init__(self, real_label: float = 1.0) -> None:
        self.real_label = float(real_label)

    def _d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        # binary cross-entropy with logits, target real_label for real and 0 for fake
        s = self.real_label
        real_term = s * F.softplus(-real) + (1.0 - s) * F.softplus(real)
        return real_term.mean() + F.softplus(fake).mean()

    def _g_loss(self, fake: Tensor) -> Tensor:
        return -F.softplus(fake).mean()


@_objective("nsgan")
class NonSaturatingGAN(MinimaxGAN):
    """Non-saturating GAN: D as in ``minimax``; G minimises −E_Q log σ(v) = E_Q softplus(−v).

    Same fixed point as minimax, but G's gradient stays large where D confidently rejects the fakes
    (v ≪ 0), where the saturating loss's gradient σ(v) vanishes.
    """

    def _g_loss(self, fake: Tensor) -> Tensor:
        return F.softplus(-fake).mean()


@_objective("lsgan")
class LeastSquaresGAN(Objective):
    """Least-squares GAN (Mao et al. 2017), as used by SEGAN.

    D: scale·[E_P (v − a)² + E_Q (v − b)²]; G: scale·E_Q (v − c)², with a = 1, b = 0, c = 1.

    Factor choice: ``scale=1`` (default) is the form of the released SEGAN code and of seqgan's
    SEGAN recipe (adversarial term weighted 1 beside λ = 100 for the L1 term). Mao et al. and the
    equations printed in the SEGAN paper carry ½; ``scale=0.5`` reproduces them (equivalently, keep
    scale 1 and double λ).

    Args:
        scale: factor on both losses.
        real_target: a, D's target for real data.
        fake_target: b, D's target for generated data.
        generator_target: c, the value G wants D to output on its samples.
    """

    def __init__(
        self,
        scale: float = 1.0,
        real_target: float = 1.0,
        fake_target: float = 0.0,
        generator_target: float = 1.0,
    ) -> None:
        self.scale = float(scale)
        self.real_target = float(real_target)
        self.fake_target = float(fake_target)
        self.generator_target = float(generator_target)

    def _d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return self.scale * (
            (real - self.real_target).pow(2).mean() + (fake - self.fake_target).pow(2).mean()
        )

    def _g_loss(self, fake: Tensor) -> Tensor:
        return self.scale * (fake - self.generator_target).pow(2).mean()


@_objective("wgan")
class WassersteinGAN(Objective):
    """Wasserstein GAN (Arjovsky et al. 2017): D (the critic) minimises E_Q v − E_P v; G minimises −E_Q v.

    The critic must be kept K-Lipschitz: the paper clamps its weights to [−c, c] after every update
    (c = 0.01), which the trainer does with :func:`clip_weights_` when ``weight_clip`` is set. The
    paper trains with RMSprop (lr 5e-5) and 5 critic steps per G step.

    Args:
        clip: the weight clamp value c.
    """

    weight_clip_recommended = True

    def __init__(self, clip: float = 0.01) -> None:
        if clip <= 0:
            raise ValueError(f"wgan: clip must be > 0, got {clip}")
        self.clip = self.weight_clip = float(clip)

    def _d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return fake.mean() - real.mean()

    def _g_loss(self, fake: Tensor) -> Tensor:
        return -fake.mean()


@_objective("wgan-gp")
class WassersteinGANGP(WassersteinGAN):
    """WGAN with gradient penalty (Gulrajani et al. 2017): the ``wgan`` losses, no weight clipping.

    The task adds ``gradient_penalty(D, real, fake, weight=objective.gradient_penalty_weight)`` to the
    D loss. The paper uses λ = 10, Adam(lr 1e-4, β = (0, 0.9)), 5 critic steps, and no batch norm in D.

    Args:
        gp_weight: λ, the penalty weight.
    """

    needs_gradient_penalty = True
    weight_clip_recommended = False

    def __init__(self, gp_weight: float = 10.0) -> None:
        self.gp_weight = self.gradient_penalty_weight = float(gp_weight)


@_objective("hinge")
class HingeGAN(Objective):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): D: E_P relu(1 − v) + E_Q relu(1 + v); G: −E_Q v."""

    def _d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()

    def _g_loss(self, fake: Tensor) -> Tensor:
        return -fake.mean()


# -- f-GAN ------------------------------------------------------------------------------------------
class FGAN(Objective):
    """f-GAN (Nowozin, Cseke, Tomioka 2016) for the divergence D_f(P‖Q) = E_Q f(p/q).

    The critic is T(x) = g_f(v(x)) with the output activation g_f mapping into the domain of the
    Fenchel conjugate f*(t) = sup_u (t·u − f(u)). D maximises the variational lower bound

        F(T) = E_P[T(x)] − E_Q[f*(T(x))] ≤ D_f(P‖Q),   tight at T* = f'(p/q),

    so its loss is −F. The generator minimises the same bound (``generator_form="saddle"``:
    G loss = −E_Q f*(g_f(v))), or, as in the paper's experiments, maximises E_Q g_f(v)
    (``generator_form="nonsaturating"``, the default: G loss = −E_Q g_f(v)), which has the same
    fixed point and stronger early gradients. For ``fgan-gan`` these two are exactly ``minimax`` and
    ``nsgan``.

    Subclasses give f, f', g_f, f* and a numerically stable f*(g_f(v)).

    Args:
        generator_form: ``"nonsaturating"`` (default) or ``"saddle"``.
    """

    GENERATOR_FORMS = ("nonsaturating", "saddle")

    def __init__(self, generator_form: str = "nonsaturating") -> None:
        if generator_form not in self.GENERATOR_FORMS:
            raise ValueError(
                f"{self.name}: unknown generator_form '{generator_form}'; choose from: {', '.join(self.GENERATOR_FORMS)}"
            )
        self.generator_form = generator_form

    @staticmethod
    def f(u: Tensor) -> Tensor:
        """The convex generator function f(u), u = p/q > 0; f(1) = 0 (−log 4 for ``fgan-gan``)."""
        raise NotImplementedError

    @staticmethod
    def f_prime(u: Tensor) -> Tensor:
        """f'(u); the optimal critic is T*(x) = f'(p(x)/q(x))."""
        raise NotImplementedError

    @staticmethod
    def activation(v: Tensor) -> Tensor:
        """Output activation g_f: raw D output v → critic value T in dom f*."""
        raise NotImplementedError

    @staticmethod
    def conjugate(t: Tensor) -> Tensor:
        """Fenchel conjugate f*(t), t in dom f*."""
        raise NotImplementedError

    @staticmethod
    def conjugate_of_activation(v: Tensor) -> Tensor:
        """f*(g_f(v)) in a form that stays finite for large |v|."""
        raise NotImplementedError

    def _d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return -(self.activation(real).mean() - self.conjugate_of_activation(fake).mean())

    def _g_loss(self, fake: Tensor) -> Tensor:
        if self.generator_form == "saddle":
            return -self.conjugate_of_activation(fake).mean()
        return -self.activation(fake).mean()


@_objective("fgan-kl")
class FGANKL(FGAN):
    """KL(P‖Q): f = u log u, g_f(v) = v, f*(t) = exp(t − 1)."""

    f = staticmethod(lambda u: torch.xlogy(u, u))
    f_prime = staticmethod(lambda u: torch.log(u) + 1.0)
    activation = staticmethod(lambda v: v)
    conjugate = staticmethod(lambda t: torch.exp(t - 1.0))
    conjugate_of_activation = staticmethod(lambda v: torch.exp(v - 1.0))


@_objective("fgan-reverse-kl")
class FGANReverseKL(FGAN):
    """KL(Q‖P): f = −log u, g_f(v) = −exp(−v) (< 0), f*(t) = −1 − log(−t); f*(g_f(v)) = v − 1."""

    f = staticmethod(lambda u: -torch.log(u))
    f_prime = staticmethod(lambda u: -1.0 / u)
    activation = staticmethod(lambda v: -torch.exp(-v))
    conjugate = staticmethod(lambda t: -1.0 - torch.log(-t))
    conjugate_of_activation = staticmethod(lambda v: v - 1.0)


@_objective("fgan-pearson")
class FGANPearson(FGAN):
    """Pearson χ²: f = (u − 1)², g_f(v) = v, f*(t) = t²/4 + t."""

    f = staticmethod(lambda u: (u - 1.0).pow(2))
    f_prime = staticmethod(lambda u: 2.0 * (u - 1.0))
    activation = staticmethod(lambda v: v)
    conjugate = staticmethod(lambda t: 0.25 * t.pow(2) + t)
    conjugate_of_activation = staticmethod(lambda v: 0.25 * v.pow(2) + v)


@_objective("fgan-hellinger")
class FGANHellinger(FGAN):
    """Squared Hellinger Σ(√p − √q)²: f = (√u − 1)², g_f(v) = 1 − exp(−v) (< 1), f*(t) = t/(1 − t).

    f*(g_f(v)) = exp(v) − 1.
    """

    f = staticmethod(lambda u: (torch.sqrt(u) - 1.0).pow(2))
    f_prime = staticmethod(lambda u: 1.0 - torch.rsqrt(u))
    activation = staticmethod(lambda v: -torch.expm1(-v))
    conjugate = staticmethod(lambda t: t / (1.0 - t))
    conjugate_of_activation = staticmethod(lambda v: torch.expm1(v))


@_objective("fgan-js")
class FGANJensenShannon(FGAN):
    """Jensen–Shannon: f = u log u − (u + 1) log((1 + u)/2), g_f(v) = log 2 − log(1 + exp(−v)) (< log 2),
    f*(t) = −log(2 − exp(t)); f*(g_f(v)) = softplus(v) − log 2.

    Note: this f and its conjugate (as in the paper's tables) give D_f = 2·JS(P‖Q), where
    JS = ½KL(P‖M) + ½KL(Q‖M) and M = (P + Q)/2; seqgan keeps them as published.
    """

    f = staticmethod(lambda u: torch.xlogy(u, u) - torch.xlogy(u + 1.0, (u + 1.0) / 2.0))
    f_prime = staticmethod(lambda u: torch.log(2.0 * u / (1.0 + u)))
    activation = staticmethod(lambda v: LOG2 - F.softplus(-v))
    conjugate = staticmethod(lambda t: -torch.log(2.0 - torch.exp(t)))
    conjugate_of_activation = staticmethod(lambda v: F.softplus(v) - LOG2)


@_objective("fgan-gan")
class FGANGAN(FGAN):
    """The GAN divergence 2·JS − log 4: f = u log u − (u + 1) log(u + 1), g_f(v) = −log(1 + exp(−v)) (< 0),
    f*(t) = −log(1 − exp(t)); f*(g_f(v)) = softplus(v). Saddle form = ``minimax``, default = ``nsgan``.
    """

    f = staticmethod(lambda u: torch.xlogy(u, u) - torch.xlogy(u + 1.0, u + 1.0))
    f_prime = staticmethod(lambda u: torch.log(u / (u + 1.0)))
    activation = staticmethod(lambda v: -F.softplus(-v))
    conjugate = staticmethod(lambda t: -torch.log(-torch.expm1(t)))
    conjugate_of_activation = staticmethod(lambda v: F.softplus(v))


# -- learning a metric (MetricGAN) ----------------------------------------------------------------------
#: A per-example regression target: a number, or a tensor broadcastable to the outputs' leading dims.
Targets = Union[float, Tensor]


def _target_like(target: Targets, out: Tensor) -> Tensor:
    t = torch.as_tensor(target, dtype=out.dtype, device=out.device)
    if t.dim() == 1 and out.dim() > 1:  # (batch,) per-example scores against (batch, ...) outputs
        t = t.reshape(-1, *([1] * (out.dim() - 1)))
    if t.dim() and t.shape[0] not in (1, out.shape[0]):
        raise ValueError(f"metric targets of shape {tuple(t.shape)} do not match outputs {tuple(out.shape)}")
    return t


@_objective("metric")
class MetricObjective(Objective):
    """The "learn a metric" objective (MetricGAN, Fu et al. 2019; MetricGAN+ 2021; CMGAN 2022).

    D outputs a predicted normalised score Q̂ of a (signal, reference) pair and minimises the squared
    error to the true normalised score of each example; G minimises (D(G(x), y) − t)², t = 1 (the best
    score). The D loss is a sum of terms, one per kind of pair::

        L_D = (D(y, y) − Q(y, y))² + (D(G(x), y) − Q(G(x), y))² [+ (D(x, y) − Q(x, y))² + replay ...]

    ``discriminator_loss(real, fake)`` keeps the two-term form with 0/1 targets by default (= ``lsgan``);
    pass ``real_targets`` / ``fake_targets`` (per-example tensors ``(batch,)`` or numbers) and ``extra``
    ``(outputs, targets)`` pairs (MetricGAN+'s noisy term, replayed earlier outputs) for the rest. Each
    term is a mean over its elements (and over a list of outputs); the terms add.

    Args:
        real_target: default target of ``real`` (the clean pair's score; 1 for a normalised metric).
        generator_target: t, the score G asks D for.
    """

    def __init__(self, real_target: float = 1.0, generator_target: float = 1.0) -> None:
        self.real_target = float(real_target)
        self.generator_target = float(generator_target)

    @staticmethod
    def regression_loss(outputs: Outputs, targets: Targets) -> Tensor:
        """Mean of (D outputs − targets)² (one term); targets per example ``(batch,)`` or a number. Scalar."""
        return _list_mean([(o - _target_like(targets, o)).pow(2).mean() for o in _as_list(outputs)])

    def discriminator_loss(  # type: ignore[override]
        self,
        real: Outputs,
        fake: Outputs,
        real_targets: Targets | None = None,
        fake_targets: Targets = 0.0,
        extra: Sequence[tuple[Outputs, Targets]] = (),
    ) -> Tensor:
        """Sum of squared-error terms: ``real`` against ``real_targets`` (default ``real_target``), ``fake``
        against ``fake_targets`` (the generated outputs' true scores), and each ``(outputs, targets)`` of
        ``extra``. Scalar."""
        loss = self.regression_loss(real, self.real_target if real_targets is None else real_targets)
        loss = loss + self.regression_loss(fake, fake_targets)
        for outputs, targets in extra:
            loss = loss + self.regression_loss(outputs, targets)
        return loss

    def _g_loss(self, fake: Tensor) -> Tensor:
        return (fake - self.generator_target).pow(2).mean()


def normalize_score(score: Targets, low: float, high: float) -> Targets:
    """Maps a metric linearly from ``[low, high]`` to ``[0, 1]`` (not clipped): ``(score − low) / (high − low)``."""
    return (score - low) / (high - low)


def metricgan_pesq_target(pesq: Targets) -> Targets:
    """MetricGAN / MetricGAN+'s normalised PESQ: ``(PESQ + 0.5) / 5`` (from [−0.5, 4.5] to [0, 1])."""
    return normalize_score(pesq, -0.5, 4.5)


def cmgan_pesq_target(pesq: Targets) -> Targets:
    """CMGAN's normalised PESQ: ``(PESQ − 1) / 3.5`` (from [1, 4.5] to [0, 1])."""
    return normalize_score(pesq, 1.0, 4.5)


def get_objective(name: str, **kwargs: object) -> Objective:
    """Builds the objective registered as ``name`` with its options.

    Example: ``get_objective("wgan-gp", gp_weight=5.0)``, ``get_objective("fgan-kl", generator_form="saddle")``.

    Raises:
        seqgan.registry.UnknownNameError: unknown name (the message lists the choices).
        ValueError: an option the objective does not take (the message lists those it takes).
    """
    cls = OBJECTIVES.get(name)
    accepted = list(inspect.signature(cls).parameters)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ValueError(
            f"objective '{name}' has no option {', '.join(map(repr, unknown))}; "
            f"it accepts: {', '.join(accepted) or '(no options)'}"
        )
    return cls(**kwargs)


# -- penalties and constraints on the discriminator -------------------------------------------------
def _call_d(discriminator: Callable[..., Outputs], x: Tensor, cond: object | None) -> list[Tensor]:
    return _as_list(discriminator(x) if cond is None else discriminator(x, cond))


def _input_grads(outputs: list[Tensor], x: Tensor) -> list[Tensor]:
    """∇_x of each output's sum (per-sample gradients, since samples are independent), graph kept."""
    return [torch.autograd.grad(out.sum(), x, create_graph=True, retain_graph=True)[0] for out in outputs]


def gradient_penalty(
    discriminator: Callable[..., Outputs],
    real: Tensor,
    fake: Tensor,
    cond: object | None = None,
    weight: float = 10.0,
    target: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017): weight · E_x̂ (‖∇_x̂ D(x̂)‖₂ − target)².

    x̂ = α·real + (1 − α)·fake with one α ~ U[0, 1] per sample. The graph is kept (create_graph) so the
    returned penalty backpropagates into D's parameters. ``real`` and ``fake`` are detached here.

    Args:
        discriminator: called as ``D(x̂)`` or, with a condition, ``D(x̂, cond)``; returns a tensor or a
            list of tensors (the penalty is averaged over the list).
        real: real samples, (batch, ...).
        fake: generated samples, same shape.
        cond: condition passed to D unchanged (noisy waveform, context frames, ...); no gradient is taken
            with respect to it.
        weight: λ.
        target: the gradient norm aimed at (1 for WGAN-GP).
        generator: draws α, for a reproducible penalty.

    Returns:
        Scalar tensor.
    """
    if real.shape != fake.shape:
        raise ValueError(
            f"gradient_penalty: real {tuple(real.shape)} and fake {tuple(fake.shape)} differ in shape"
        )
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    if generator is None:
        alpha = torch.rand(shape, device=real.device, dtype=real.dtype)
    else:
        alpha = torch.rand(shape, generator=generator, device=generator.device, dtype=real.dtype).to(
            real.device
        )
    x_hat = (alpha * real.detach() + (1.0 - alpha) * fake.detach()).requires_grad_(True)
    penalties = [
        (torch.linalg.vector_norm(g.flatten(1), dim=1) - target).pow(2).mean()
        for g in _input_grads(_call_d(discriminator, x_hat, cond), x_hat)
    ]
    return weight * _list_mean(penalties)


def r1_penalty(
    discriminator: Callable[..., Outputs], real: Tensor, cond: object | None = None, gamma: float = 10.0
) -> Tensor:
    """R1 penalty (Mescheder et al. 2018): (γ/2) · E_P ‖∇_x D(x)‖₂², on real data only.

    Args:
        discriminator: called as ``D(x)`` or ``D(x, cond)``; tensor or list of tensors (averaged).
        real: real samples, (batch, ...); detached here.
        cond: condition passed to D unchanged.
        gamma: γ (10 in the paper's experiments and StyleGAN2 on FFHQ).

    Returns:
        Scalar tensor (backpropagates into D's parameters).
    """
    x = real.detach().requires_grad_(True)
    penalties = [g.flatten(1).pow(2).sum(1).mean() for g in _input_grads(_call_d(discriminator, x, cond), x)]
    return 0.5 * gamma * _list_mean(penalties)


@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> None:
    """Clamps every parameter of ``module`` to [−c, c] in place (WGAN's Lipschitz constraint)."""
    if c <= 0:
        raise ValueError(f"clip_weights_: c must be > 0, got {c}")
    for p in module.parameters():
        p.clamp_(-c, c)


# -- feature matching -------------------------------------------------------------------------------
def feature_matching_loss(real_features: Sequence, fake_features: Sequence) -> Tensor:
    """L1 distance between D's intermediate features on real and generated data.

    ``mean |fake − real|`` per feature map, averaged over the maps of a discriminator and then over
    discriminators. Real features are detached: the loss trains G only and never pushes D's real path.

    Args:
        real_features: a list of tensors (one discriminator), or a list of such lists (multi-scale).
        fake_features: the same structure, from the same discriminator(s) on generated data.

    Returns:
        Scalar tensor.
    """
    if len(real_features) != len(fake_features) or not real_features:
        raise ValueError(
            f"feature_matching_loss: {len(real_features)} real vs {len(fake_features)} fake feature entries; "
            "pass the same non-empty structure"
        )
    if isinstance(real_features[0], Tensor):
        losses = []
        for r, f in zip(real_features, fake_features):
            if r.shape != f.shape:
                raise ValueError(
                    f"feature_matching_loss: feature shapes {tuple(r.shape)} and {tuple(f.shape)} differ"
                )
            losses.append(F.l1_loss(f, r.detach()))
        return _list_mean(losses)
    return _list_mean([feature_matching_loss(r, f) for r, f in zip(real_features, fake_features)])
