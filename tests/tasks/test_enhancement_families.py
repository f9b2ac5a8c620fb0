"""The enhancement task's model families: MetricGAN+ and CMGAN with their metric discriminators, SEGAN's
generator with a HiFi-GAN discriminator; configuration, turns, training, export and enhancement."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from se_data import make_data_dir, speech_like

from seqgan.adversarial import cmgan_pesq_target
from seqgan.config import ConfigError, load_config
from seqgan.models.cmgan import PRESETS as CMGAN_PRESETS
from seqgan.tasks.base import Nets
from seqgan.tasks.enhancement import EnhancementTask
from seqgan.tasks.enhancement.networks import preset_names

SR = 16000
COMMON = ["data.window=4800", "data.preemphasis=0", "train.batch_size=3", "train.seed=3"]
METRICGAN = [
    "model.preset=metricgan_small",
    "model.generator={hidden_size: 16, fc_size: 16}",
    "model.discriminator={channels: 4, fc_sizes: [8, 4]}",
    "loss.objective=metric",
    "loss.l1_weight=0",
    "loss.metric.workers=0",
    "loss.metric.noisy_term=true",
    "loss.metric.replay_size=8",
    "loss.metric.replay_batch=2",
]
CMGAN = [
    "model.preset=cmgan_small",
    "model.generator={channels: 8, num_blocks: 1, heads: 2, kernel_size: 7, dense_depth: 1}",
    "model.discriminator={channels: 4}",
    "loss.objective=metric",
    "loss.metric.normalization=cmgan",
    "loss.metric.workers=0",
    "loss.adversarial_weight=0.05",
    "loss.l1_weight=0.2",
    "loss.ri_weight=0.1",
    "loss.magnitude_weight=0.9",
    "loss.normalize_scale=true",
]
SEGAN_HIFIGAN = [
    "model.preset=segan_small",
    "model.generator={channels: [4, 8, 8], kernel_size: 5, latent_channels: 4}",
    "model.discriminator_preset=hifigan_small",
    "model.discriminator={width: 0.0625, periods: [2, 3]}",
    "loss.feature_matching_weight=2",
    "loss.mel_weight=45",
    "loss.l1_weight=0",
    "data.window=4096",
]
FAMILIES = {"metricgan": METRICGAN, "cmgan": CMGAN, "segan_hifigan": SEGAN_HIFIGAN}


def _make_dir(root, name, lengths, seed):
    return make_data_dir(root, name, lengths, seed, harmonics=7)


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    return _make_dir(root, "train", [9600, 8000, 7000], 0), _make_dir(root, "valid", [8000], 1)


def make_task(dirs, family, *overrides):
    train, valid = dirs
    cfg = load_config(
        None,
        [*COMMON, *FAMILIES[family], f"data.train_dir={train}", f"data.valid_dir={valid}", *overrides],
        task="enhancement",
    )
    return EnhancementTask(cfg)


def _batch(task, n=3, offset=0):
    ds = task.train_dataset()
    items = [ds[(i % len(ds), 10 + i + offset)] for i in range(n)]
    return {k: torch.stack([it[k] for it in items]) for k in ("noisy", "clean")}


def _snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def _changed(before, module):
    return [not torch.equal(a, b) for a, b in zip(before, module.parameters())]


# -- configuration -----------------------------------------------------------------------------------------
def test_every_family_preset_is_a_model_preset_and_names_its_networks(dirs):
    assert {"segan", "segan_small", "metricgan_plus", "metricgan_small", "cmgan", "cmgan_small"} <= set(
        preset_names()
    )
    kinds = {}
    for family in FAMILIES:
        g, d = make_task(dirs, family).build_networks()
        kinds[family] = (type(g).__name__, type(d).__name__)
    assert kinds == {
        "metricgan": ("MetricGANGenerator", "MetricDiscriminator"),
        "cmgan": ("CMGANGenerator", "CMGANDiscriminator"),
        "segan_hifigan": ("SEGANGenerator", "CombinedDiscriminator"),
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["model.preset=metricgan_small"],
            "loss.objective: the metricgan_small discriminator learns a metric",
        ),
        (["model.preset=cmgan", "loss.objective=hinge"], "set loss.objective=metric (got 'hinge')"),
        (["loss.objective=metric"], "'metric' needs a metric discriminator"),
        (
            ["model.preset=cmgan_small", "loss.objective=metric", "model.discriminator_preset=mpd"],
            "with discriminator_preset 'mpd'",
        ),
        (
            ["model.preset=metricgan"],
            "model.preset: unknown preset 'metricgan'; choose from: cmgan, cmgan_small",
        ),
        (["model.discriminator_preset=hifigan_tiny"], "unknown waveform discriminator 'hifigan_tiny'"),
        (["loss.metric.normalization=pesq"], "loss.metric.normalization must be metricgan, cmgan or none"),
        (["loss.metric.name=pesq_xx"], "loss.metric.name: "),
        (["loss.metric.replay_size=4"], "loss.metric.replay_batch must be >= 1 when replay_size > 0"),
        (["loss.spectral_stft=[400, 500, 400]"], "loss.spectral_stft must be [n_fft, hop, window]"),
        (["loss.mel_weight=-1"], "loss.mel_weight must be >= 0"),
        (METRICGAN + ["loss.r1_gamma=1"], "loss.r1_gamma is not defined for a metric discriminator"),
    ],
)
def test_bad_family_settings_are_config_errors(overrides, message):
    with pytest.raises(
        ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ):
        load_config(None, overrides, task="enhancement")


def test_a_bad_waveform_discriminator_override_names_the_key(dirs):
    task = make_task(dirs, "segan_hifigan", "model.discriminator={widht: 2}")
    with pytest.raises(ConfigError, match=r"model.discriminator: unknown hifigan_small discriminator option"):
        task.build_networks()


# -- turns -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["metricgan", "cmgan"])
def test_metric_discriminator_turn_updates_only_d(dirs, family):
    task = make_task(dirs, family)
    g, d = task.build_networks()
    nets = Nets(g, d)
    first = task.discriminator_turn(_batch(task), nets)
    assert set(first.stats) >= {"d_loss", "d_clean", "metric_wait_s"} and "d_fake" not in first.stats
    opt_d = torch.optim.Adam(d.parameters(), lr=1e-3)
    g0, d0 = _snapshot(g), _snapshot(d)
    out = task.discriminator_turn(_batch(task, offset=5), nets)  # trains on the first batch's scores
    assert {"d_fake", "metric_q_fake"} <= set(out.stats)
    assert ("d_noisy" in out.stats) == (family == "metricgan")  # MetricGAN+'s noisy term
    out.loss.backward()
    assert all(p.grad is None for p in g.parameters())
    assert any(p.grad is not None for p in d.parameters())
    opt_d.step()
    assert any(_changed(d0, d)) and not any(_changed(g0, g))


def test_cmgan_targets_are_its_normalised_pesq(dirs):
    from seqgan.metrics.background import score_pairs

    task = make_task(dirs, "cmgan")
    g, d = task.build_networks()
    g.eval()  # no dropout: the same outputs again below
    batch = _batch(task)
    task.discriminator_turn(batch, Nets(g, d))
    with torch.no_grad():
        fake = g(batch["noisy"])
    _, targets = task.metric_turns.collect()
    pesq = score_pairs(batch["clean"][:, 0].double().numpy(), fake[:, 0].double().numpy(), SR, "pesq_wb")
    np.testing.assert_allclose(targets.numpy(), cmgan_pesq_target(pesq), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_generator_turn_updates_only_g_and_adds_its_terms(dirs, family):
    task = make_task(dirs, family)
    g, d = task.build_networks()
    nets = Nets(g, d)
    batch = _batch(task)
    task.discriminator_turn(batch, nets)
    opt_g = torch.optim.Adam(g.parameters(), lr=1e-3)
    g0, d0 = _snapshot(g), _snapshot(d)
    d.requires_grad_(False)
    out = task.generator_turn(batch, nets)
    s = {k: float(v) for k, v in out.stats.items()}
    expected = {
        "metricgan": s["g_adv"],
        "cmgan": 0.05 * s["g_adv"]
        + 0.2 * s["g_l1"]
        + 0.1 * s.get("g_ri", np.nan)
        + 0.9 * s.get("g_magnitude", np.nan),
        "segan_hifigan": s["g_adv"] + 45 * s.get("g_mel", np.nan) + 2 * s.get("g_fm", np.nan),
    }[family]
    assert s["g_loss"] == pytest.approx(expected, rel=1e-5)
    out.loss.backward()
    assert all(p.grad is None for p in d.parameters())
    assert any(p.grad is not None for p in g.parameters())
    opt_g.step()
    assert any(_changed(g0, g)) and not any(_changed(d0, d))


def test_metric_generator_asks_d_about_the_clean_reference(dirs):
    task = make_task(dirs, "metricgan")
    g, d = task.build_networks()
    d.eval()  # batch norm in eval mode: the same input gives the same score
    batch = _batch(task)
    out = task.generator_turn(batch, Nets(g, d))
    with torch.no_grad():
        score = d(g(batch["noisy"]), batch["clean"])
    assert float(out.stats["g_adv"]) == pytest.approx(float((score - 1).pow(2).mean()), rel=1e-5)


def test_without_the_adversarial_term_the_generator_turn_never_consults_d(dirs):
    task = make_task(dirs, "metricgan", "loss.adversarial_weight=0", "loss.magnitude_weight=1")
    g, d = task.build_networks()
    calls = []
    d.register_forward_hook(lambda *_: calls.append(1))
    out = task.generator_turn(_batch(task), Nets(g, d))
    assert not calls and float(out.stats["g_adv"]) == 0.0
    assert float(out.stats["g_loss"]) == pytest.approx(float(out.stats["g_magnitude"]))


def test_cmgan_config_carries_the_presets_loss_weights():
    from pathlib import Path

    import yaml

    conf = yaml.safe_load(
        (Path(__file__).parents[2] / "egs/voicebank_demand/se1/conf/cmgan.yaml").read_text()
    )
    weights = CMGAN_PRESETS["cmgan"]["loss_weights"]
    loss = conf["loss"]
    assert (loss["ri_weight"], loss["magnitude_weight"], loss["l1_weight"], loss["adversarial_weight"]) == (
        weights["ri"],
        weights["magnitude"],
        weights["time"],
        weights["adversarial"],
    )


# -- training, export, enhancement ---------------------------------------------------------------------------
@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_few_trainer_steps_then_export_and_enhance(dirs, tmp_path, family):
    from seqgan.enhance import Enhancer
    from seqgan.export import export_checkpoint
    from seqgan.train.trainer import Trainer

    extra = ["loss.metric.workers=1"] if family == "metricgan" else []  # the worker process, end to end
    task = make_task(
        dirs,
        family,
        *extra,
        "train.max_steps=3",
        "train.log_interval=1",
        "train.eval_interval=3",
        "train.save_interval=0",
        "train.progress=lines",
        "train.optim_g={name: adam, lr: 0.0005}",
        "train.optim_d={name: adam, lr: 0.0005}",
        "eval.max_utts=1",
        "eval.metrics=[si_sdr]",
    )
    exp = tmp_path / "exp"
    stats = Trainer(task, exp).fit()
    assert np.isfinite(stats["g_loss"]) and np.isfinite(stats["d_loss"])
    if task.metric_turns is not None:
        task.metric_turns.close()
        lines = [json.loads(line) for line in (exp / "metrics.jsonl").read_text().splitlines()]
        logged = [line for line in lines if "metric_wait_s" in line]
        assert len(logged) == 3 and all(line["metric_wait_s"] >= 0 for line in logged)
        assert all(0 < line["metric_q_fake"] < 1 for line in logged[1:])  # scored from the second step on
    model = tmp_path / "model.safetensors"
    export_checkpoint(exp, model)
    enhancer = Enhancer.from_pretrained(model, device="cpu")
    noisy = speech_like(7000, np.random.default_rng(4), harmonics=7) + 0.05 * np.random.default_rng(
        5
    ).standard_normal(7000)
    out = enhancer.enhance(noisy.astype(np.float32), SR)
    assert out.shape == noisy.shape and np.isfinite(out).all()


def test_a_metric_run_resumes_without_the_batch_in_flight(dirs, tmp_path):
    from seqgan.train.trainer import Trainer

    args = ["train.max_steps=4", "train.log_interval=1", "train.save_interval=0", "train.progress=lines"]
    exp = tmp_path / "exp"
    first = make_task(dirs, "metricgan", *args)
    Trainer(first, exp).fit(stop_at=2)
    assert first.metric_turns.inflight is not None  # step 2's outputs were still to be scored
    resumed = make_task(dirs, "metricgan", *args)
    trainer = Trainer(resumed, exp)
    stats = trainer.fit()
    assert trainer.step == 4 and np.isfinite(stats["d_loss"])
    lines = [json.loads(line) for line in (exp / "metrics.jsonl").read_text().splitlines()]
    by_step = {line["step"]: line for line in lines if "d_loss" in line}
    assert "metric_q_fake" not in by_step[3]  # the resumed run's first D turn: the clean term alone
    assert "metric_q_fake" in by_step[4]


@pytest.mark.gpu
@pytest.mark.parametrize("family", list(FAMILIES))
def test_families_train_on_cuda_with_bf16_and_the_corpus_on_the_device(dirs, tmp_path, family):
    from seqgan.train.trainer import Trainer

    task = make_task(
        dirs,
        family,
        "train.device=cuda",
        "train.amp=true",
        "train.data_on_device=true",
        "train.max_steps=3",
        "train.log_interval=1",
        "train.save_interval=0",
        "train.progress=lines",
    )
    trainer = Trainer(task, tmp_path / "exp")
    stats = trainer.fit()
    assert trainer.data_on_device and np.isfinite(stats["g_loss"]) and np.isfinite(stats["d_loss"])
    if task.metric_turns is not None:
        assert 0 < stats["metric_q_fake"] < 1
        task.metric_turns.close()
