"""The speech-enhancement recipes: option parsing, job runner, data-directory tools, and the synth and
VoiceBank-DEMAND recipes run end to end with the tiny configuration."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
import soundfile as sf
from recipe_support import (
    FAKE_TEST_SPEAKERS,
    REPO,
    copy_recipe,
    make_fake_voicebank,
    recipe_env,
    run_script,
)

UTILS = REPO / "recipes" / "utils"


def _script(path: Path, body: str) -> Path:
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def options_script(tmp_path: Path) -> Path:
    """A script with three options parsed by utils/parse_options.sh; prints their values."""
    (tmp_path / "utils").symlink_to(UTILS)
    return _script(
        tmp_path / "opts.sh",
        "#!/usr/bin/env bash\nset -euo pipefail\n"
        "stage=0          # first stage\n"
        "stop_stage=100   # last stage\n"
        "use_gpu=false    # a switch\n"
        'name="a b"       # a name\n'
        'help_message="Usage: $0 [options] ARG"\n'
        ". utils/parse_options.sh\n"
        'echo "stage=${stage} stop_stage=${stop_stage} use_gpu=${use_gpu} name=${name} args=$*"\n',
    )


# -- parse_options.sh -------------------------------------------------------------------------------


def test_options_both_spellings_and_equals(options_script: Path) -> None:
    r = run_script([options_script, "--stage", "2", "--stop_stage", "3", "pos"], options_script.parent)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "stage=2 stop_stage=3 use_gpu=false name=a b args=pos"
    r = run_script(
        [options_script, "--stop-stage=4", "--name", "x y", "--use-gpu", "true"], options_script.parent
    )
    assert r.stdout.strip() == "stage=0 stop_stage=4 use_gpu=true name=x y args="


def test_options_last_one_wins(options_script: Path) -> None:
    r = run_script([options_script, "--stage", "1", "--stage", "5"], options_script.parent)
    assert "stage=5 " in r.stdout


def test_options_help_lists_every_option_with_its_value(options_script: Path) -> None:
    r = run_script([options_script, "--stage", "7", "--help"], options_script.parent)
    assert r.returncode == 0
    assert r.stdout.startswith("Usage: ")
    lines = {line.split()[0]: line for line in r.stdout.splitlines() if line.startswith("  --")}
    assert list(lines) == ["--stage", "--stop_stage", "--use_gpu", "--name", "--help"]
    assert "first stage" in lines["--stage"] and lines["--stage"].endswith("[7]")  # values so far
    assert lines["--stop_stage"].endswith("[100]")
    assert lines["--name"].endswith("[a b]")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stagee", "1"], "unknown option --stagee"),
        (["--PATH", "/x"], "unknown option --PATH"),  # only the script's own variables
        (["--stage"], "needs a value"),
        (["--use_gpu", "yes"], "takes true or false"),
    ],
)
def test_options_errors(options_script: Path, args: list[str], message: str) -> None:
    r = run_script([options_script, *args], options_script.parent)
    assert r.returncode == 1
    assert message in r.stderr
    assert r.stdout == ""


# -- run_jobs.sh ------------------------------------------------------------------------------------


def test_run_jobs_array_substitutes_job_and_logs(tmp_path: Path) -> None:
    r = run_script(
        [UTILS / "run_jobs.sh", "JOB=1:3", "log/out.JOB.log", "bash", "-c", "echo part JOB > res.JOB"],
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    for i in (1, 2, 3):
        assert (tmp_path / f"res.{i}").read_text() == f"part {i}\n"
        log = (tmp_path / f"log/out.{i}.log").read_text()
        assert log.startswith("# bash -c") and "# Ended (code 0)" in log


def test_run_jobs_reports_failed_jobs(tmp_path: Path) -> None:
    r = run_script(
        [UTILS / "run_jobs.sh", "--max-jobs-run", "1", "JOB=1:3", "log/j.JOB.log", "bash", "-c",
         "echo oops-JOB; [ JOB != 2 ]"],
        tmp_path,
    )  # fmt: skip
    assert r.returncode == 1
    assert "job 2 failed" in r.stderr and "log/j.2.log" in r.stderr and "oops-2" in r.stderr
    assert "job 1 failed" not in r.stderr
    assert "# Ended (code 1)" in (tmp_path / "log/j.2.log").read_text()


def test_run_jobs_term_stops_the_jobs(tmp_path: Path) -> None:
    import subprocess
    import time

    runner = subprocess.Popen(
        [str(UTILS / "run_jobs.sh"), "JOB=1:2", "log/l.JOB.log", "bash", "-c", "echo $$ > pid.JOB; sleep 30"],
        cwd=tmp_path,
    )
    for _ in range(100):
        if (tmp_path / "pid.1").is_file() and (tmp_path / "pid.2").is_file():
            break
        time.sleep(0.05)
    runner.terminate()
    assert runner.wait(timeout=10) != 0
    time.sleep(0.3)
    for i in (1, 2):
        pid = int((tmp_path / f"pid.{i}").read_text())
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        )


def test_run_jobs_slurm_backend_wraps_each_job_in_srun(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    # a stand-in srun: records its options, then runs the command
    _script(
        bindir / "srun",
        '#!/usr/bin/env bash\nopts=()\nwhile [[ "$1" == --* ]]; do opts+=("$1" "$2"); shift 2; done\n'
        'echo "srun ${opts[*]}" >> "$(dirname "$0")/calls"\nexec "$@"\n',
    )
    env = recipe_env({"PATH": f"{bindir}:{recipe_env()['PATH']}"})
    r = run_script(
        [UTILS / "run_jobs.sh", "--backend", "slurm", "--gpu", "2", "--mem", "4G", "--time", "1:00:00",
         "JOB=1:2", "log/s.JOB.log", "echo", "job", "JOB"],
        tmp_path, env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    calls = sorted((bindir / "calls").read_text().splitlines())
    assert len(calls) == 2
    assert "--gres gpu:2" in calls[0] and "--mem 4G" in calls[0] and "--time 1:00:00" in calls[0]
    assert "job 2" in (tmp_path / "log/s.2.log").read_text()


# -- data-directory tools ---------------------------------------------------------------------------


def _data_dir(path: Path, utts: dict[str, str]) -> Path:
    """A data directory of empty files: utt -> speaker."""
    path.mkdir(parents=True)
    audio = path / "audio"
    audio.mkdir()
    for utt in utts:
        (audio / f"{utt}.wav").write_bytes(b"")
    ids = sorted(utts)
    (path / "wav.scp").write_text("".join(f"{u} {audio}/{u}.wav\n" for u in ids))
    (path / "spk1.scp").write_text("".join(f"{u} {audio}/{u}.wav\n" for u in ids))
    (path / "utt2spk").write_text("".join(f"{u} {utts[u]}\n" for u in ids))
    (path / "utt2dur").write_text("".join(f"{u} 1.5\n" for u in ids))
    r = run_script([UTILS / "utt2spk_to_spk2utt.sh", path / "utt2spk"], path)
    (path / "spk2utt").write_text(r.stdout)
    return path


UTTS = {f"{s}_{i:03d}": s for s in ("p1", "p2", "p3") for i in range(1, 4)}


def test_validate_data_dir_accepts_good_and_names_problems(tmp_path: Path) -> None:
    d = _data_dir(tmp_path / "d", UTTS)
    r = run_script([UTILS / "validate_data_dir.sh", "--required", "wav.scp spk1.scp", d], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "OK (9 utterances" in r.stdout

    lines = (d / "spk1.scp").read_text().splitlines()
    (d / "spk1.scp").write_text("\n".join(lines[1:]) + "\n")  # one id fewer
    (d / "utt2dur").write_text((d / "utt2dur").read_text().replace("1.5", "abc", 1))
    (d / "audio" / "p3_003.wav").unlink()
    r = run_script([UTILS / "validate_data_dir.sh", d], tmp_path)
    assert r.returncode == 1
    assert "spk1.scp: ids do not match wav.scp (only in wav.scp: p1_001" in r.stderr
    assert "utt2dur: the duration of p1_001 is not a number" in r.stderr
    assert "1 of 9 files do not exist" in r.stderr and "p3_003.wav" in r.stderr


def test_validate_data_dir_unsorted_and_duplicates(tmp_path: Path) -> None:
    d = _data_dir(tmp_path / "d", UTTS)
    text = (d / "wav.scp").read_text().splitlines()
    (d / "wav.scp").write_text("\n".join([text[1], text[0], *text[2:]]) + "\n")
    r = run_script([UTILS / "validate_data_dir.sh", d], tmp_path)
    assert r.returncode == 1 and "not sorted" in r.stderr and "LC_ALL=C sort" in r.stderr
    (d / "wav.scp").write_text("\n".join([text[0], text[0], *text[1:]]) + "\n")
    r = run_script([UTILS / "validate_data_dir.sh", d], tmp_path)
    assert r.returncode == 1 and "repeats the id p1_001" in r.stderr


def test_subset_by_speakers_and_combine_back(tmp_path: Path) -> None:
    d = _data_dir(tmp_path / "all", UTTS)
    (tmp_path / "spk").write_text("p2\n")
    sub = UTILS / "subset_data_dir.sh"
    assert run_script([sub, "--spk-list", tmp_path / "spk", d, tmp_path / "dev"], tmp_path).returncode == 0
    assert (
        run_script([sub, "--exclude-spk-list", tmp_path / "spk", d, tmp_path / "tr"], tmp_path).returncode
        == 0
    )
    assert set((tmp_path / "dev/utt2spk").read_text().split()[1::2]) == {"p2"}
    assert "p2" not in (tmp_path / "tr/utt2spk").read_text()
    assert (tmp_path / "tr/spk2utt").read_text() == "p1 p1_001 p1_002 p1_003\np3 p3_001 p3_002 p3_003\n"

    r = run_script(
        [UTILS / "combine_data.sh", tmp_path / "back", tmp_path / "tr", tmp_path / "dev"], tmp_path
    )
    assert r.returncode == 0, r.stderr
    for name in ("wav.scp", "spk1.scp", "utt2spk", "spk2utt", "utt2dur"):
        assert (tmp_path / "back" / name).read_text() == (d / name).read_text()
    # the same utterances twice: refused, nothing written
    r = run_script([UTILS / "combine_data.sh", tmp_path / "twice", d, tmp_path / "dev"], tmp_path)
    assert r.returncode == 1 and "in more than one source" in r.stderr
    assert not (tmp_path / "twice").exists()


def test_subset_first_and_random(tmp_path: Path) -> None:
    d = _data_dir(tmp_path / "all", UTTS)
    sub = UTILS / "subset_data_dir.sh"
    run_script([sub, "--first", "4", d, tmp_path / "f"], tmp_path)
    assert (tmp_path / "f/wav.scp").read_text().split()[::2] == sorted(UTTS)[:4]
    picks = []
    for name in ("r1", "r2"):
        run_script([sub, "--random", "5", "--seed", "3", d, tmp_path / name], tmp_path)
        picks.append((tmp_path / name / "wav.scp").read_text())
    assert picks[0] == picks[1] and len(picks[0].splitlines()) == 5  # seeded
    r = run_script([UTILS / "validate_data_dir.sh", tmp_path / "r1"], tmp_path)
    assert r.returncode == 0, r.stderr


def test_split_scp_contiguous_balanced(tmp_path: Path) -> None:
    (tmp_path / "in.scp").write_text("".join(f"u{i} x\n" for i in range(7)))
    outs = [tmp_path / f"p{j}" for j in range(3)]
    assert run_script([UTILS / "split_scp.sh", tmp_path / "in.scp", *outs], tmp_path).returncode == 0
    parts = [o.read_text().splitlines() for o in outs]
    assert [len(p) for p in parts] == [3, 2, 2]
    assert sum(parts, []) == (tmp_path / "in.scp").read_text().splitlines()
    r = run_script(
        [UTILS / "split_scp.sh", tmp_path / "in.scp", *[tmp_path / f"q{j}" for j in range(8)]], tmp_path
    )
    assert r.returncode == 1 and "fewer than the 8 parts" in r.stderr


def _fake_launchers(tmp_path: Path) -> dict[str, str]:
    """A PATH whose `torchrun` and `seqgan` print their arguments instead of training."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("torchrun", "seqgan"):
        script = bin_dir / name
        script.write_text(f'#!/usr/bin/env bash\necho "{name} $*"\n')
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    env = recipe_env()
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    return env


