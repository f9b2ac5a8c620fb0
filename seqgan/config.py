"""Typed experiment configuration: dataclasses, YAML files and dotted ``key.sub=value`` overrides.

A configuration file names its task (``task: enhancement``); the task's configuration dataclass (a
subclass of :class:`ExperimentConfig`, registered in :data:`CONFIGS` under the task's name) gives every
other section its type. Unknown keys and values of the wrong type are rejected with a message naming the
key.

Every section checks its own values: a dataclass may define ``check() -> list[str]``, one message per
bad field, each starting with the field's name (``"hop must be >= 0 (0: window // 2), got -1"``); a
section that relates fields of several sections (the task's top-level dataclass) names them by their
dotted keys. :func:`check_config` walks the sections and gives every message its full dotted key;
:func:`load_config` raises one :class:`ConfigError` listing all of them.

This module knows no task: ``seqgan.tasks`` declares the built-in tasks in :data:`CONFIGS` (importing
any ``seqgan.tasks`` module does), and :func:`seqgan.tasks.register_task` registers a task's dataclass.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seqgan.registry import Registry


class ConfigError(ValueError):
    """One or more configuration keys or values are wrong; each line of the message says which and why.

    Attributes:
        problems: the messages, one per bad key.
    """

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
SCHEDULES = ("constant", "step", "exponential", "cosine", "linear")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
_DEVICE = re.compile(r"auto|cpu|mps|(cuda|xpu)(:\d+)?")


# --------------------------------------------------------------------------------------------------
# Helpers for check() methods: each returns the problem as a message, or None


def at_least(config: Any, key: str, low: float, note: str = "") -> str | None:
    """``"<key> must be >= low[ (note)], got v"`` when ``config.<key> < low``."""
    value = getattr(config, key)
    if value >= low:
        return None
    return f"{key} must be >= {low}{f' ({note})' if note else ''}, got {value}"


def in_range(config: Any, key: str, low: float, high: float, closed: bool = True) -> str | None:
    """``"<key> must be in [low, high]"`` (``[low, high)`` unless ``closed``) when it is not."""
    value = getattr(config, key)
    if low <= value <= high and (closed or value < high):
        return None
    return f"{key} must be in [{low}, {high}{']' if closed else ')'}, got {value}"


def one_of(config: Any, key: str, choices: tuple[Any, ...] | list[Any], words: str = "") -> str | None:
    """``"<key> must be <words or a, b or c>, got 'x'"`` when the value is not one of ``choices``."""
    value = getattr(config, key)
    if value in choices:
        return None
    if not words:
        words = (
            ", ".join(map(str, choices[:-1])) + f" or {choices[-1]}" if len(choices) > 1 else str(choices[0])
        )
    return f"{key} must be {words}, got {value!r}"


def tri_state(config: Any, key: str) -> str | None:
    """A ``bool | str`` field: true, false or ``auto``."""
    value = getattr(config, key)
    if isinstance(value, str) and value != "auto":
        return f"{key} must be true, false or auto, got {value!r}"
    return None


def resolves(key: str, lookup: Callable[[], Any]) -> str | None:
    """``"<key>: <why>"`` when ``lookup()`` raises (an unknown name: the message lists the choices)."""
    try:
        lookup()
    except (KeyError, ValueError, TypeError) as e:
        return f"{key}: {e}"
    return None


def collect(*found: str | None) -> list[str]:
    """The messages among ``found`` (the helpers above give None for a good value)."""
    return [p for p in found if p]


# --------------------------------------------------------------------------------------------------
# The trainer's sections


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

    def check(self) -> list[str]:
        found = [
            one_of(self, "name", OPTIMIZERS),
            None if self.lr > 0 else f"lr must be > 0, got {self.lr}",
            None if self.eps > 0 else f"eps must be > 0, got {self.eps}",
            at_least(self, "weight_decay", 0),
            at_least(self, "momentum", 0),
            in_range(self, "alpha", 0.0, 1.0),
        ]
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            found.append(f"betas must be two numbers in [0, 1), got {self.betas}")
        return collect(*found)


@dataclass
class SchedulerConfig:
    """One network's learning-rate schedule, stepped once per training step."""

    name: str = "constant"  # constant | step | exponential | cosine | linear
    step_size: int = 1000  # step: decay every step_size steps
    gamma: float = 0.5  # step / exponential decay factor
    final_lr_ratio: float = 0.0  # cosine / linear: final lr as a fraction of the initial lr
    warmup_steps: int = 0

    def check(self) -> list[str]:
        return collect(
            one_of(self, "name", SCHEDULES),
            at_least(self, "step_size", 1),
            None if self.gamma > 0 else f"gamma must be > 0, got {self.gamma}",
            at_least(self, "final_lr_ratio", 0),
            at_least(self, "warmup_steps", 0),
        )


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

    def check(self) -> list[str]:
        found = [tri_state(self, key) for key in ("amp", "fused_optimizer", "data_on_device")]
        found += [
            one_of(self, "progress", ("auto", "bar", "lines")),
            None
            if _DEVICE.fullmatch(self.device)
            else f"device must be auto, cpu, cuda, cuda:N or mps, got {self.device!r}",
            one_of(self, "compile_mode", COMPILE_MODES),
            at_least(self, "batch_size", 1),
            at_least(self, "log_interval", 1),
            at_least(self, "n_critic", 0),
            in_range(self, "ema_decay", 0.0, 1.0, closed=False),
        ]
        for key in ("max_steps", "num_workers", "save_interval", "d_warmup_steps", "ema_start_step"):
            found.append(at_least(self, key, 0))
        for key in ("eval_interval", "sample_interval"):
            found.append(at_least(self, key, 0, "0 disables"))
        for key in ("grad_clip_g", "grad_clip_d", "weight_clip"):
            found.append(at_least(self, key, 0, "0 disables"))
        return collect(*found)


