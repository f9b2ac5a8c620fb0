"""Mathematics of seqgan.adversarial on known values: objectives, f-GAN pieces, penalties, feature matching."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqgan.adversarial import (
    FGAN,
    OBJECTIVES,
    MetricObjective,
    clip_weights_,
    cmgan_pesq_target,
    feature_matching_loss,
    get_objective,
    gradient_penalty,
    metricgan_pesq_target,
    normalize_score,
    r1_penalty,
)
from seqgan.registry import UnknownNameError

# Two discrete distributions on three points, probabilities in tenths so that "samples" weighted by
# their counts give the expectations exactly: E_P[h] = mean(h(x) over P's 10 samples).
P = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
Q = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
P_SAMPLES = torch.tensor([0] * 5 + [1] * 3 + [2] * 2)
Q_SAMPLES = torch.tensor([0] * 2 + [1] * 3 + [2] * 5)

FGAN_NAMES = ["fgan-kl", "fgan-reverse-kl", "fgan-pearson", "fgan-hellinger", "fgan-js", "fgan-gan"]
ALL_NAMES = ["minimax", "nsgan", "lsgan", "wgan", "wgan-gp", "hinge", *FGAN_NAMES, "metric"]


@pytest.fixture(autouse=True, scope="module")
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def kl(p, q):
    return float((p * torch.log(p / q)).sum())


def js(p, q):
    m = (p + q) / 2
    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


# D_f(P‖Q) written from the textbook definitions, independently of the module's f.
DIVERGENCE = {
    "fgan-kl": lambda p, q: kl(p, q),
    "fgan-reverse-kl": lambda p, q: kl(q, p),
    "fgan-pearson": lambda p, q: float(((p - q) ** 2 / q).sum()),
    "fgan-hellinger": lambda p, q: float(((p.sqrt() - q.sqrt()) ** 2).sum()),
    "fgan-js": lambda p, q: 2 * js(p, q),
    "fgan-gan": lambda p, q: 2 * js(p, q) - math.log(4),
}
# g_f^{-1}: critic value T -> raw output v.
INVERSE_ACTIVATION = {
    "fgan-kl": lambda t: t,
    "fgan-reverse-kl": lambda t: -torch.log(-t),
    "fgan-pearson": lambda t: t,
    "fgan-hellinger": lambda t: -torch.log(1 - t),
    "fgan-js": lambda t: -torch.log(2 * torch.exp(-t) - 1),
    "fgan-gan": lambda t: t - torch.log(-torch.expm1(t)),
}
# f'(1) ("critical value") and the open upper bound of dom f*, from the paper's Table 2.
F_PRIME_AT_1 = {
    "fgan-kl": 1.0,
    "fgan-reverse-kl": -1.0,
    "fgan-pearson": 0.0,
    "fgan-hellinger": 0.0,
    "fgan-js": 0.0,
    "fgan-gan": -math.log(2),
}
DOMAIN_UPPER = {"fgan-reverse-kl": 0.0, "fgan-hellinger": 1.0, "fgan-js": math.log(2), "fgan-gan": 0.0}


def close(a, b, tol=1e-10):
    return abs(float(torch.as_tensor(a).detach()) - float(b)) < tol


# -- registry ---------------------------------------------------------------------------------------
def test_registry_lists_every_objective():
    assert sorted(ALL_NAMES) == OBJECTIVES.names()
    for name in ALL_NAMES:
        assert get_objective(name).name == name


def test_unknown_name_lists_choices():
    with pytest.raises(UnknownNameError) as err:
        get_objective("lsgam")
    msg = str(err.value)
    assert msg.startswith("unknown objective 'lsgam'; choose from:")
    assert all(name in msg for name in ALL_NAMES)


def test_unknown_option_lists_accepted_options():
    with pytest.raises(ValueError, match="accepts: gp_weight"):
        get_objective("wgan-gp", weight=3.0)
    with pytest.raises(ValueError, match="nonsaturating, saddle"):
        get_objective("fgan-kl", generator_form="max")
    assert get_objective("wgan-gp", gp_weight=5.0).gradient_penalty_weight == 5.0


def test_constraint_flags():
    for name in ALL_NAMES:
        obj = get_objective(name)
        assert obj.needs_gradient_penalty == (name == "wgan-gp")
        assert obj.weight_clip_recommended == (name == "wgan")
    assert get_objective("wgan-gp").gradient_penalty_weight == 10.0
    assert get_objective("wgan").weight_clip == 0.01
    assert get_objective("hinge").weight_clip == 0.0


# -- minimax / non-saturating -------------------------------------------------------------------------
def test_minimax_value_at_half_is_minus_log4():
    zeros = torch.zeros(8, 1)
    mm, ns = get_objective("minimax"), get_objective("nsgan")
    assert close(mm.discriminator_loss(zeros, zeros), math.log(4))  # D loss = -V, V = log ½ + log ½
    assert close(mm.generator_loss(zeros), -math.log(2))  # E log(1 - ½)
    assert close(ns.generator_loss(zeros), math.log(2))  # -E log ½


def test_minimax_matches_definition_on_random_logits():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(16, 1, generator=g), torch.randn(16, 1, generator=g)
    v = torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean()
    mm = get_objective("minimax")
    assert close(mm.discriminator_loss(real, fake), -v)
    assert close(mm.generator_loss(fake), torch.log(1 - torch.sigmoid(fake)).mean())


def test_minimax_at_optimal_discriminator_is_minus_log4_plus_2js():
    logits = torch.log(P / Q)  # D* = p / (p + q)  <=>  logit = log(p / q)
    value = -get_objective("minimax").discriminator_loss(logits[P_SAMPLES], logits[Q_SAMPLES])
    assert close(value, -math.log(4) + 2 * js(P, Q))
    assert js(P, Q) > 0.05  # the distributions really differ


def test_one_sided_label_smoothing_is_bce_with_target():
    g = torch.Generator().manual_seed(1)
    real, fake = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    loss = get_objective("nsgan", real_label=0.9).discriminator_loss(real, fake)
    ref = F.binary_cross_entropy_with_logits(
        real, torch.full_like(real, 0.9)
    ) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    assert close(loss, ref)


def test_nonsaturating_gradient_larger_where_d_rejects_fakes():
    grads = {}
    for name in ("minimax", "nsgan"):
        fake = torch.full((4, 1), -6.0, requires_grad=True)  # D(G(z)) = σ(-6) ≈ 0.0025
        get_objective(name).generator_loss(fake).backward()
        grads[name] = fake.grad.abs().sum().item()
    assert grads["nsgan"] > 100 * grads["minimax"]
    assert close(grads["minimax"], torch.sigmoid(torch.tensor(-6.0)).item())  # 4 samples × σ(v)/4


# -- lsgan, wgan, hinge ---------------------------------------------------------------------------------
def test_lsgan_values():
    ones, zeros = torch.ones(5, 1), torch.zeros(5, 1)
    ls = get_objective("lsgan")
    assert ls.discriminator_loss(ones, zeros).item() == 0.0  # perfect D
    assert ls.generator_loss(ones).item() == 0.0  # G fools D
    assert close(ls.discriminator_loss(zeros, ones), 2.0)
    assert close(ls.generator_loss(zeros), 1.0)
    assert close(ls.discriminator_loss(torch.full((3,), 0.5), torch.full((3,), 0.5)), 0.5)
    assert close(get_objective("lsgan", scale=0.5).discriminator_loss(zeros, ones), 1.0)


def test_wgan_values_and_weight_clipping():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.0])
    for name in ("wgan", "wgan-gp"):
        obj = get_objective(name)
        assert close(obj.discriminator_loss(real, fake), -1.0 - 2.0)
        assert close(obj.generator_loss(fake), 1.0)
    layer = nn.Linear(4, 3)
    with torch.no_grad():
        layer.weight.copy_(torch.linspace(-1, 1, 12).view(3, 4))
    clip_weights_(layer, 0.01)
    assert all(p.abs().max().item() <= 0.01 for p in layer.parameters())
    assert close(layer.weight[0, 0], -0.01) and close(layer.weight[2, 3], 0.01)


def test_hinge_values_at_and_past_margins():
    h = get_objective("hinge")
    t = torch.tensor
    assert h.discriminator_loss(t([1.0]), t([-1.0])).item() == 0.0  # exactly at the margins
    assert h.discriminator_loss(t([2.5]), t([-4.0])).item() == 0.0  # past them: no gradient, no loss
    assert close(h.discriminator_loss(t([0.0]), t([0.0])), 2.0)
    assert close(h.discriminator_loss(t([0.5, 3.0]), t([0.0, -2.0])), 0.25 + 0.5)
    assert close(h.generator_loss(t([-1.0, 3.0])), -1.0)


def test_list_outputs_average():
    g = torch.Generator().manual_seed(2)
    reals = [torch.randn(4, 1, generator=g), torch.randn(4, 7, generator=g)]
    fakes = [torch.randn(4, 1, generator=g), torch.randn(4, 7, generator=g)]
    for name in ALL_NAMES:
        obj = get_objective(name)
        d_each = [obj.discriminator_loss(r, f) for r, f in zip(reals, fakes)]
        assert close(obj.discriminator_loss(reals, fakes), sum(d_each) / 2)
        assert close(obj.generator_loss(tuple(fakes)), sum(obj.generator_loss(f) for f in fakes) / 2)
    with pytest.raises(ValueError, match="same structure"):
        get_objective("lsgan").discriminator_loss(reals, fakes[:1])


def test_losses_finite_for_large_outputs_and_half_precision():
    big = torch.tensor([-30.0, 30.0])
    for name in ALL_NAMES:
        obj = get_objective(name)
        assert torch.isfinite(obj.discriminator_loss(big, big)) and torch.isfinite(obj.generator_loss(big))
        out = obj.generator_loss(torch.zeros(3, dtype=torch.bfloat16))
        assert out.dtype == torch.float32


# -- f-GAN -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FGAN_NAMES)
def test_fgan_optimal_critic_gives_the_divergence(name):
    obj = get_objective(name)
    t_star = obj.f_prime(P / Q)  # T* = f'(p/q)
    v = INVERSE_ACTIVATION[name](t_star).requires_grad_(True)
    assert torch.allclose(obj.activation(v), t_star, atol=1e-12)
    loss = obj.discriminator_loss(v[P_SAMPLES], v[Q_SAMPLES])
    bound = -loss.item()
    assert close(bound, DIVERGENCE[name](P, Q), 1e-9)
    assert close(bound, (Q * obj.f(P / Q)).sum(), 1e-9)  # D_f = E_Q f(p/q)
    # T* maximises the bound: the D loss is stationary there, and any perturbation increases it
    (grad,) = torch.autograd.grad(loss, v)
    assert grad.abs().max().item() < 1e-9
    for delta in (-0.1, 0.1):
        w = v.detach() + delta * torch.tensor([1.0, -1.0, 0.5])
        assert -obj.discriminator_loss(w[P_SAMPLES], w[Q_SAMPLES]).item() < bound


@pytest.mark.parametrize("name", FGAN_NAMES)
def test_fgan_pieces_match_table(name):
    obj = get_objective(name)
    one = torch.tensor(1.0)
    assert close(obj.f(one), -math.log(4) if name == "fgan-gan" else 0.0)  # GAN's D_f(P‖P) = -log 4
    assert close(obj.f_prime(one), F_PRIME_AT_1[name])
    # f* is the Fenchel conjugate: f*(t) = sup_u t·u - f(u), attained at u with f'(u) = t
    u = torch.linspace(0.01, 20.0, 20000)
    for u0 in (0.3, 0.7, 1.0, 1.5, 3.0):
        t = obj.f_prime(torch.tensor(u0))
        conj = obj.conjugate(t)
        assert close(conj, t * u0 - obj.f(torch.tensor(u0)), 1e-9)  # Fenchel–Young equality
        assert (t * u - obj.f(u)).max().item() <= conj.item() + 1e-12  # ... and inequality
    # the activation maps every real v into dom f*, and the stable composition equals f*(g_f(v))
    v = torch.linspace(-20, 20, 81)
    if name in DOMAIN_UPPER:
        assert (obj.activation(v) < DOMAIN_UPPER[name]).all()
    v = torch.linspace(-3, 3, 25)
    assert torch.allclose(obj.conjugate_of_activation(v), obj.conjugate(obj.activation(v)), atol=1e-10)


@pytest.mark.parametrize("name", FGAN_NAMES)
def test_fgan_generator_forms(name):
    fake = torch.linspace(-2, 2, 9)
    ns, saddle = get_objective(name), get_objective(name, generator_form="saddle")
    assert ns.generator_form == "nonsaturating"
    assert close(ns.generator_loss(fake), -ns.activation(fake).mean())
    assert close(saddle.generator_loss(fake), -saddle.conjugate(saddle.activation(fake)).mean())
    assert isinstance(ns, FGAN)


def test_fgan_gan_is_the_original_gan():
    g = torch.Generator().manual_seed(3)
    real, fake = torch.randn(10, generator=g), torch.randn(10, generator=g)
    fg = get_objective("fgan-gan")
    assert close(fg.discriminator_loss(real, fake), get_objective("minimax").discriminator_loss(real, fake))
    assert close(fg.generator_loss(fake), get_objective("nsgan").generator_loss(fake))
    saddle = get_objective("fgan-gan", generator_form="saddle")
    assert close(saddle.generator_loss(fake), get_objective("minimax").generator_loss(fake))


# -- penalties ---------------------------------------------------------------------------------------------
class LinearCritic(nn.Module):
    """D(x) = <w, x> (+ <u, cond>): its input gradient is w everywhere."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w.clone())
        self.seen_cond = None

    def forward(self, x, cond=None):
        out = x.flatten(1) @ self.w
        if cond is not None:
            self.seen_cond = cond
            out = out + 7.0 * cond.flatten(1).sum(1)  # must not enter the penalty
        return out.unsqueeze(1)