@pytest.mark.parametrize(
    "options, expected",
    [
        ([], "seqgan train -c c.yaml"),
        (["--ngpu", "0"], "seqgan train -c c.yaml"),
        (["--ngpu", "4"], "torchrun --standalone --nproc_per_node 4 -m seqgan train -c c.yaml"),
        (
            ["--ngpu", "8", "--nnodes", "2", "--rdzv_endpoint", "node0:29500", "--rdzv_id", "run1"],
            "torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint node0:29500 "
            "--rdzv_id run1 -m seqgan train -c c.yaml",
        ),
    ],
)
def test_train_launcher_one_process_torchrun_and_nodes(tmp_path: Path, options, expected) -> None:
    r = run_script([REPO / "recipes/utils/train.sh", *options, "--", "-c", "c.yaml"], tmp_path,
                   env=_fake_launchers(tmp_path))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == expected


def test_train_launcher_refuses_nodes_without_a_meeting_point(tmp_path: Path) -> None:
    env = _fake_launchers(tmp_path)
    r = run_script(
        [REPO / "recipes/utils/train.sh", "--nnodes", "2", "--", "-c", "c.yaml"], tmp_path, env=env
    )
    assert r.returncode == 2 and "--rdzv_endpoint" in r.stderr and not r.stdout
    recipe = copy_recipe("egs/synth/se1", tmp_path)
    r = run_script(["./run.sh", "--nnodes", "2"], recipe)
    assert r.returncode == 1 and "--nnodes 2 needs --rdzv_endpoint" in r.stderr