def check_train_config(tc: TrainConfig) -> None:
    """Rejects settings the trainer cannot honour: a :class:`ConfigError` naming every bad ``train.*`` key."""
    problems = check_config(tc, "train.")
    if problems:
        raise ConfigError(*problems)


@dataclass
class ExperimentConfig:
    """Base of every task's configuration: the task name and the trainer's settings."""

    task: str = ""
    train: TrainConfig = field(default_factory=TrainConfig)


CONFIGS: Registry[type[ExperimentConfig]] = Registry("task", base=ExperimentConfig)
"""Task name -> its configuration dataclass (filled by ``seqgan.tasks``)."""


def check_config(config: Any, prefix: str = "") -> list[str]:
    """Every problem of ``config`` and of its sections, depth first, as ``"<prefix><dotted key> ..."``.

    Each section's fields come first, then the section's own ``check()`` (whose cross-section
    messages name the other keys relative to it).
    """
    if not dataclasses.is_dataclass(config):
        return []
    problems: list[str] = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            problems += check_config(value, f"{prefix}{f.name}.")
    check = getattr(config, "check", None)
    if callable(check):
        problems += [prefix + p for p in check()]
    return problems


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
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, key)
            except ConfigError:
                pass
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
    """Builds dataclass ``cls`` from ``data``, rejecting unknown keys and wrong types (all of them, in one
    :class:`ConfigError`). Values are not checked here: see :func:`check_config`."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    problems = [
        f"unknown key '{prefix}{key}'; {cls.__name__} has: {', '.join(sorted(names))}"
        for key in sorted(set(data) - names)
    ]
    kwargs = {}
    for key, value in data.items():
        if key in names:
            try:
                kwargs[key] = _convert(value, hints[key], prefix + key)
            except ConfigError as e:
                problems += e.problems
    if problems:
        raise ConfigError(*problems)
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


def config_class_for(task: str) -> type[ExperimentConfig]:
    """The configuration dataclass registered for ``task`` in :data:`CONFIGS`.

    Raises:
        seqgan.registry.UnknownNameError: no such task (the message lists the known ones).
    """
    if not len(CONFIGS):
        raise ConfigError(
            f"unknown task '{task}': no task is registered; import seqgan.tasks (or the module that "
            "registers the task) first, or pass config_class"
        )
    return CONFIGS.get(task)


def load_config(
    path: str | Path | None = None,
    overrides: list[str] | None = None,
    task: str | None = None,
    config_class: type[ExperimentConfig] | None = None,
) -> ExperimentConfig:
    """Loads a YAML configuration, applies overrides and returns the task's typed, checked dataclass.

    Args:
        path: YAML file; ``None`` starts from the task's defaults (then ``task`` is required).
        overrides: ``key.sub=value`` strings, applied in order.
        task: task name when it is not given in the file or the overrides.
        config_class: the dataclass to build; default: the one registered for the task in
            :data:`CONFIGS`.

    Raises:
        ConfigError: unreadable file, unknown keys, wrong types or bad values: every problem found,
            one line each.
        seqgan.registry.UnknownNameError: an unknown task (the message lists the known ones).
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
    name = data.get("task") or task or (config_class.task if config_class is not None else "")
    if not name:
        raise ConfigError("the configuration does not name its task (task: ...)")
    data["task"] = name
    config = from_dict(config_class or config_class_for(name), data)
    problems = check_config(config)
    if problems:
        raise ConfigError(*problems)
    return config


def dump_config(config: Any) -> str:
    """The resolved configuration as YAML text."""
    return yaml.safe_dump(to_dict(config), sort_keys=False)
