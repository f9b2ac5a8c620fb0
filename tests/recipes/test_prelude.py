"""What the staged recipes share: utils/prelude.sh (log, die, option checks, experiment naming, stage
selection, signatures), parse_options.sh's pass-on mode for the corpus run.sh scripts, and
utils/train_progress.py (the training reports read from metrics.jsonl)."""

from __future__ import annotations

import importlib.util
import json
import re
import stat
from pathlib import Path
from types import ModuleType

import pytest
from recipe_support import REPO, copy_recipe, run_script

UTILS = REPO / "recipes" / "utils"


def _script(path: Path, body: str) -> Path:
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, UTILS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- prelude.sh ---------------------------------------------------------------------------------------


@pytest.fixture
def prelude_script(tmp_path: Path) -> Path:
    """A recipe-like script: the prelude, the common options, parse_options, then a command given as $1."""
    (tmp_path / "utils").symlink_to(UTILS)
    (tmp_path / "path.sh").write_text("")
    (tmp_path / "cmd.sh").write_text("train_cmd=run\ndecode_cmd=run\n")
    return _script(
        tmp_path / "recipe.sh",
        "#!/usr/bin/env bash\nset -euo pipefail\n"
        '. "$(dirname "${BASH_SOURCE[0]}")/utils/prelude.sh"\n'
        "stage=0\nstop_stage=5\nngpu=0\nnnodes=1\nrdzv_endpoint=\ninference_ngpu=0\nnj=2\n"
        "train_set=\nvalid_set=\ntest_sets=\nconf=\ntag=\nexp_name=\nexpdir=exp\n"
        "check_recipe_dir\n. ./path.sh\n. ./cmd.sh\n. utils/parse_options.sh\nstart_clock\n"
        'check_common_options "$@"\ncollect_sets\nlog "${recipe_cmdline}"\n'
        'echo "exp=${expdir}/$(experiment_name) all=${_all_sets[*]} tests=${_test_sets[*]}"\n'
        'for n in -1 0 2 5 6; do if stage_selected $n; then echo "stage $n"; fi; done\n'
        "log_done\n",
    )


def test_prelude_names_the_experiment_and_selects_stages(prelude_script: Path) -> None:
    cwd = prelude_script.parent
    args = ["--train_set", "tr", "--valid_set", "dv", "--test_sets", "dv ts", "--conf", "conf/small.yaml"]
    r = run_script([prelude_script, *args, "--stage", "0", "--stop-stage", "2"], cwd)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].endswith(f"(recipe.sh) {prelude_script} {' '.join(args)} --stage 0 --stop-stage 2")
    assert "exp=exp/tr_small all=tr dv ts tests=dv ts" in lines
    assert [x for x in lines if x.startswith("stage ")] == ["stage 0", "stage 2"]
    assert re.search(r"\(recipe\.sh\) Done in \d+ s$", lines[-1])
    r = run_script([prelude_script, *args, "--tag", "x"], cwd)
    assert "exp=exp/tr_small_x " in r.stdout
    r = run_script([prelude_script, *args, "--tag", "x", "--exp_name", "mine"], cwd)
    assert "exp=exp/mine " in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--test_sets", "t", "--conf", "c"], "--train_set is required"),
        (
            ["--train_set", "a", "--test_sets", "t", "--conf", "c", "--nj", "x"],
            "--nj must be an integer, got 'x'",
        ),
        (["--train_set", "a", "--test_sets", "t", "--conf", "c", "--nj", "0"], "--nj must be at least 1"),
        (["--train_set", "a", "--test_sets", "t", "--conf", "c", "--nnodes", "2"], "needs --rdzv_endpoint"),
        (["--train_set", "a", "--test_sets", "t", "--conf", "c", "extra"], "unexpected arguments: extra"),
    ],
)
def test_prelude_option_checks(prelude_script: Path, args: list[str], message: str) -> None:
    r = run_script([prelude_script, *args], prelude_script.parent)
    assert r.returncode == 1 and "(recipe.sh) Error: " in r.stderr and message in r.stderr, r.stderr


