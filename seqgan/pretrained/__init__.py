"""Models shipped inside the package: a name -> file registry.

Each entry is one ``.safetensors`` file in this folder (an exported model, :mod:`seqgan.export`; no
pickle), the task it serves, a line describing it and the recipe command that made it, so that every
shipped file can be made again. ``seqgan play pong`` and ``Predictor.from_pretrained()`` find their model
here; a task's default is the entry marked ``default``.

To ship a model: export it (``seqgan export``), copy it here, add a :class:`PretrainedModel` to
:data:`PRETRAINED` (or call :func:`register`), and make sure pyproject's package-data globs match its file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PRETRAINED",
    "STREAMING_DEFAULT",
    "PretrainedModel",
    "default_model",
    "get",
    "names",
    "register",
    "resolve",
]

_HERE = Path(__file__).resolve().parent

# the causal speech enhancer: what `seqgan enhance --stream` and `seqgan live` use without -m
STREAMING_DEFAULT = "synth_metricgan_causal"


@dataclass(frozen=True)
class PretrainedModel:
    """One shipped model.

    Attributes:
        name: the registry name (``"pong"``).
        file: the ``.safetensors`` file name in ``seqgan/pretrained/``.
        task: the task it serves (``"next_frame"``, ``"enhancement"``).
        description: one line for listings.
        recipe: the command (from the repository root) that trained it.
        results: the repository path of the recipe's RESULTS.md for it.
        default: the model loaded for its task when no name or path is given.
    """

    name: str
    file: str
    task: str
    description: str
    recipe: str = ""
    results: str = ""
    default: bool = False

    @property
    def path(self) -> Path:
        """The file inside the installed package (it may be missing from a broken installation)."""
        return _HERE / self.file


PRETRAINED: dict[str, PretrainedModel] = {}


def register(entry: PretrainedModel) -> PretrainedModel:
    """Adds ``entry`` to :data:`PRETRAINED`.

    Raises:
        ValueError: the name is taken, or its task already has a default.
    """
    if entry.name in PRETRAINED:
        raise ValueError(f"a pretrained model named '{entry.name}' is already registered")
    if entry.default and any(m.default and m.task == entry.task for m in PRETRAINED.values()):
        raise ValueError(f"the task '{entry.task}' already has a default pretrained model")
    PRETRAINED[entry.name] = entry
    return entry


def names(task: str | None = None) -> list[str]:
    """Registered names, sorted; only those of ``task`` when given."""
    return sorted(n for n, m in PRETRAINED.items() if task is None or m.task == task)


def _choices(task: str | None) -> str:
    return ", ".join(names(task)) or "(none)"


def get(name: str, task: str | None = None) -> PretrainedModel:
    """The entry called ``name``, checked to exist on disk (and to serve ``task`` when given).

    Raises:
        ValueError: no such name (the message lists the choices), a model of another task, or a file
            missing from the installation.
    """
    entry = PRETRAINED.get(name)
    if entry is None:
        raise ValueError(f"no pretrained model named '{name}'; choose from: {_choices(task)}")
    if task is not None and entry.task != task:
        raise ValueError(
            f"the pretrained model '{name}' is a {entry.task} model, not {task}; choose from: {_choices(task)}"
        )
    if not entry.path.is_file():
        raise ValueError(
            f"{entry.path} is missing from this installation; reinstall seqgan (pip install seqgan) "
            f"or make it again: {entry.recipe or 'see seqgan/pretrained/__init__.py'}"
        )
    return entry


def default_model(task: str) -> PretrainedModel:
    """The default entry of ``task``.

    Raises:
        ValueError: the task has no default (the message lists its models), or its file is missing.
    """
    for entry in PRETRAINED.values():
        if entry.task == task and entry.default:
            return get(entry.name)
    raise ValueError(f"no default pretrained {task} model; choose from: {_choices(task)}")


def resolve(name_or_path: str | os.PathLike | None, task: str) -> Path:
    """A model file from a path, a registry name (when no such path exists), or ``None`` (the task's
    default).

    Raises:
        ValueError: neither an existing file nor a registered name of ``task``.
    """
    if name_or_path is None:
        return default_model(task).path
    if os.fspath(name_or_path) in PRETRAINED and not Path(name_or_path).exists():
        return get(os.fspath(name_or_path), task).path
    return Path(name_or_path)


register(
    PretrainedModel(
        name="pong",
        file="pong.safetensors",
        task="next_frame",
        description="Pong world model: 80x80 grey frames, 4 context frames, the 6 actions of the game",
        recipe=(
            "cd egs/atari/vp1 && ./run.sh --stage 0 --stop_stage 2 --conf conf/tiny_branch_weighted.yaml "
            "--baseline_tag '' --local_data_opts '--branches true --branch_steps 4' && "
            "./run.sh --conf conf/tiny_branch_rollout.yaml --baseline_tag '' "
            "--init_from exp/train_pong_tiny_branch_weighted/checkpoints/last.pt && "
            "python -m seqgan.pretrained.make exp/train_pong_tiny_branch_rollout/model.safetensors "
            "data/train_pong/episodes.scp -o ../../../seqgan/pretrained/pong.safetensors "
            "--recipe egs/atari/vp1/conf/tiny_branch_rollout.yaml"
        ),
        results="egs/atari/vp1/results/tiny_branch_rollout_pong/RESULTS.md",
        default=True,
    )
)

register(
    PretrainedModel(
        name="synth_metricgan",
        file="synth_metricgan.safetensors",
        task="enhancement",
        description=(
            "speech enhancer, 16 kHz: a MetricGAN+-style BLSTM magnitude mask (0.92 M parameters) trained "
            "on the medium synthetic noisy-speech corpus (11 languages, synthetic and recorded noises, rooms)"
        ),
        recipe=(
            "cd egs/synth/se1 && ./run.sh --conf conf/pretrained.yaml --local_data_opts '--size medium' && "
            "cp exp/train_pretrained/model.safetensors ../../../seqgan/pretrained/synth_metricgan.safetensors"
        ),
        results="egs/synth/se1/results/pretrained/RESULTS.md",
        default=True,
    )
)

register(
    PretrainedModel(
        name=STREAMING_DEFAULT,
        file="synth_metricgan_causal.safetensors",
        task="enhancement",
        description=(
            "causal speech enhancer, 16 kHz, 32 ms algorithmic latency, for --stream and seqgan live: a "
            "MetricGAN+-style unidirectional LSTM magnitude mask (0.40 M parameters), trained as synth_metricgan"
        ),
        recipe=(
            "cd egs/synth/se1 && ./run.sh --conf conf/causal.yaml --local_data_opts '--size medium' && "
            "cp exp/train_causal/model.safetensors ../../../seqgan/pretrained/synth_metricgan_causal.safetensors"
        ),
        results="egs/synth/se1/results/causal/RESULTS.md",
    )
)