# -- se.sh --------------------------------------------------------------------------------------------


def test_se_help_and_required_options(tmp_path: Path) -> None:
    recipe = copy_recipe("egs/synth/se1", tmp_path)
    r = run_script(["./se.sh", "--help"], recipe)
    assert r.returncode == 0, r.stderr
    options = [line.split()[0] for line in r.stdout.splitlines() if line.startswith("  --")]
    for name in ("--stage", "--stop_stage", "--ngpu", "--nj", "--train_set", "--test_sets", "--conf", "--tag",
                 "--train_args", "--local_data_opts", "--help"):  # fmt: skip
        assert name in options
    r = run_script(["./run.sh", "--help"], recipe)  # run.sh's settings show as the current values
    assert "[conf/small.yaml]" in r.stdout and "[train]" in r.stdout
    r = run_script(["./se.sh", "--test_sets", "test", "--conf", "conf/tiny.yaml"], recipe)
    assert r.returncode == 1 and "--train_set is required" in r.stderr
    r = run_script(["./run.sh", "--stop-stage", "-5", "--nope", "1"], recipe)
    assert r.returncode == 1 and "unknown option --nope" in r.stderr


# -- end to end ---------------------------------------------------------------------------------------


def _check_results(exp: Path, test_set: str, n_utts: int, dnsmos: bool = True) -> dict:
    results = json.loads((exp / "results.json").read_text())
    for kind in ("noisy", "enhanced"):
        scores = json.loads((exp / "scores" / test_set / kind / "scores.json").read_text())
        assert len(scores["utterances"]) == n_utts
        assert scores["summary"]["pesq_wb"]["count"] == n_utts
    md = (exp / "RESULTS.md").read_text()
    assert "| PESQ-WB |" in md and "| SI-SDR (dB) |" in md and "images/training_curves.png" in md
    assert ("| DNSMOS OVRL |" in md) == dnsmos  # beside the intrusive metrics, unless left out
    assert "worse than the noisy input on" in md or "better than or equal to the noisy input" in md
    assert (exp / "images" / "training_curves.png").stat().st_size > 0
    assert len(list((exp / "images").glob(f"{test_set}_*.png"))) == min(n_utts, 3)
    wavs = sorted((exp / "enhanced" / test_set / "wav").glob("*.wav"))
    assert len(wavs) == n_utts
    assert all(sf.info(w).samplerate == 16000 for w in wavs)
    assert (exp / "model.safetensors").is_file() and (exp / "conf.yaml").is_file()
    assert (exp / "config.yaml").is_file() and (exp / "checkpoints" / "last.pt").is_file()
    return results[test_set]


