"""Typed configuration: YAML, dotted overrides, errors for unknown keys and wrong types."""

import pytest
import yaml

import seqgan.tasks  # noqa: F401  (declares the built-in tasks to seqgan.config)
from seqgan.config import ConfigError, dump_config, load_config, parse_override


def test_defaults_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("task: toy\ntrain:\n  max_steps: 10\n  optim_g: {name: rmsprop}\n")
    cfg = load_config(path, ["train.batch_size=7", "train.optim_d.betas=[0.0, 0.9]", "loss.objective=hinge"])
    assert cfg.train.max_steps == 10 and cfg.train.batch_size == 7
    assert cfg.train.optim_g.name == "rmsprop" and cfg.train.optim_d.betas == [0.0, 0.9]
    assert cfg.loss.objective == "hinge"
    # ints are accepted for floats, the resolved dump round-trips
    cfg2 = load_config(None, ["train.optim_g.lr=1"], task="toy")
    assert cfg2.train.optim_g.lr == 1.0 and isinstance(cfg2.train.optim_g.lr, float)
    assert yaml.safe_load(dump_config(cfg))["train"]["batch_size"] == 7


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.max_stepz=3", "unknown key 'train.max_stepz'"),
        ("train.max_steps=abc", "train.max_steps: expected an integer"),
        ("train.compile=3", "train.compile: expected true or false"),
        ("train.amp=3", "train.amp: 3 does not match bool | str"),
        ("train.amp=maybe", "train.amp must be true, false or auto"),
        ("train.progress=fancy", "train.progress must be auto, bar or lines"),
        ("train.optim_g=3", "expected a mapping for section OptimizerConfig"),
        ("nonsense", "not of the form key.sub=value"),
    ],
)
def test_bad_overrides_are_rejected(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override], task="toy")


def test_unknown_task_lists_choices():
    with pytest.raises(KeyError, match="unknown task 'toyy'; choose from: .*toy"):
        load_config(None, [], task="toyy")


def test_missing_task_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="does not name its task"):
        load_config(None, [])
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: toy\n  train: [\n")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_config(bad)


def test_parse_override_values():
    assert parse_override("a.b=0.5") == (["a", "b"], 0.5)
    assert load_config(None, ["train.optim_g.lr=1e-3"], task="toy").train.optim_g.lr == 1e-3
    assert parse_override("a=[1, 2]") == (["a"], [1, 2])
    assert parse_override("a=text") == (["a"], "text")


def test_every_bad_value_is_reported_with_its_key():
    with pytest.raises(ConfigError) as info:
        load_config(
            None,
            [
                "train.batch_size=0",
                "train.optim_g.name=adan",
                "train.sched_d.name=cosin",
                "train.ema_decay=1.5",
                "loss.objective=hinj",
                "loss.r1_interval=0",
                "data.stds=[0.5, -1.0]",
            ],
            task="toy",
        )
    problems = info.value.problems
    assert len(problems) == 7 and str(info.value) == "\n".join(problems)
    expected = [
        "train.optim_g.name must be adam, adamw, rmsprop or sgd, got 'adan'",
        "train.sched_d.name must be constant, step, exponential, cosine or linear, got 'cosin'",
        "train.batch_size must be >= 1, got 0",
        "train.ema_decay must be in [0.0, 1.0), got 1.5",
        "loss.objective: unknown objective 'hinj'; choose from: ",
        "loss.r1_interval must be >= 1, got 0",
        "data.stds must be > 0, got [0.5, -1.0]",
    ]
    for want in expected:
        assert any(p.startswith(want) for p in problems), (want, problems)
    # wrong types and unknown keys are all reported too (values are checked once the types are right)
    with pytest.raises(ConfigError) as info:
        load_config(None, ["train.max_steps=abc", "train.bogus=1", "loss.gp_weight=high"], task="toy")
    first, second, third = info.value.problems
    assert first.startswith("unknown key 'train.bogus'; TrainConfig has: amp, batch_size")
    assert second == "train.max_steps: expected an integer, got 'abc'"
    assert third == "loss.gp_weight: expected a number, got 'high'"


def test_a_config_class_can_be_given_and_checked_configs_round_trip():
    from seqgan.tasks.toy import ToyConfig

    cfg = load_config(None, ["hidden=8"], config_class=ToyConfig)
    assert isinstance(cfg, ToyConfig) and cfg.task == "toy" and cfg.hidden == 8
    with pytest.raises(ConfigError, match="hidden must be >= 1, got 0"):
        load_config(None, ["hidden=0"], config_class=ToyConfig)


def test_declared_names_are_imported_on_first_use():
    from seqgan.registry import Registry

    reg = Registry("thing")
    reg.declare("tiny", "seqgan.losses")  # a module that registers nothing here
    assert "tiny" in reg and reg.names() == ["tiny"] and len(reg) == 1
    with pytest.raises(KeyError, match="unknown thing 'tiny'; choose from: tiny"):
        reg.get("tiny")
    reg.register("tiny")(int)
    assert reg.get("tiny") is int


def test_train_dry_run_fails_on_every_bad_key_in_one_line_each(capsys):
    from seqgan.cli import main

    assert main(["train", "--task", "enhancement", "--dry-run", "data.hop=-1", "loss.objective=nope"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("seqgan train:")]
    assert err[0] == "seqgan train: data.hop must be >= 0 (0: window // 2), got -1"
    assert err[1].startswith("seqgan train: loss.objective: unknown objective 'nope'; choose from: ")
    assert "lsgan" in err[1] and len(err) == 2


def test_train_dry_run_builds_the_networks(capsys):
    from seqgan.cli import main

    # a window the generator cannot take fails where a real run would: building the networks
    argv = ["train", "--task", "enhancement", "--dry-run", "model.preset=segan_small", "data.window=8000"]
    assert main(argv) == 2
    (line,) = [x for x in capsys.readouterr().err.splitlines() if x.startswith("seqgan train:")]
    assert "data.window=8000 is not a multiple of the generator's length_multiple (128" in line
    assert main(["train", "--task", "toy", "--dry-run", "hidden=4"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["task"] == "toy" and printed["hidden"] == 4
    assert main(["train", "--task", "toyy", "--dry-run"]) == 2
    assert "unknown task 'toyy'; choose from: enhancement, next_frame, toy" in capsys.readouterr().err