def unit(n: int, norm: float) -> torch.Tensor:
    w = torch.arange(1.0, n + 1.0)
    return norm * w / w.norm()


def test_gradient_penalty_of_linear_critics():
    g = torch.Generator().manual_seed(4)
    real, fake = torch.randn(6, 1, 8, generator=g), torch.randn(6, 1, 8, generator=g)
    assert gradient_penalty(LinearCritic(unit(8, 1.0)), real, fake).item() < 1e-20
    d2 = LinearCritic(unit(8, 2.0))
    gp = gradient_penalty(d2, real, fake, weight=10.0)
    assert close(gp, 10.0)  # weight · (2 - 1)²
    gp.backward()  # create_graph: d/dw 10(‖w‖ - 1)² = 20(‖w‖ - 1) w/‖w‖ = 10 w at ‖w‖ = 2
    assert torch.allclose(d2.w.grad, 10.0 * d2.w.detach())
    assert close(gradient_penalty(d2, real, fake, weight=1.0, target=2.0), 0.0)


def test_gradient_penalty_conditional_and_list_outputs():
    g = torch.Generator().manual_seed(5)
    real, fake, cond = (torch.randn(3, 1, 8, generator=g) for _ in range(3))
    d = LinearCritic(unit(8, 2.0))
    assert close(gradient_penalty(d, real, fake, cond=cond, weight=3.0), 3.0)
    assert d.seen_cond is cond  # passed through unchanged

    d1, d2 = LinearCritic(unit(8, 1.0)), LinearCritic(unit(8, 2.0))
    multi = lambda x, c: [d1(x, c), d2(x, c)]  # noqa: E731
    assert close(gradient_penalty(multi, real, fake, cond=cond, weight=10.0), (0.0 + 10.0) / 2)