def test_voicebank_recipe_tiny_end_to_end(tmp_path: Path) -> None:
    db = make_fake_voicebank(tmp_path / "VoiceBank-DEMAND", utts_per_speaker=2, seconds=0.7)
    recipe = copy_recipe("egs/voicebank_demand/se1", tmp_path / "repo")
    args = ["./run.sh", "--db", db, "--conf", "conf/tiny.yaml", "--ngpu", "0", "--nj", "2",
            "--train_args", "train.max_steps=6 train.eval_interval=6 train.sample_interval=0",
            "--score_metrics", "pesq_wb,si_sdr,stoi"]  # fmt: skip
    r = run_script(args, recipe)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "seqgan enhance -m" in r.stdout.splitlines()[-3] + r.stdout.splitlines()[-2]

    # validation speakers held out of training; the test set as distributed
    def speakers(d: str) -> set[str]:
        return set((recipe / d / "utt2spk").read_text().split()[1::2])

    assert speakers("data/dev") == {"p226", "p287"}
    assert speakers("data/train") == {"p230", "p239"}
    assert speakers("dump/train") == {"p230", "p239"}
    assert speakers("data/test") == set(FAKE_TEST_SPEAKERS)
    # 48 kHz -> 16 kHz in dump/, lengths kept
    for table in ("wav.scp", "spk1.scp"):
        for line in (recipe / "dump/test" / table).read_text().splitlines():
            assert sf.info(recipe / line.split(maxsplit=1)[1]).samplerate == 16000  # relative paths
    utt, src = (recipe / "data/test/wav.scp").read_text().split("\n")[0].split(maxsplit=1)
    dur = float(dict(line.split() for line in (recipe / "dump/test/utt2dur").read_text().splitlines())[utt])
    assert dur == pytest.approx(sf.info(src).duration, abs=1e-3)

    exp = recipe / "exp" / "train_tiny"
    summary = _check_results(exp, "test", n_utts=4, dnsmos=False)  # --score_metrics leaves it out
    assert summary["pesq_wb"]["noisy"] > 1.0 and summary["si_sdr"]["noisy"] is not None

    # every stage skips finished work
    r = run_script(["./run.sh", "--db", db, "--conf", "conf/tiny.yaml", "--ngpu", "0", "--stage", "1",
                    "--stop-stage", "4", "--train_args",
                    "train.max_steps=6 train.eval_interval=6 train.sample_interval=0"], recipe)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("up to date") == 5  # three sets, the model, the enhanced test set
    assert "already trained with these settings" in r.stdout


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_synth_recipe_tiny_end_to_end(tmp_path: Path) -> None:
    recipe = copy_recipe("egs/synth/se1", tmp_path)
    args = ["./run.sh", "--conf", "conf/tiny.yaml",
            "--local_data_opts", "--size tiny --num_train 8 --num_dev 2 --num_test 2",
            "--train_args", "train.max_steps=4 train.eval_interval=4 train.sample_interval=0"]  # fmt: skip
    r = run_script(args, recipe)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    _check_results(recipe / "exp" / "train_tiny", "test", n_utts=2)
    assert f"Results: {recipe}/exp/train_tiny/RESULTS.md" in r.stdout


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_synth_demo_puts_the_gan_beside_its_ablation(tmp_path: Path) -> None:
    recipe = copy_recipe("egs/synth/se1", tmp_path)
    small = "data.window=8000 data.hop=8000 train.batch_size=2 eval.max_utts=1 train.sample_interval=0"
    args = ["./demo.sh", "--local_data_opts", "--size tiny --num_train 8 --num_dev 2 --num_test 2",
            "--pretrain_args", f"{small} train.max_steps=3 train.eval_interval=3",
            "--train_args", f"{small} train.max_steps=4 train.d_warmup_steps=1",
            "--ablation_steps", "3"]  # fmt: skip
    r = run_script(args, recipe)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    exp, ablation = recipe / "exp" / "train_demo", recipe / "exp" / "train_demo_noadv"
    _check_results(exp, "test", n_utts=2)
    # the ablation starts from the same weights and trains the generator for the same steps, alone
    logged = [json.loads(line) for line in (ablation / "metrics.jsonl").read_text().splitlines()]
    assert max(line["step"] for line in logged) == 3 and not any("d_loss" in line for line in logged)
    gan_logged = [json.loads(line) for line in (exp / "metrics.jsonl").read_text().splitlines()]
    assert any("metric_wait_s" in line for line in gan_logged)
    md = (exp / "RESULTS.md").read_text()
    assert (
        "Beside the ablation train_demo_noadv" in md
        and "| metric | noisy | train_demo_noadv | train_demo |" in md
    )
    assert "than the ablation train_demo_noadv" in md
    assert "| condition | group | utts |" in md and "| noise |" in md


