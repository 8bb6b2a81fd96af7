"""Agreement metrics against hand-computed matrices and against scikit-learn."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    f1_score,
    matthews_corrcoef,
)

from arena.judges.agreement import (
    LABELS,
    AgreementInputError,
    LabelTable,
    agreement_metrics,
    agreement_report,
    confusion_matrices,
    metrics_from_confusion,
)


def test_a_hand_computed_matrix_gives_the_textbook_values() -> None:
    # rows human, columns judge: 10 rows, 7 on the diagonal.
    matrix = np.array([[3, 1, 0, 0], [0, 2, 1, 0], [1, 0, 2, 0], [0, 0, 0, 0]])
    metrics = metrics_from_confusion(matrix)
    assert metrics.n == 10
    assert metrics.accuracy == pytest.approx(0.7)
    # F1 per label: a 2*3/(4+4), b 2*2/(3+3), tie 2*2/(3+3); both_bad absent from both columns.
    assert metrics.macro_f1 == pytest.approx((6 / 8 + 4 / 6 + 4 / 6) / 3)
    # p_e = (4*4 + 3*3 + 3*3) / 100 = 0.34
    assert metrics.kappa == pytest.approx((0.7 - 0.34) / (1 - 0.34))
    # Gorodkin: (c*s - sum p_k t_k) / sqrt((s^2 - sum p_k^2)(s^2 - sum t_k^2))
    assert metrics.mcc == pytest.approx((7 * 10 - 34) / math.sqrt((100 - 34) * (100 - 34)))


def test_three_class_merges_both_bad_into_tie() -> None:
    human = ["model_a", "tie", "both_bad", "both_bad", "model_b"]
    judge = ["model_a", "both_bad", "tie", "both_bad", "tie"]
    matrices = confusion_matrices(human, judge)
    assert matrices["3class"].labels == ("model_a", "model_b", "tie")
    assert matrices["3class"].matrix.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 3]]
    assert matrices["4class"].matrix.tolist() == [
        [1, 0, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
        [0, 0, 1, 1],
    ]
    metrics = agreement_metrics(human, judge)
    assert metrics["4class"].accuracy == pytest.approx(2 / 5)
    assert metrics["3class"].accuracy == pytest.approx(4 / 5)


def test_kappa_and_mcc_are_null_when_both_columns_hold_one_label() -> None:
    metrics = agreement_metrics(["tie"] * 4, ["tie"] * 4)["4class"]
    assert (metrics.n, metrics.accuracy, metrics.macro_f1) == (4, 1.0, 1.0)
    assert metrics.kappa is None
    assert metrics.mcc is None


def test_mcc_is_null_but_kappa_zero_when_the_judge_always_says_one_other_label() -> None:
    metrics = agreement_metrics(["model_a", "model_b", "tie"], ["tie"] * 3)["4class"]
    assert metrics.mcc is None
    assert metrics.kappa == pytest.approx(0.0)
    assert metrics.macro_f1 == pytest.approx((0 + 0 + 2 / 4) / 3)


def test_no_rows_give_null_metrics() -> None:
    metrics = agreement_metrics([], [])["3class"]
    assert metrics.to_dict() == {
        "n": 0,
        "accuracy": None,
        "macro_f1": None,
        "kappa": None,
        "mcc": None,
    }


def test_an_unknown_label_is_named_with_its_row() -> None:
    with pytest.raises(AgreementInputError, match=r"row 2: unknown judge 'A>B'"):
        agreement_metrics(["tie"] * 3, ["tie", "model_a", "A>B"])


def test_a_missing_label_is_named_with_its_row() -> None:
    with pytest.raises(AgreementInputError, match=r"row 1: missing 'human'"):
        agreement_metrics(["tie", None], ["tie", "tie"])


def test_label_lists_of_different_lengths_are_rejected() -> None:
    with pytest.raises(AgreementInputError, match="has 1 rows, expected 2"):
        agreement_metrics(["tie", "tie"], ["tie"])


def sklearn_metrics(human: list[str], judge: list[str]) -> dict[str, float]:
    with warnings.catch_warnings():  # kappa on one shared label warns and returns nan
        warnings.simplefilter("ignore")
        return {
            "accuracy": accuracy_score(human, judge),
            "macro_f1": f1_score(human, judge, average="macro"),
            "kappa": cohen_kappa_score(human, judge),
            "mcc": matthews_corrcoef(human, judge),
        }


def assert_matches_sklearn(human: list[str], judge: list[str], ours: dict[str, object]) -> None:
    expected = sklearn_metrics(human, judge)
    assert ours["n"] == len(human)
    assert ours["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-12)
    assert ours["macro_f1"] == pytest.approx(expected["macro_f1"], abs=1e-12)
    if math.isnan(expected["kappa"]):
        assert ours["kappa"] is None
    else:
        assert ours["kappa"] == pytest.approx(expected["kappa"], abs=1e-12)
    # scikit-learn returns 0 for an undefined MCC (a column with one label); we say null.
    single_label = len(set(human)) == 1 or len(set(judge)) == 1
    if single_label:
        assert ours["mcc"] is None
    else:
        assert ours["mcc"] == pytest.approx(expected["mcc"], abs=1e-12)


def merged(labels: list[str]) -> list[str]:
    return ["tie" if label == "both_bad" else label for label in labels]


def generated_judgements(seed: int, n: int) -> dict[str, list[str]]:
    """Humans with all four labels; a judge right 60% of the time that never says both_bad;
    categories including one where every row is (tie, tie) and one (model_a, model_b)."""
    rng = np.random.default_rng(seed)
    human = list(rng.choice(LABELS, size=n, p=[0.4, 0.35, 0.15, 0.1]))
    judge = [h if rng.random() < 0.6 else str(rng.choice(LABELS[:3])) for h in human]
    judge = ["tie" if label == "both_bad" else label for label in judge]
    category = list(rng.choice(["web", "game", "science"], size=n))
    human += ["tie"] * 5 + ["model_a"] * 3
    judge += ["tie"] * 5 + ["model_b"] * 3
    category += ["one-label"] * 5 + ["all-wrong"] * 3
    return {"human": human, "judge": judge, "category": category}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_overall_and_per_category_metrics_match_scikit_learn(seed: int) -> None:
    data = generated_judgements(seed, n=300 * seed)
    assert "both_bad" not in data["judge"]
    report = agreement_report(LabelTable.from_columns(**data), bootstrap=0).to_dict()
    groups = {"overall": list(range(len(data["human"])))}
    for name in set(data["category"]):
        groups[name] = [i for i, c in enumerate(data["category"]) if c == name]
    assert sorted(report["by_category"]) == sorted(set(data["category"]))
    for name, rows in groups.items():
        result = report["overall"] if name == "overall" else report["by_category"][name]
        human = [data["human"][i] for i in rows]
        judge = [data["judge"][i] for i in rows]
        assert_matches_sklearn(human, judge, result["4class"])
        assert_matches_sklearn(merged(human), merged(judge), result["3class"])


def test_the_one_label_category_has_null_kappa_and_mcc_and_perfect_accuracy() -> None:
    data = generated_judgements(7, n=50)
    report = agreement_report(LabelTable.from_columns(**data), bootstrap=0).to_dict()
    one_label = report["by_category"]["one-label"]["4class"]
    assert one_label == {"n": 5, "accuracy": 1.0, "macro_f1": 1.0, "kappa": None, "mcc": None}
    all_wrong = report["by_category"]["all-wrong"]["3class"]
    assert all_wrong == {"n": 3, "accuracy": 0.0, "macro_f1": 0.0, "kappa": 0.0, "mcc": None}
