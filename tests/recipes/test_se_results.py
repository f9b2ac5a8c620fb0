"""recipes/utils/se_results.py: the RESULTS.md table says plainly where the output is worse."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "utils"))

from se_results import ablation_comparison, metrics_table, worse_than_input  # noqa: E402


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
