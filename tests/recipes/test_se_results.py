"""recipes/utils/se_results.py: the RESULTS.md table says plainly where the output is worse."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "utils"))

from se_results import ablation_comparison, condition_table, metrics_table, worse_than_input  # noqa: E402


def _scores(means: dict[str, float]) -> dict:
    return {"metrics": list(means), "summary": {m: {"mean": v} for m, v in means.items()}}


def test_worse_metrics_are_named_and_distances_count_the_right_way() -> None:
    noisy = _scores({"pesq_wb": 1.3, "stoi": 0.90, "wss": 40.0, "dnsmos_ovrl": 2.0})
    enhanced = _scores({"pesq_wb": 2.1, "stoi": 0.88, "wss": 45.0, "dnsmos_ovrl": 2.5})
    rows, numbers = metrics_table(noisy, enhanced)
    assert [r[0] for r in rows] == ["PESQ-WB", "STOI", "WSS", "DNSMOS OVRL"]
    assert numbers["wss"]["change"] == -5.0  # a larger distance is worse
    assert worse_than_input(numbers) == "**The enhanced output is worse than the noisy input on STOI, WSS.**"


def test_no_loss_anywhere_says_so() -> None:
    _, numbers = metrics_table(
        _scores({"pesq_wb": 1.3, "si_sdr": 5.0}), _scores({"pesq_wb": 1.3, "si_sdr": 9.0})
    )
    assert worse_than_input(numbers).startswith("The enhanced output is better than or equal")


def test_the_ablation_column_names_where_the_model_loses() -> None:
    noisy = _scores({"pesq_wb": 1.3, "stoi": 0.86, "wss": 40.0})
    model = _scores({"pesq_wb": 1.7, "stoi": 0.87, "wss": 35.0})
    ablation = _scores({"pesq_wb": 1.8, "stoi": 0.85, "wss": 34.0})
    _, numbers = metrics_table(noisy, model)
    rows, sentence = ablation_comparison(numbers, ablation, "the ablation x")
    assert rows[0] == ["PESQ-WB", "1.300", "1.800", "1.700", "-0.100"]
    assert rows[1][-1] == "+0.020"
    assert rows[2][-1] == "-1.000"  # WSS: a larger distance than the ablation's is worse
    assert sentence == "**This model is worse than the ablation x on PESQ-WB, WSS.**"
    _, sentence = ablation_comparison(numbers, noisy, "the noisy input")
    assert sentence == "This model is better than or equal to the noisy input on every metric."


def test_changes_are_grouped_by_condition(tmp_path: Path) -> None:
    (tmp_path / "utt2noise").write_text("a cafe\nb cafe\nc rain\n")
    (tmp_path / "utt2snr").write_text("a 12.5\nb 2.5\nc 2.5\n")
    (tmp_path / "utt2aug").write_text("a level=-20 rt60=0.4 drr=3\nb level=-30 band=telephone\nc level=-25\n")

    def per_utt(values: dict[str, float]) -> dict:
        return {
            "metrics": ["pesq_wb"],
            "utterances": {u: {"scores": {"pesq_wb": v}} for u, v in values.items()},
        }

    header, rows = condition_table(
        tmp_path, per_utt({"a": 1.0, "b": 1.5, "c": 2.0}), per_utt({"a": 2.0, "b": 1.0, "c": 2.5})
    )
    assert header == ["condition", "group", "utts", "Δ PESQ-WB"]
    table = {(r[0], r[1]): (r[2], r[3]) for r in rows}
    assert table[("noise", "cafe")] == ("2", "+0.250")  # (+1.0 - 0.5) / 2
    assert table[("noise", "rain")] == ("1", "+0.500")
    assert [r[1] for r in rows if r[0] == "SNR (dB)"] == ["2.5", "12.5"]  # numeric order
    assert table[("room", "reverberant")] == ("1", "+1.000")
    assert table[("channel", "telephone")] == ("1", "-0.500")
    assert condition_table(tmp_path / "missing", per_utt({}), per_utt({})) is None