# the published GAN enhancers' configurations, shrunk by overrides: the same keys, a couple of steps
_SHRINK = {
    "metricgan_plus": "model.generator.hidden_size=16 model.generator.fc_size=16 model.discriminator.channels=4",
    "cmgan": "model.generator.channels=8 model.generator.num_blocks=1 model.generator.heads=2 "
    "model.generator.kernel_size=7 model.generator.dense_depth=1 model.discriminator.channels=4",
}


@pytest.mark.slow  # about two minutes each on two busy cores: five stages, each a fresh process
@pytest.mark.parametrize("conf", sorted(_SHRINK))
def test_voicebank_recipe_trains_the_published_gan_enhancers(tmp_path: Path, conf: str) -> None:
    db = make_fake_voicebank(tmp_path / "VoiceBank-DEMAND", utts_per_speaker=2, seconds=0.7)
    recipe = copy_recipe("egs/voicebank_demand/se1", tmp_path / "repo")
    overrides = (
        f"{_SHRINK[conf]} data.window=8000 data.hop=8000 train.batch_size=2 train.num_workers=0 "
        "train.max_steps=2 train.log_interval=1 train.eval_interval=2 train.sample_interval=0 "
        "eval.max_utts=1 eval.metrics=[si_sdr] loss.metric.workers=1"
    )
    args = ["./run.sh", "--db", db, "--conf", f"conf/{conf}.yaml", "--ngpu", "0", "--nj", "2",
            "--stop-stage", "4", "--train_args", overrides]  # fmt: skip
    r = run_script(args, recipe)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    exp = recipe / "exp" / f"train_{conf}"
    logged = [json.loads(line) for line in (exp / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in logged if "metric_wait_s" in line] == [1, 2]
    assert (exp / "model.safetensors").is_file()
    wavs = sorted((exp / "enhanced" / "test" / "wav").glob("*.wav"))
    assert len(wavs) == 4 and all(sf.info(w).samplerate == 16000 for w in wavs)
