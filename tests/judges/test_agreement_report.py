"""Position consistency, the accuracy bootstrap, breakdowns and input checks."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from arena.judges.agreement import AgreementInputError, LabelTable, agreement_report


def both_orders(judge_ab: list[str], judge_ba: list[str], human: list[str]) -> LabelTable:
    n = len(human)
    return LabelTable.from_columns(
        human=human + human,
        judge=judge_ab + judge_ba,
        battle_id=[f"b{i}" for i in range(n)] * 2,
        order=["ab"] * n + ["ba"] * n,
    )


def test_position_consistency_counts_battles_whose_two_orders_agree() -> None:
    table = both_orders(
        judge_ab=["model_a", "tie", "both_bad", "model_b"],
        judge_ba=["model_a", "model_b", "tie", "model_b"],
        human=["model_a", "tie", "tie", "model_a"],
    )
    consistency = agreement_report(table, bootstrap=0).position_consistency
    assert consistency is not None
    # b0 and b3 agree in 4 classes; b2 (both_bad vs tie) agrees only once merged.
    assert consistency.to_dict() == {
        "battles": 4,
        "single_order": 0,
        "4class": 0.5,
        "3class": 0.75,
    }


def test_a_battle_judged_in_one_order_only_is_counted_apart() -> None:
    table = LabelTable.from_columns(
        human=["tie", "tie", "model_a"],
        judge=["tie", "tie", "model_a"],
        battle_id=[1, 1, 2],
        order=["ab", "ba", "ba"],
    )
    consistency = agreement_report(table, bootstrap=0).position_consistency
    assert consistency is not None
    assert (consistency.battles, consistency.single_order) == (1, 1)
    assert consistency.share("4class") == 1.0


def test_without_an_order_column_there_is_no_position_consistency() -> None:
    table = LabelTable.from_columns(["tie", "tie"], ["tie", "tie"], battle_id=[1, 1])
    report = agreement_report(table, bootstrap=10)
    assert report.position_consistency is None
    assert report.accuracy_interval is not None
    assert report.accuracy_interval.unit == "battle"


def test_an_order_column_needs_battle_ids() -> None:
    with pytest.raises(AgreementInputError, match="'order' needs a 'battle_id'"):
        LabelTable.from_columns(["tie"], ["tie"], order=["ab"])


def test_a_battle_judged_twice_in_the_same_order_is_rejected() -> None:
    with pytest.raises(AgreementInputError, match=r"row 2: battle 7 judged twice in order 'ab'"):
        LabelTable.from_columns(
            ["tie"] * 3, ["tie"] * 3, battle_id=[7, 8, 7], order=["ab", "ab", "ab"]
        )


def test_an_unknown_order_is_rejected() -> None:
    with pytest.raises(AgreementInputError, match=r"row 1: unknown order 'left'"):
        LabelTable.from_columns(["tie"] * 2, ["tie"] * 2, battle_id=[1, 1], order=["ab", "left"])


def test_two_human_labels_for_one_battle_are_rejected() -> None:
    with pytest.raises(AgreementInputError, match="row 1: battle 'x' has two different human"):
        LabelTable.from_columns(["tie", "model_a"], ["tie", "tie"], battle_id=["x", "x"])


def test_a_category_that_is_not_text_is_rejected() -> None:
    with pytest.raises(AgreementInputError, match="'category' must hold strings, not int64"):
        LabelTable.from_columns(["tie"], ["tie"], category=[3])


def test_rows_without_a_language_are_left_out_of_that_breakdown_only() -> None:
    table = LabelTable.from_columns(
        ["tie", "tie", "model_a"], ["tie", "model_b", "model_a"], language=["python", None, "go"]
    )
    report = agreement_report(table, bootstrap=0).to_dict()
    assert report["overall"]["4class"]["n"] == 3
    assert {name: m["4class"]["n"] for name, m in report["by_language"].items()} == {
        "go": 1,
        "python": 1,
    }
    assert report["by_category"] == {}


def naive_bootstrap(correct: np.ndarray, rounds: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    means = [correct[rng.integers(0, correct.size, correct.size)].mean() for _ in range(rounds)]
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def test_the_bootstrap_interval_matches_resampling_rows_one_by_one() -> None:
    rng = np.random.default_rng(5)
    human = rng.choice(["model_a", "model_b", "tie", "both_bad"], size=600)
    judge = np.where(rng.random(600) < 0.55, human, "model_a")
    table = LabelTable.from_columns(list(human), list(judge))
    interval = agreement_report(table, bootstrap=4000, seed=1).accuracy_interval
    assert interval is not None and interval.unit == "row"
    expected = naive_bootstrap((human == judge).astype(float), rounds=4000, seed=2)
    assert interval.bounds["4class"] == pytest.approx(expected, abs=0.006)
    accuracy = float((human == judge).mean())
    low, high = interval.bounds["4class"]
    assert low < accuracy < high


def test_the_bootstrap_resamples_battles_with_both_orders_together() -> None:
    # Each battle's two judgements are both right or both wrong: resampling battles
    # (300 units) must give a wider interval than pretending there are 600 rows.
    rng = np.random.default_rng(9)
    human = list(rng.choice(["model_a", "model_b"], size=300))
    right = rng.random(300) < 0.6
    judge = [h if ok else "tie" for h, ok in zip(human, right, strict=True)]
    table = both_orders(judge, judge, human)
    interval = agreement_report(table, bootstrap=4000, seed=3).accuracy_interval
    assert interval is not None and interval.unit == "battle"
    expected = naive_bootstrap(right.astype(float), rounds=4000, seed=4)
    assert interval.bounds["4class"] == pytest.approx(expected, abs=0.008)
    rows = LabelTable.from_columns(human + human, judge + judge)
    row_interval = agreement_report(rows, bootstrap=4000, seed=3).accuracy_interval
    assert row_interval is not None
    width = np.diff(interval.bounds["4class"])[0]
    assert width > 1.3 * np.diff(row_interval.bounds["4class"])[0]


def test_the_same_seed_gives_the_same_interval_and_another_seed_does_not() -> None:
    rng = np.random.default_rng(0)
    human = list(rng.choice(["model_a", "tie"], size=200))
    judge = list(rng.choice(["model_a", "tie"], size=200))
    table = LabelTable.from_columns(human, judge)

    def bounds(seed: int) -> object:
        interval = agreement_report(table, bootstrap=200, seed=seed).accuracy_interval
        assert interval is not None
        return interval.bounds

    assert bounds(11) == bounds(11)
    assert bounds(11) != bounds(12)


def test_zero_bootstrap_rounds_give_no_interval() -> None:
    table = LabelTable.from_columns(["tie"], ["tie"])
    assert agreement_report(table, bootstrap=0).to_dict()["accuracy_interval"] is None


def test_a_label_column_mixing_strings_and_numbers_is_rejected() -> None:
    with pytest.raises(AgreementInputError, match="column 'human' mixes value types"):
        LabelTable.from_columns(["tie", 1], ["tie", "tie"])


def test_the_agreement_package_imports_nothing_from_django() -> None:
    package = Path(__file__).resolve().parents[2] / "arena" / "judges" / "agreement"
    imported = set()
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert imported <= {
        "__future__",
        "argparse",
        "arena",
        "collections",
        "dataclasses",
        "json",
        "math",
        "numpy",
        "pathlib",
        "pyarrow",
        "sys",
        "typing",
    }