def test_gradient_penalty_interpolates_per_sample_and_is_reproducible():
    g = torch.Generator().manual_seed(6)
    real = torch.randn(5, 2, 3, generator=g)
    fake = torch.randn(5, 2, 3, generator=g, requires_grad=True)
    quadratic = lambda x: 0.5 * x.pow(2).flatten(1).sum(1)  # noqa: E731  (∇D(x) = x)
    gp = gradient_penalty(quadratic, real, fake, weight=2.0, generator=torch.Generator().manual_seed(42))
    alpha = torch.rand(5, 1, 1, generator=torch.Generator().manual_seed(42))
    x_hat = alpha * real + (1 - alpha) * fake.detach()
    expected = 2.0 * ((x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert close(gp, expected)
    again = gradient_penalty(quadratic, real, fake, weight=2.0, generator=torch.Generator().manual_seed(42))
    other = gradient_penalty(quadratic, real, fake, weight=2.0, generator=torch.Generator().manual_seed(7))
    assert gp.item() == again.item() and gp.item() != other.item()
    gp.backward()
    assert fake.grad is None  # inputs are detached: the penalty trains D only
    with pytest.raises(ValueError, match="differ in shape"):
        gradient_penalty(quadratic, real, fake[:2])


def test_r1_penalty():
    g = torch.Generator().manual_seed(8)
    real, cond = torch.randn(4, 1, 8, generator=g), torch.randn(4, 1, 8, generator=g)
    d = LinearCritic(unit(8, 2.0))
    r1 = r1_penalty(d, real, cond=cond, gamma=10.0)
    assert close(r1, 0.5 * 10.0 * 4.0)  # ½γ‖w‖²
    r1.backward()  # d/dw ½γ‖w‖² = γ w
    assert torch.allclose(d.w.grad, 10.0 * d.w.detach())
    quadratic = lambda x: [0.5 * x.pow(2).flatten(1).sum(1)]  # noqa: E731
    assert close(r1_penalty(quadratic, real, gamma=2.0), real.flatten(1).pow(2).sum(1).mean())


# -- feature matching ----------------------------------------------------------------------------------------
def test_feature_matching_values_and_gradients():
    real = [torch.zeros(2, 3, requires_grad=True), torch.ones(2, 2, 5, requires_grad=True)]
    fake = [torch.full((2, 3), 2.0, requires_grad=True), torch.full((2, 2, 5), -1.0, requires_grad=True)]
    loss = feature_matching_loss(real, fake)
    assert close(loss, (2.0 + 2.0) / 2)
    loss.backward()
    assert all(r.grad is None for r in real)  # real features detached
    assert torch.allclose(fake[0].grad, torch.full((2, 3), 0.5 / 6))  # sign / numel / number of maps

    nested = feature_matching_loss([[r.detach() for r in real], [real[0].detach()]], [fake, [fake[0]]])
    assert close(nested, (2.0 + 2.0) / 2)  # mean over discriminators of (mean over their maps)
    with pytest.raises(ValueError, match="differ"):
        feature_matching_loss([torch.zeros(2, 3)], [torch.zeros(2, 4)])


# -- learning a metric ------------------------------------------------------------------------------------
def test_metric_objective_defaults_are_lsgan():
    g = torch.Generator().manual_seed(5)
    real, fake = torch.randn(6, 1, generator=g), torch.randn(6, 1, generator=g)
    metric, lsgan = get_objective("metric"), get_objective("lsgan")
    assert isinstance(metric, MetricObjective)
    assert close(metric.discriminator_loss(real, fake), lsgan.discriminator_loss(real, fake))
    assert close(metric.generator_loss(fake), lsgan.generator_loss(fake))


def test_metric_objective_per_example_targets():
    obj = get_objective("metric")
    clean = torch.tensor([[0.9], [1.0]])  # D(y, y), true score 1
    enhanced = torch.tensor([[0.5], [0.2]])  # D(G(x), y), true scores 0.6 and 0.4
    noisy = torch.tensor([[0.1], [0.3]])  # D(x, y), true scores 0.2 and 0.3
    q_enh, q_noisy = torch.tensor([0.6, 0.4]), torch.tensor([0.2, 0.3])
    clean_term = (0.1**2 + 0.0) / 2
    enh_term = (0.1**2 + 0.2**2) / 2
    noisy_term = (0.1**2 + 0.0) / 2
    assert close(obj.discriminator_loss(clean, enhanced, fake_targets=q_enh), clean_term + enh_term)
    loss = obj.discriminator_loss(clean, enhanced, 1.0, q_enh, extra=[(noisy, q_noisy), (noisy, q_noisy)])
    assert close(loss, clean_term + enh_term + 2 * noisy_term)
    # targets as (batch,) against (batch,), (batch, 1) and patch outputs (batch, 3) all mean the same
    assert close(obj.regression_loss(enhanced.squeeze(1), q_enh), enh_term)
    assert close(obj.regression_loss(enhanced.expand(2, 3), q_enh), enh_term)
    # a list of outputs (several discriminators) averages each term
    assert close(obj.regression_loss([enhanced, noisy], q_enh), (enh_term + (0.5**2 + 0.1**2) / 2) / 2)
    with pytest.raises(ValueError, match="do not match outputs"):
        obj.regression_loss(enhanced, torch.tensor([0.5, 0.5, 0.5]))


def test_metric_generator_loss_and_target():
    fake = torch.tensor([[0.5], [0.8]])
    assert close(get_objective("metric").generator_loss(fake), (0.25 + 0.04) / 2)
    assert close(get_objective("metric", generator_target=0.9).generator_loss(fake), (0.16 + 0.01) / 2)
    assert close(
        get_objective("metric", real_target=0.8).discriminator_loss(fake, fake, fake_targets=0.5),
        0.09 / 2 + 0.09 / 2,
    )


def test_metric_gradient_pulls_outputs_to_their_targets():
    # d/dv of mean (v - Q)^2 is 2 (v - Q) / n: D moves each output towards its own example's score
    v = torch.tensor([0.5, 0.2, 0.9], requires_grad=True)
    q = torch.tensor([0.6, 0.2, 0.3])
    get_objective("metric").regression_loss(v, q).backward()
    assert torch.allclose(v.grad, 2 * (v.detach() - q) / 3)
    # and a linear D regressing scores that are linear in its input learns them
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(64, 3, generator=g)
    scores = feats @ torch.tensor([0.2, -0.1, 0.05]) + 0.5
    d = nn.Linear(3, 1)
    obj = get_objective("metric")
    losses = []
    for _ in range(100):  # plain gradient descent
        loss = obj.discriminator_loss(d(feats[:32]), d(feats[32:]), scores[:32], scores[32:])
        d.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in d.parameters():
                p -= 0.2 * p.grad
        losses.append(loss.item())
    assert losses[-1] < 0.02 * losses[0]


def test_pesq_normalisation_at_known_points():
    assert close(metricgan_pesq_target(4.5), 1.0) and close(metricgan_pesq_target(-0.5), 0.0)
    assert close(metricgan_pesq_target(2.0), 0.5)
    assert close(cmgan_pesq_target(1.0), 0.0) and close(cmgan_pesq_target(4.5), 1.0)
    assert close(cmgan_pesq_target(2.75), 0.5)
    pesq = torch.tensor([1.0, 3.0])
    assert torch.allclose(metricgan_pesq_target(pesq), torch.tensor([0.3, 0.7]))
    assert close(normalize_score(30.0, 0.0, 40.0), 0.75)
