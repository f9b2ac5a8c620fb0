"""The enhancement task: configuration, turns (gradient discipline), validation, samples."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from se_data import make_data_dir

from seqgan.config import ConfigError, dump_config, load_config
from seqgan.data.se_dataset import SEUtterances
from seqgan.metrics.audio import si_sdr
from seqgan.tasks import get_task
from seqgan.tasks.base import Nets
from seqgan.tasks.enhancement import EnhancementConfig, EnhancementTask

SR = 16000
TINY = [
    "model.preset=segan_small",
    "model.generator={channels: [4, 8, 8], kernel_size: 5, latent_channels: 4}",
    "model.discriminator={channels: [4, 8, 8], kernel_size: 5}",
    "data.window=256",
    "train.batch_size=4",
]


@pytest.fixture
def dirs(tmp_path):
    return (
        make_data_dir(tmp_path, "train", [800, 1000, 600], 0),
        make_data_dir(tmp_path, "valid", [4000, 3000], 1),
    )


def make_task(dirs, *overrides):
    train, valid = dirs
    cfg = load_config(
        None, [*TINY, f"data.train_dir={train}", f"data.valid_dir={valid}", *overrides], task="enhancement"
    )
    return EnhancementTask(cfg)


def _batch(task, n=4):
    ds = task.train_dataset()
    items = [ds[(i, 10 + i)] for i in range(n)]
    return {k: torch.stack([it[k] for it in items]) for k in ("noisy", "clean")}


def _snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def _changed(before, module):
    return [not torch.equal(a, b) for a, b in zip(before, module.parameters())]


def test_defaults_are_the_paper_and_config_round_trips(tmp_path):
    cfg = EnhancementConfig()
    assert cfg.task == "enhancement" and get_task("enhancement") is EnhancementTask
    assert (cfg.model.preset, cfg.data.window, cfg.data.hop, cfg.data.sample_rate) == (
        "segan",
        16384,
        0,
        16000,
    )
    assert cfg.data.preemphasis == 0.95 and cfg.loss.objective == "lsgan" and cfg.loss.l1_weight == 100.0
    assert cfg.train.optim_g.name == cfg.train.optim_d.name == "rmsprop"
    assert cfg.train.optim_g.lr == cfg.train.optim_d.lr == 2e-4 and cfg.train.batch_size == 100

    path = tmp_path / "conf.yaml"
    path.write_text(
        "task: enhancement\n"
        "model: {preset: segan_small, generator: {kernel_size: 5}}\n"
        "data: {train_dir: data/train, remix_snrs: [0, 5], in_memory: false}\n"
        "train: {optim_g: {name: adam, lr: 1.0e-4}}\n"
    )
    cfg = load_config(path, ["loss.stft_weight=2", "data.hop=4096", "eval.metrics=[si_sdr, pesq]"])
    assert isinstance(cfg, EnhancementConfig)
    assert cfg.model.generator == {"kernel_size": 5} and cfg.data.remix_snrs == [0.0, 5.0]
    assert cfg.data.in_memory is False and cfg.data.hop == 4096 and cfg.loss.stft_weight == 2.0
    # the paper's defaults hold field by field inside a partly given section
    assert cfg.train.optim_g.name == "adam" and cfg.train.optim_g.lr == 1e-4
    assert cfg.train.optim_d.name == "rmsprop" and cfg.train.batch_size == 100
    partial = load_config(None, ["train.max_steps=5", "train.optim_d.lr=1e-3"], task="enhancement")
    assert partial.train.optim_d.name == "rmsprop" and partial.train.optim_d.alpha == 0.9
    dumped = tmp_path / "dumped.yaml"
    dumped.write_text(dump_config(cfg))
    assert load_config(dumped) == cfg
    with pytest.raises(ConfigError, match="unknown key 'loss.l1'"):
        load_config(path, ["loss.l1=3"])
    with pytest.raises(ConfigError, match="data.window: expected an integer"):
        load_config(path, ["data.window=big"])


def test_bad_settings_are_config_errors(dirs):
    with pytest.raises(ConfigError, match="loss.objective: unknown objective 'lsgam'; choose from: .*lsgan"):
        make_task(dirs, "loss.objective=lsgam")
    with pytest.raises(ConfigError, match="eval.metrics: unknown metric 'psq'"):
        make_task(dirs, "eval.metrics=[psq]")
    with pytest.raises(ConfigError, match="data.in_memory"):
        make_task(dirs, "data.in_memory=maybe")
    task = make_task(dirs, "data.window=260")
    with pytest.raises(
        ConfigError, match="data.window=260 is not a multiple of the generator's length_multiple"
    ):
        task.build_networks()
    with pytest.raises(ConfigError, match="model: unknown generator option"):
        make_task(dirs, "model.generator={kernel: 3}").build_networks()


def test_build_and_dataset_follow_the_config(dirs):
    task = make_task(dirs)
    g, d = task.build_networks()
    assert g.hparams["channels"] == [4, 8, 8] and d.hparams["input_length"] == 256
    g2, d2 = task.build_networks()
    assert g2 is not g and d2 is not d  # a second call builds afresh
    ds = task.train_dataset()
    assert ds.window == 256 and ds.hop == 128 and ds.preemphasis == 0.95
    assert len(ds) == 5 + 6 + 3  # (800-256)//128+1, (1000-256)//128+1, (600-256)//128+1
    assert task.export_metadata() == {"sample_rate": 16000, "preemphasis": 0.95, "window": 256}


def test_discriminator_turn_updates_only_d_and_leaves_no_g_grads(dirs):
    task = make_task(dirs)
    g, d = task.build_networks()
    batch = _batch(task)
    nets = Nets(g, d)
    opt_d = torch.optim.RMSprop(d.parameters(), lr=1e-3)
    g0, d0 = _snapshot(g), _snapshot(d)
    # as the trainer does: D trainable, G frozen -- but the fake must be detached even when G is not
    d.requires_grad_(True)
    out = task.discriminator_turn(batch, nets)
    assert set(out.stats) >= {"d_loss", "d_real", "d_fake"}
    out.loss.backward()
    assert all(p.grad is None for p in g.parameters())  # G was trainable and still got nothing
    assert all(p.grad is not None for p in d.parameters())
    # LSGAN: (D(real) - 1)^2 + D(fake)^2 with the stats' means consistent
    assert float(out.stats["d_loss"]) == pytest.approx(float(out.loss.detach()))
    opt_d.step()
    assert all(_changed(d0, d)) and not any(_changed(g0, g))


def test_generator_turn_updates_only_g(dirs):
    task = make_task(dirs)
    g, d = task.build_networks()
    batch = _batch(task)
    nets = Nets(g, d)
    task.discriminator_turn(batch, nets)  # the first D call fixes the VBN reference on real pairs
    opt_g = torch.optim.RMSprop(g.parameters(), lr=1e-3)
    g0, d0 = _snapshot(g), _snapshot(d)
    d.requires_grad_(False)
    out = task.generator_turn(batch, nets)
    assert float(out.stats["g_loss"]) == pytest.approx(
        float(out.stats["g_adv"]) + 100.0 * float(out.stats["g_l1"]), rel=1e-5
    )
    out.loss.backward()
    assert all(p.grad is None for p in d.parameters())
    assert all(p.grad is not None for p in g.parameters())
    opt_g.step()
    assert any(_changed(g0, g)) and not any(_changed(d0, d))


def test_generator_l1_term_matches_definition(dirs):
    task = make_task(
        dirs, "loss.l1_weight=0", "model.generator={channels: [4, 8, 8], kernel_size: 5, latent_channels: 0}"
    )
    g, d = task.build_networks()
    batch = _batch(task)
    out = task.generator_turn(batch, Nets(g, d))
    with torch.no_grad():
        fake = g(batch["noisy"])  # no latent: deterministic
    assert float(out.stats["g_l1"]) == pytest.approx(float((fake - batch["clean"]).abs().mean()), rel=1e-6)
    assert float(out.loss.detach()) == pytest.approx(float(out.stats["g_adv"]), rel=1e-6)


def test_discriminator_output_depends_on_condition(dirs):
    task = make_task(dirs)
    _, d = task.build_networks()
    batch = _batch(task)
    d(batch["clean"], batch["noisy"])  # fixes the VBN reference
    a = d(batch["clean"], batch["noisy"])
    b = d(batch["clean"], batch["noisy"].flip(0))
    c = d(batch["clean"], torch.zeros_like(batch["noisy"]))
    assert not torch.allclose(a, b) and not torch.allclose(a, c)


def test_optional_terms_and_regularizers(dirs):
    task = make_task(
        dirs,
        "loss.stft_weight=1",
        "loss.stft_fft_sizes=[64, 128]",
        "loss.feature_matching_weight=2",
        "loss.objective=wgan-gp",
        "loss.r1_gamma=5",
        "loss.r1_interval=4",
    )
    assert task.gp_weight == 10.0  # wgan-gp's own default when gp_weight is 0
    g, d = task.build_networks()
    nets = Nets(g, d)
    batch = _batch(task)
    out = task.discriminator_turn(batch, nets)
    assert float(out.stats["d_gp"]) > 0
    out = task.generator_turn(batch, nets)
    s = {k: float(v) for k, v in out.stats.items()}
    total = s["g_adv"] + 100 * s["g_l1"] + (s["g_stft_sc"] + s["g_stft_mag"]) + 2 * s["g_fm"]
    assert s["g_loss"] == pytest.approx(total, rel=1e-5) and s["g_fm"] > 0
    [reg] = task.regularizers()
    assert (reg.name, reg.network, reg.interval) == ("r1", "discriminator", 4)
    out = task.regularizer_turn("r1", batch, nets)
    assert float(out.loss.detach()) > 0
    out.loss.backward()
    assert all(p.grad is None for p in g.parameters())
    assert make_task(dirs).regularizers() == []


def test_evaluate_and_write_samples(dirs, tmp_path):
    task = make_task(dirs, "eval.num_samples=1")
    g = task.build_networks()[0].eval()

    class Identity(torch.nn.Module):  # an "enhancer" returning its input: no improvement at all
        length_multiple = 8

        def forward(self, x):
            assert x.shape[-1] % 8 == 0
            return x

    metrics = task.evaluate(Identity(), torch.device("cpu"))
    assert set(metrics) == {
        "si_sdr",
        "si_sdr_noisy",
        "si_sdr_improvement",
        "ssnr",
        "ssnr_noisy",
        "ssnr_improvement",
    }
    # pre-emphasis, identity, de-emphasis gives back the noisy input: zero improvement
    assert metrics["si_sdr_improvement"] == pytest.approx(0.0, abs=1e-3)
    assert metrics["ssnr_improvement"] == pytest.approx(0.0, abs=1e-3)
    utts = list(SEUtterances(dirs[1]))
    expected = np.mean([si_sdr(clean[0].numpy(), noisy[0].numpy()) for _, noisy, clean in utts])
    assert metrics["si_sdr_noisy"] == pytest.approx(expected, rel=1e-6)

    metrics = task.evaluate(g, torch.device("cpu"))
    assert all(np.isfinite(v) for v in metrics.values())
    assert metrics["si_sdr_improvement"] == pytest.approx(metrics["si_sdr"] - metrics["si_sdr_noisy"])

    calls = []

    class Writer:
        def add_audio(self, tag, snd, step, sample_rate):
            calls.append((tag, tuple(snd.shape), step, sample_rate))

    task.write_samples(g, torch.device("cpu"), 7, tmp_path / "samples", Writer())
    files = sorted(p.name for p in (tmp_path / "samples" / "step_7").iterdir())
    assert files == ["valid_0_clean.wav", "valid_0_enhanced.wav", "valid_0_noisy.wav"]
    wave, rate = sf.read(tmp_path / "samples" / "step_7" / "valid_0_enhanced.wav")
    assert rate == SR and wave.shape == (4000,)
    assert [c[0] for c in calls] == [
        "samples/valid_0/noisy",
        "samples/valid_0/enhanced",
        "samples/valid_0/clean",
    ]
    assert calls[0][1:] == ((1, 4000), 7, SR)


def test_validation_scores_what_seqgan_enhance_and_seqgan_score_give(dirs, tmp_path):
    """The validation path is the shipped one: the exported generator through `seqgan enhance`, the
    output scored as `seqgan score` scores it, gives the validation scores of the generator in memory."""
    from seqgan.cli import main
    from seqgan.export import save_model
    from seqgan.scoring import score_pair_files

    names = ["si_sdr", "ssnr", "llr"]
    task = make_task(dirs, "eval.max_utts=1", f"eval.metrics=[{', '.join(names)}]")
    torch.manual_seed(3)
    g = task.build_networks()[0].eval()
    metrics = task.evaluate(g, torch.device("cpu"))
    [(utt, _, _)] = task.validation.utterances()
    assert utt == "valid_0"
    model = tmp_path / "g.safetensors"
    save_model(g, model, **task.export_metadata())
    noisy, clean = dirs[1].parent / "valid_0_noisy.wav", dirs[1].parent / "valid_0_clean.wav"
    assert main(["enhance", "-m", str(model), str(noisy), "-o", str(tmp_path / "enh")]) == 0
    shipped = score_pair_files(utt, str(clean), str(tmp_path / "enh" / "valid_0_noisy.wav"), names)
    assert not shipped.errors
    for m in names:
        assert metrics[m] == pytest.approx(shipped.scores[m], abs=1e-5), m


def test_no_valid_dir_means_no_eval(dirs, tmp_path):
    task = make_task(dirs, "data.valid_dir=")
    g = task.build_networks()[0].eval()
    assert task.evaluate(g, torch.device("cpu")) == {}
    task.write_samples(g, torch.device("cpu"), 1, tmp_path / "s", None)
    assert not (tmp_path / "s").exists()


def test_trainer_runs_a_few_steps(dirs, tmp_path):
    from seqgan.train.trainer import Trainer

    task = make_task(
        dirs,
        "train.max_steps=2",
        "train.eval_interval=2",
        "train.sample_interval=2",
        "train.save_interval=0",
        "train.log_interval=1",
        "train.progress=lines",
        "eval.max_utts=1",
        "eval.num_samples=1",
    )
    stats = Trainer(task, tmp_path / "exp").fit()
    assert np.isfinite(stats["g_loss"]) and np.isfinite(stats["d_loss"])
    assert (tmp_path / "exp" / "samples" / "step_2" / "valid_0_enhanced.wav").is_file()


def test_training_goes_on_after_each_validation(dirs, tmp_path):
    """The Enhancer puts the generator in eval mode; the trainer gives it back its training mode."""
    import json

    from seqgan.train.trainer import Trainer

    task = make_task(
        dirs,
        "train.max_steps=2",
        "train.eval_interval=1",
        "train.save_interval=0",
        "train.log_interval=1",
        "train.progress=lines",
        "eval.max_utts=1",
    )
    trainer = Trainer(task, tmp_path / "exp")
    trainer.fit()
    assert trainer.generator.training
    rows = [json.loads(line) for line in (tmp_path / "exp" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["kind"] == "eval"] == [1, 2]
    assert [r["step"] for r in rows if r["kind"] == "train"] == [1, 2]


@pytest.mark.parametrize("remix", [[], [0.0, 10.0]])
def test_training_on_device_held_data_equals_the_loader(dirs, tmp_path, remix):
    from seqgan.train.trainer import Trainer

    runs = {}
    for on_device in (False, True):
        task = make_task(
            dirs,
            "train.max_steps=4",
            "train.save_interval=0",
            "train.progress=lines",
            "data.valid_dir=",
            f"data.remix_snrs={remix}",
            "data.remix_prob=0.5",
            "data.in_memory=false",
            f"train.data_on_device={str(on_device).lower()}",
            "train.device=cpu",
        )
        trainer = Trainer(task, tmp_path / f"exp_{on_device}")
        trainer.fit()
        runs[on_device] = trainer
    held, loaded = runs[True], runs[False]
    assert held.batches_seen == loaded.batches_seen == 4
    for a, b in zip(held.generator.state_dict().values(), loaded.generator.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.gpu
def test_device_batches_on_cuda_equal_the_loader(dirs):
    task = make_task(dirs, "data.remix_snrs=[0.0, 10.0]", "data.remix_prob=0.5")
    dataset = task.train_dataset()
    keys = [(i % len(dataset), 77 + i) for i in range(2 * len(dataset))]
    got = task.device_batches(dataset, torch.device("cuda"))(keys)
    for name in ("noisy", "clean"):
        want = torch.stack([dataset[k][name] for k in keys])
        assert got[name].is_cuda
        torch.testing.assert_close(got[name].cpu(), want, atol=2e-6, rtol=1e-5)


@pytest.mark.gpu
def test_a_training_step_never_waits_for_the_gpu(dirs, tmp_path):
    """Corpus on the device, fused Adam, the guard on: two whole steps under CUDA's sync-debug 'error'."""
    from seqgan.train.trainer import Trainer

    task = make_task(
        dirs,
        "train.device=cuda",
        "train.data_on_device=true",
        "train.optim_g.name=adam",
        "train.optim_d.name=adam",
        "train.ema_decay=0.9",
        "data.valid_dir=",
    )
    trainer = Trainer(task, tmp_path / "exp").setup()
    batches = trainer.batches()
    assert trainer.data_on_device and trainer.tc.skip_nonfinite

    def step():
        trainer.train_step(batches)  # a discriminator turn, a generator turn, the EMA

    step()  # optimiser state, cuDNN autotuning
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        step()
        step()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert trainer.count_skipped() == {"discriminator": 0, "generator": 0}


def test_seqgan_train_reports_a_missing_audio_file_in_one_line(dirs, tmp_path, capsys):
    from seqgan.cli import main

    train, valid = dirs
    gone = tmp_path / "gone.wav"
    (train / "wav.scp").write_text((train / "wav.scp").read_text() + f"train_9 {gone}\n")
    (train / "spk1.scp").write_text((train / "spk1.scp").read_text() + f"train_9 {gone}\n")
    args = [*TINY, f"data.train_dir={train}", f"data.valid_dir={valid}", "train.max_steps=1"]
    rc = main(["train", "--task", "enhancement", "-o", str(tmp_path / "exp"), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert len(err) == 1 and err[0].startswith("seqgan train: ") and "gone.wav" in err[0], err
    assert "Traceback" not in "\n".join(err)
