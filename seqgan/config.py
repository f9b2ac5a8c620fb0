"""Typed experiment configuration: dataclasses, YAML files and dotted ``key.sub=value`` overrides.

A configuration file names its task (``task: enhancement``); the task's registered dataclass (a subclass
of :class:`ExperimentConfig`) gives every other section its type. Unknown keys and values of the wrong
type are rejected with a message naming the key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration key or value is wrong; the message says which and why."""


@dataclass
class OptimizerConfig:
    """One network's optimiser."""

    name: str = "adam"  # adam | adamw | rmsprop | sgd
    lr: float = 2e-4
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum: float = 0.0  # sgd and rmsprop
    alpha: float = 0.99  # rmsprop smoothing constant


@dataclass
class SchedulerConfig:
    """One network's learning-rate schedule, stepped once per training step."""

    name: str = "constant"  # constant | step | exponential | cosine | linear
    step_size: int = 1000  # step: decay every step_size steps
    gamma: float = 0.5  # step / exponential decay factor
    final_lr_ratio: float = 0.0  # cosine / linear: final lr as a fraction of the initial lr
    warmup_steps: int = 0


@dataclass
class TrainConfig:
    """Everything the generic trainer needs; nothing here names a model."""

    max_steps: int = 1000
    batch_size: int = 16
    num_workers: int = 0
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    log_interval: int = 50
    eval_interval: int = 0  # 0 disables
    sample_interval: int = 0  # 0 disables
    save_interval: int = 500
    n_critic: int = 1  # discriminator turns per generator turn; 0 trains the generator alone
    d_warmup_steps: int = 0  # steps with discriminator turns only
    ema_decay: float = 0.0  # EMA of the generator's weights; 0 disables
    ema_start_step: int = 0
    grad_clip_g: float = 0.0  # max gradient norm; 0 disables
    grad_clip_d: float = 0.0
    weight_clip: float = 0.0  # WGAN: clamp D weights to [-c, c] after each D turn; 0 disables
    amp: bool | str = "auto"  # bf16 autocast: auto (on CUDA only) | true (any device) | false (fp32)
    compile: bool = False  # torch.compile the networks
    compile_mode: str = "default"  # torch.compile mode: default | reduce-overhead | max-autotune | ...
    cudnn_benchmark: bool = True
    fused_optimizer: bool | str = "auto"  # fused Adam/AdamW/SGD kernels: auto (on CUDA) | true | false
    data_on_device: bool | str = "auto"  # hold the training corpus on the device: auto (CUDA, if it fits)
    skip_nonfinite: bool = True  # skip a turn whose loss or gradients are not finite
    progress: str = "auto"  # auto | bar | lines
    optim_g: OptimizerConfig = field(default_factory=OptimizerConfig)
    optim_d: OptimizerConfig = field(default_factory=OptimizerConfig)
    sched_g: SchedulerConfig = field(default_factory=SchedulerConfig)
    sched_d: SchedulerConfig = field(default_factory=SchedulerConfig)


def check_train_config(tc: TrainConfig) -> None:
    """Rejects settings the trainer cannot honour, naming the key."""
    for key in ("amp", "fused_optimizer", "data_on_device"):
        value = getattr(tc, key)
        if isinstance(value, str) and value != "auto":
            raise ConfigError(f"train.{key} must be true, false or auto, got {value!r}")
    if tc.progress not in ("auto", "bar", "lines"):
        raise ConfigError(f"train.progress must be auto, bar or lines, got {tc.progress!r}")
    for key in ("batch_size", "log_interval"):
        if getattr(tc, key) < 1:
            raise ConfigError(f"train.{key} must be >= 1, got {getattr(tc, key)}")
    if tc.n_critic < 0:
        raise ConfigError(f"train.n_critic must be >= 0, got {tc.n_critic}")


@dataclass
class ExperimentConfig:
    """Base of every task's configuration: the task name and the trainer's settings."""

    task: str = ""
    train: TrainConfig = field(default_factory=TrainConfig)


# --------------------------------------------------------------------------------------------------
# Building dataclasses from plain data, with type checks


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Checks ``value`` against the annotation ``tp`` and converts it where that is lossless."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{key}: {value!r} does not match {_type_name(tp)}")
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping for section {tp.__name__}, got {value!r}")
        return from_dict(tp, value, prefix=key + ".")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        (item_tp, *_) = typing.get_args(tp) or (Any,)
        return [_convert(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # PyYAML reads 1e-4 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value


def from_dict(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    """Builds dataclass ``cls`` from ``data``, rejecting unknown keys and wrong types."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"unknown key '{prefix}{unknown[0]}'; {cls.__name__} has: {', '.join(sorted(names))}"
        )
    kwargs = {k: _convert(v, hints[k], prefix + k) for k, v in data.items()}
    return cls(**kwargs)


def to_dict(config: Any) -> dict[str, Any]:
    """The configuration as plain data (for YAML, checkpoints and exported metadata)."""
    return dataclasses.asdict(config)


def parse_override(text: str) -> tuple[list[str], Any]:
    """Splits ``a.b.c=value`` into its key path and a YAML-parsed value."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' is not of the form key.sub=value")
    key, raw = text.split("=", 1)
    key = key.strip().lstrip("-")
    if not key:
        raise ConfigError(f"override '{text}' has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as e:
        raise ConfigError(f"override '{text}': cannot parse the value ({e})") from None
    return key.split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Applies dotted overrides to a nested dict (checked later against the dataclasses)."""
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise ConfigError(f"override '{text}': '{part}' is a value, not a section")
            node = nxt
        node[path[-1]] = value
    return data


def config_class_for(task: str) -> type:
    """The registered configuration dataclass of ``task``."""
    from seqgan.tasks import get_task

    return get_task(task).config_class


def load_config(
    path: str | Path | None = None, overrides: list[str] | None = None, task: str | None = None
) -> ExperimentConfig:
    """Loads a YAML configuration, applies overrides and returns the task's typed dataclass.

    Args:
        path: YAML file; ``None`` starts from the task's defaults (then ``task`` is required).
        overrides: ``key.sub=value`` strings, applied in order.
        task: task name when it is not given in the file or the overrides.
    """
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            loaded = yaml.safe_load(path.read_text())
        except OSError as e:
            raise ConfigError(f"{path}: cannot read the configuration ({e.strerror})") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML ({e})") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping")
        data = loaded or {}
    data = apply_overrides(data, list(overrides or []))
    name = data.get("task") or task
    if not name:
        raise ConfigError("the configuration does not name its task (task: ...)")
    data["task"] = name
    config = from_dict(config_class_for(name), data)
    check_train_config(config.train)
    return config


def dump_config(config: Any) -> str:
    """The resolved configuration as YAML text."""
    return yaml.safe_dump(to_dict(config), sort_keys=False)
