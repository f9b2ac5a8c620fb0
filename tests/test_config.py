"""Typed configuration: YAML, dotted overrides, errors for unknown keys and wrong types."""

import pytest
import yaml

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