def test_prelude_refuses_to_run_outside_a_recipe_directory(prelude_script: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run_script([prelude_script, "--help"], elsewhere)
    assert r.returncode == 1 and "run me from a recipe directory" in r.stderr


def test_signature_changes_with_the_file_and_the_words(tmp_path: Path) -> None:
    (tmp_path / "utils").symlink_to(UTILS)
    conf = tmp_path / "c.yaml"
    conf.write_text("a: 1\n")
    script = _script(
        tmp_path / "sig.sh",
        '#!/usr/bin/env bash\nset -euo pipefail\n. utils/prelude.sh\nsignature "$1" "${@:2}"\n',
    )
    sigs = [run_script([script, conf, "x y"], tmp_path).stdout for _ in range(2)]
    assert sigs[0] == sigs[1] and sigs[0].strip().isdigit()
    assert run_script([script, conf, "x z"], tmp_path).stdout != sigs[0]
    conf.write_text("a: 2\n")
    assert run_script([script, conf, "x y"], tmp_path).stdout != sigs[0]


def test_both_staged_scripts_source_the_prelude() -> None:
    for name in ("se.sh", "vp.sh"):
        text = (REPO / "recipes" / name).read_text()
        assert '. "$(dirname "${BASH_SOURCE[0]}")/utils/prelude.sh"' in text
        assert "\nlog() {" not in text and "\ndie() {" not in text and "\nsignature() {" not in text
        assert not re.search(
            r"(grep|awk|sed|tail)[^\n]*train\.log", text.replace("tail -f", "")
        )  # metrics.jsonl


# -- parse_options.sh: pass_unknown_options -----------------------------------------------------------


@pytest.fixture
def pass_script(tmp_path: Path) -> Path:
    """A corpus run.sh: one option of its own, the others passed on to a script that prints them."""
    (tmp_path / "utils").symlink_to(UTILS)
    _script(tmp_path / "inner.sh", '#!/usr/bin/env bash\nprintf "<%s>" "$@"; echo\n')
    return _script(
        tmp_path / "run.sh",
        "#!/usr/bin/env bash\nset -euo pipefail\n"
        "db=/default   # the corpus folder\n"
        'help_message="Usage: $0 [--db DIR] [options of inner.sh]"\n'
        "pass_unknown_options=true\n"
        ". utils/parse_options.sh\n"
        'echo "db=${db}"\n./inner.sh --first 1 "$@"\n',
    )


def test_pass_mode_keeps_its_options_and_passes_the_others_on(pass_script: Path) -> None:
    cwd = pass_script.parent
    r = run_script(
        [pass_script, "--nj", "4", "--db", "/data/x y", "--conf=c.yaml", "--stop-stage", "-1"], cwd
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "db=/data/x y",
        "<--first><1><--nj><4><--conf><c.yaml><--stop-stage><-1>",
    ]
    r = run_script([pass_script, "--db=/d", "--", "pos"], cwd)
    assert r.stdout.splitlines() == ["db=/d", "<--first><1><pos>"]
    r = run_script([pass_script, "--nj"], cwd)
    assert r.returncode == 1 and "needs a value" in r.stderr


def test_pass_mode_help_lists_its_options_then_passes_help_on(pass_script: Path) -> None:
    r = run_script([pass_script, "--db", "/mine", "--help"], pass_script.parent)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == f"Usage: {pass_script} [--db DIR] [options of inner.sh]"
    options = [line.split()[0] for line in out if line.startswith("  --")]
    assert options == ["--db"]  # pass_unknown_options is no option; --help belongs to the called script
    assert any(line.startswith("  --db") and line.endswith("[/mine]") for line in out)
    assert out[-1] == "<--first><1><--help>"


def test_voicebank_run_takes_db_through_parse_options(tmp_path: Path) -> None:
    recipe = copy_recipe("egs/voicebank_demand/se1", tmp_path)
    r = run_script(["./run.sh", "--db=/corpora/vbd", "--help"], recipe)
    assert r.returncode == 0, r.stderr
    lines = {line.split()[0]: line for line in r.stdout.splitlines() if line.startswith("  --")}
    assert lines["--db"].endswith("[/corpora/vbd]")
    assert lines["--conf"].endswith("[conf/segan.yaml]") and lines["--nj"].endswith(
        "[8]"
    )  # se.sh's, as run.sh sets
    r = run_script(
        ["./run.sh", "--db", str(tmp_path / "missing"), "--stage", "0", "--stop-stage", "0"], recipe
    )
    assert r.returncode != 0 and f"{tmp_path / 'missing'}: no such folder" in r.stderr
    r = run_script(["./run.sh", "--bogus", "1"], recipe)
    assert r.returncode == 1 and "unknown option --bogus" in r.stderr


# -- train_progress.py --------------------------------------------------------------------------------


def _write_run(exp: Path, rows: list[dict], max_steps: int | None = 100) -> None:
    exp.mkdir(parents=True, exist_ok=True)
    if max_steps is not None:
        (exp / "config.yaml").write_text(f"train:\n  max_steps: {max_steps}\n")
    text = "".join(json.dumps(r) + "\n" for r in rows)
    (exp / "metrics.jsonl").write_text(text + '{"step": 3, "kind": "tr')  # and a line cut short


def test_train_progress_reads_the_latest_report(tmp_path: Path, capsys) -> None:
    progress = _load("train_progress")
    exp = tmp_path / "exp"
    _write_run(
        exp,
        [
            {"step": 10, "kind": "train", "time": 5.0, "d_loss": 0.69314, "g_l1": 0.04123, "lr_g": 0.0002},
            {"step": 20, "kind": "train", "time": 10.0, "d_loss": 0.5, "g_l1": 0.04, "lr_g": 0.0002},
            {"step": 20, "kind": "eval", "time": 11.0, "eval/pesq_wb": 2.5, "eval/pesq_wb_improvement": 0.3},
        ],
    )
    assert progress.main([str(exp)]) == 0
    assert capsys.readouterr().out == "step 20/100 eval: eval/pesq_wb=2.5 eval/pesq_wb_improvement=0.3\n"
    progress.main([str(exp), "--each-kind", "--keys", "d_loss|g_l1|eval/(?!.*_improvement$)[a-z0-9_]+"])
    # 10 steps in 5 s: 80 steps left take 40 s
    assert capsys.readouterr().out.splitlines() == [
        "step 20/100 train: d_loss=0.5 g_l1=0.04 (eta 0:40)",
        "step 20/100 eval: eval/pesq_wb=2.5",
    ]
    progress.main([str(exp), "--each-kind", "--width", "12"])
    assert capsys.readouterr().out.splitlines() == ["step 20/100 ", "step 20/100 "]
    assert progress.main([str(tmp_path / "nothing")]) == 0 and capsys.readouterr().out == ""


def test_train_progress_pace_is_the_current_run(tmp_path: Path) -> None:
    progress = _load("train_progress")
    rows = [
        {"step": 10, "kind": "train", "time": 1.0},
        {"step": 20, "kind": "train", "time": 2.0},  # 10 steps/s before the interruption
        {"step": 30, "kind": "train", "time": 0.5},  # resumed: the clock starts again
        {"step": 40, "kind": "train", "time": 4.5},
    ]
    assert progress.steps_per_second(rows) == pytest.approx(10 / 4)
    assert progress.steps_per_second(rows[:1]) is None
    assert progress.describe(rows[-1], None, None) == "step 40 train:"
    assert progress.describe({"step": 40, "kind": "train", "x": 1}, 40, 2.0) == "step 40/40 train: x=1"
    exp = tmp_path / "exp"
    _write_run(exp, rows, max_steps=None)
    assert progress.max_steps(exp) is None
