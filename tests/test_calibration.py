"""Calibration metrics and the reliability diagram of ``zsfuse evaluate`` (plain data, no audio, no models).

Every value is checked against an independent computation written here with
plain Python loops (no numpy binning, no scikit-learn).
"""

import inspect
import math
import sys
import warnings

import numpy as np
import pytest

from zsfuse.evaluation._calibration import (
    calibration_metrics,
    pooled_calibration,
    reliability_curve,
    reliability_figure,
    write_reliability_diagram,
)
from zsfuse.exceptions import MissingDependencyError

CLASSES = ["ang", "hap", "neu", "sad"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------- independent references
def loop_bin(value, n_bins):
    """The bin of ``value``: ``lo <= v < hi`` with ``lo = b / n_bins``, the last bin closed on the right."""
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        if lo <= value < hi or (b == n_bins - 1 and value == hi):
            return b
    raise AssertionError(f"{value} is in no bin")


def loop_ece(values, hits, n_bins):
    """sum over bins of |bin| / n * |mean hit - mean value|, by loops."""
    members = [[] for _ in range(n_bins)]
    for v, h in zip(values, hits):
        members[loop_bin(v, n_bins)].append((v, h))
    total = 0.0
    for bin_members in members:
        if bin_members:
            acc = sum(h for _, h in bin_members) / len(bin_members)
            conf = sum(v for v, _ in bin_members) / len(bin_members)
            total += len(bin_members) / len(values) * abs(acc - conf)
    return total


def loop_top_label(proba):
    """Confidence and predicted column of each row (the first column on ties), by loops."""
    out = []
    for row in proba:
        best = 0
        for k in range(1, len(row)):
            if row[k] > row[best]:
                best = k
        out.append((row[best], best))
    return out


def loop_reference(y, proba, classes, n_bins=15):
    """ECE, classwise ECE, NLL (clipped at 1e-15), Brier, mean confidence and accuracy, by loops."""
    proba = [[float(x) for x in row] for row in proba]
    codes = [classes.index(label) for label in y]
    top = loop_top_label(proba)
    hits = [1.0 if pred == code else 0.0 for (_, pred), code in zip(top, codes)]
    confidences = [conf for conf, _ in top]
    classwise = [
        loop_ece([row[k] for row in proba], [1.0 if code == k else 0.0 for code in codes], n_bins)
        for k in range(len(classes))
    ]
    nll = -sum(math.log(max(row[code], 1e-15)) for row, code in zip(proba, codes)) / len(codes)
    brier = sum(
        sum((row[k] - (1.0 if code == k else 0.0)) ** 2 for k in range(len(classes))) for row, code in zip(proba, codes)
    ) / len(codes)
    return {
        "ece": loop_ece(confidences, hits, n_bins),
        "classwise_ece": sum(classwise) / len(classwise),
        "nll": nll,
        "brier": brier,
        "mean_confidence": sum(confidences) / len(confidences),
        "accuracy": sum(hits) / len(hits),
    }


def random_case(n=300, k=4, seed=0, sharpen=1.0):
    """Probabilities of ``k`` classes and labels drawn from them (calibrated when sharpen == 1)."""
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.full(k, 0.7), size=n)
    y_index = np.array([rng.choice(k, p=row) for row in proba])
    if sharpen != 1.0:  # the same labels, the probabilities pushed towards one-hot: over-confidence
        proba = proba**sharpen
        proba /= proba.sum(axis=1, keepdims=True)
    classes = CLASSES[:k] if k <= len(CLASSES) else [f"c{i}" for i in range(k)]
    return [classes[i] for i in y_index], proba, classes


# ---------------------------------------------------------------------------- ECE and classwise ECE
def test_always_sure_classifier_with_accuracy_0_6_has_ece_0_4_exactly():
    y = ["ang"] * 6 + ["hap", "neu", "sad", "hap"]
    proba = np.tile([1.0, 0.0, 0.0, 0.0], (10, 1))  # always "ang" with probability 1, right 6 times in 10
    m = calibration_metrics(y, proba, CLASSES)
    assert m["ece"] == 0.4
    assert m["mean_confidence"] == 1.0 and m["accuracy"] == 0.6
    # classwise: ang |0.6 - 1| = 0.4; hap |0.2 - 0| = 0.2; neu 0.1; sad 0.1 -> mean 0.2
    assert m["classwise_ece"] == pytest.approx((0.4 + 0.2 + 0.1 + 0.1) / 4, abs=1e-15)
    assert m["n"] == 10 and m["n_bins"] == 15


def test_perfectly_calibrated_draws_have_ece_near_zero_and_sharpened_ones_do_not():
    y, proba, classes = random_case(n=20000, seed=1)
    m = calibration_metrics(y, proba, classes)
    assert m["ece"] < 0.015
    assert m["classwise_ece"] < 0.015
    assert abs(m["mean_confidence"] - m["accuracy"]) < 0.015
    y, sharp, classes = random_case(n=20000, seed=1, sharpen=3.0)
    over = calibration_metrics(y, sharp, classes)
    assert over["ece"] > 0.1
    assert over["mean_confidence"] - over["accuracy"] > 0.1  # over-confident
    assert over["nll"] > m["nll"]  # the same labels, worse probabilities


@pytest.mark.parametrize("n_bins", [1, 5, 15, 20])
@pytest.mark.parametrize("seed", [0, 3])
def test_metrics_agree_with_plain_loops(n_bins, seed):
    y, proba, classes = random_case(n=250, seed=seed, sharpen=2.0)
    expected = loop_reference(y, proba, classes, n_bins)
    m = calibration_metrics(y, proba, classes, n_bins=n_bins)
    for key, value in expected.items():
        assert m[key] == pytest.approx(value, rel=1e-12, abs=1e-14), key
    assert set(m) == {"ece", "classwise_ece", "nll", "brier", "n", "n_bins", "mean_confidence", "accuracy"}
    assert all(type(v) in (float, int) for v in m.values())  # Python scalars: JSON-ready
    assert (m["n"], m["n_bins"]) == (250, n_bins)


def test_values_on_bin_edges_fall_in_the_upper_bin_and_one_in_the_last():
    # confidences 0.5 (an edge of 4 bins: bin [0.5, 0.75)), 0.75 (edge: [0.75, 1]) and 1.0 (the last bin)
    proba = [[0.5, 0.5], [0.25, 0.75], [1.0, 0.0], [0.0, 1.0]]
    y = ["a", "b", "b", "b"]
    curve = reliability_curve(y, proba, ["a", "b"], n_bins=4)
    assert curve["bin_lower"] == [0.5, 0.75]
    assert curve["count"] == [1, 3]
    assert curve["accuracy"] == [1.0, pytest.approx(2 / 3)]  # the tie [0.5, 0.5] predicts "a": right
    m = calibration_metrics(y, proba, ["a", "b"], n_bins=4)
    assert m["ece"] == pytest.approx(loop_ece([0.5, 0.75, 1.0, 1.0], [1, 1, 0, 1], 4), abs=1e-15)
    # classwise: p = 0 lands in the first bin, p = 1 in the last
    assert m["classwise_ece"] == pytest.approx(
        (loop_ece([0.5, 0.25, 1.0, 0.0], [1, 0, 0, 0], 4) + loop_ece([0.5, 0.75, 0.0, 1.0], [0, 1, 1, 1], 4)) / 2
    )


def test_classwise_ece_counts_a_class_absent_from_y_true():
    y = ["ang", "ang", "hap", "hap"]
    proba = [[0.7, 0.1, 0.1, 0.1]] * 2 + [[0.1, 0.7, 0.1, 0.1]] * 2
    m = calibration_metrics(y, proba, CLASSES)
    # ang and hap: bins 0.1 (2 clips, never the class) and 0.7 (2 clips, always): |0 - .1| / 2 + |1 - .7| / 2
    # neu and sad: 4 clips at 0.1, never the class: |0 - 0.1|
    assert m["classwise_ece"] == pytest.approx((0.2 + 0.2 + 0.1 + 0.1) / 4)
    assert m["ece"] == pytest.approx(0.3)


# ---------------------------------------------------------------------------- NLL and Brier
def test_nll_and_brier_by_hand():
    y = ["a", "b", "c"]
    proba = [[0.7, 0.2, 0.1], [0.3, 0.3, 0.4], [0.0, 0.5, 0.5]]
    m = calibration_metrics(y, proba, ["a", "b", "c"])
    assert m["nll"] == pytest.approx(-(math.log(0.7) + math.log(0.3) + math.log(0.5)) / 3, rel=1e-12)
    brier = ((0.3**2 + 0.2**2 + 0.1**2) + (0.3**2 + 0.7**2 + 0.4**2) + (0.0 + 0.5**2 + 0.5**2)) / 3
    assert m["brier"] == pytest.approx(brier, rel=1e-12)


def test_a_zero_probability_on_the_true_class_costs_minus_log_1e_15():
    m = calibration_metrics(["a", "b"], [[0.0, 1.0], [0.0, 1.0]], ["a", "b"])
    assert m["nll"] == pytest.approx(-math.log(1e-15) / 2, rel=1e-12)  # (34.54 + ~0) / 2, whatever the version
    assert m["brier"] == 1.0  # (1 + 1 + 0) / 2


def test_class_order_is_the_column_order_not_the_sorted_one():
    """log_loss sorts its labels: names in another order must still be matched to their own columns."""
    y, proba, classes = random_case(n=200, seed=4)
    order = [2, 0, 3, 1]
    shuffled_classes = [classes[i] for i in order]  # "neu", "ang", "sad", "hap": not sorted
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither log_loss's label-order nor its sum warning
        m = calibration_metrics(y, proba[:, order], shuffled_classes)
    expected = calibration_metrics(y, proba, classes)
    for key in ("ece", "classwise_ece", "nll", "brier", "accuracy"):
        assert m[key] == pytest.approx(expected[key], rel=1e-12), key
    assert m["nll"] == pytest.approx(loop_reference(y, proba, classes)["nll"], rel=1e-12)


def test_brier_is_sklearns_unhalved_multiclass_brier_where_it_has_one():
    from sklearn.metrics import brier_score_loss

    if "scale_by_half" not in inspect.signature(brier_score_loss).parameters:
        pytest.skip("this scikit-learn's brier_score_loss is binary-only (before 1.7)")
    for k in (2, 4):
        y, proba, classes = random_case(n=120, k=k, seed=k)
        codes = [classes.index(label) for label in y]
        expected = brier_score_loss(codes, proba, labels=list(range(k)), scale_by_half=False)
        assert calibration_metrics(y, proba, classes)["brier"] == pytest.approx(expected, rel=1e-12)


def test_rows_are_normalised_and_the_input_left_alone():
    y, proba, classes = random_case(n=50, seed=5)
    nudged = proba * (1 + 5e-7)  # rows sum to 1 + 5e-7: within the tolerance
    before = nudged.copy()
    m = calibration_metrics(y, nudged, classes)
    assert np.array_equal(nudged, before)
    expected = loop_reference(y, proba, classes)
    for key, value in expected.items():
        assert m[key] == pytest.approx(value, rel=1e-12), key
    m32 = calibration_metrics(y, proba.astype(np.float32), classes)
    assert m32["nll"] == pytest.approx(expected["nll"], rel=1e-5)


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("y", "proba", "classes", "message"),
    [
        (["a", "b"], [[0.5, 0.5]], ["a", "b"], r"shape \(n_clips, n_classes\) = \(2, 2\).*got \(1, 2\)"),
        (["a", "b"], [[0.5, 0.5, 0.0]] * 2, ["a", "b"], r"got \(2, 3\)"),
        (["a", "b", "a"], [[0.5, 0.5], [0.6, 0.6], [0.1, 0.1]], ["a", "b"], r"row 1 of proba sums to 1\.2.*2 rows"),
        (["a", "b"], [[1.5, -0.5], [0.5, 0.5]], ["a", "b"], r"row 0 of proba has a negative entry"),
        (["a", "b"], [[0.5, 0.5], [np.nan, 0.5]], ["a", "b"], r"row 1 of proba holds NaN"),
        (["a", "x"], [[0.5, 0.5]] * 2, ["a", "b"], r"y_true has labels that are not in classes \['a', 'b'\]: 'x'"),
        ([], np.zeros((0, 2)), ["a", "b"], r"y_true is empty"),
        (["a"], [[1.0]], ["a"], r"at least two classes"),
        (["a", "b"], [[0.5, 0.5]] * 2, ["a", "a"], r"classes repeats 'a'"),
        (["a", "b"], [["x", "y"]] * 2, ["a", "b"], r"proba must be an array of numbers"),
        ([["a"], ["b"]], [[0.5, 0.5]] * 2, ["a", "b"], r"y_true must be one-dimensional"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(y, proba, classes, message):
    with pytest.raises(ValueError, match=message):
        calibration_metrics(y, proba, classes)
    with pytest.raises(ValueError, match=message):
        reliability_curve(y, proba, classes)


@pytest.mark.parametrize("n_bins", [0, -3, 2.5, True, "15"])
def test_n_bins_must_be_a_positive_integer(n_bins):
    with pytest.raises(ValueError, match="n_bins must be an integer of at least 1"):
        calibration_metrics(["a", "b"], [[0.5, 0.5]] * 2, ["a", "b"], n_bins=n_bins)


# ---------------------------------------------------------------------------- reliability curve
@pytest.mark.parametrize("n_bins", [3, 15])
def test_reliability_curve_is_the_binned_accuracy_and_confidence(n_bins):
    y, proba, classes = random_case(n=400, seed=6, sharpen=2.0)
    curve = reliability_curve(y, proba, classes, n_bins=n_bins)
    assert sum(curve["count"]) == 400 == curve["n"]
    # independent: group the (confidence, hit) pairs by loop_bin
    members = {}
    for (conf, pred), label in zip(loop_top_label(proba.tolist()), y):
        members.setdefault(loop_bin(conf, n_bins), []).append((conf, 1.0 if classes[pred] == label else 0.0))
    bins = sorted(members)
    assert curve["count"] == [len(members[b]) for b in bins]
    assert curve["bin_lower"] == [b / n_bins for b in bins]
    assert curve["bin_upper"] == [(b + 1) / n_bins for b in bins]
    for got, b in zip(curve["confidence"], bins):
        assert got == pytest.approx(sum(c for c, _ in members[b]) / len(members[b]), rel=1e-12)
    for got, b in zip(curve["accuracy"], bins):
        assert got == pytest.approx(sum(h for _, h in members[b]) / len(members[b]), rel=1e-12)
    assert all(c > 0 for c in curve["count"])  # empty bins omitted: nothing is NaN
    assert not any(math.isnan(v) for v in curve["confidence"] + curve["accuracy"])
    assert curve["ece"] == pytest.approx(calibration_metrics(y, proba, classes, n_bins=n_bins)["ece"], abs=1e-15)


def test_pooled_calibration_is_that_of_the_concatenated_folds():
    folds = [random_case(n=n, seed=s, sharpen=1.5) for n, s in ((80, 7), (120, 8), (50, 9))]
    classes = folds[0][2]
    pooled = pooled_calibration([(y, p) for y, p, _ in folds], classes)
    y_all = [label for y, _, _ in folds for label in y]
    p_all = np.concatenate([p for _, p, _ in folds])
    expected = loop_reference(y_all, p_all, classes)
    for key, value in expected.items():
        assert pooled[key] == pytest.approx(value, rel=1e-12), key
    assert pooled["n"] == 250 and pooled["n_folds"] == 3
    assert pooled["reliability"] == reliability_curve(y_all, p_all, classes)
    # not the mean of the fold ECEs
    fold_eces = [calibration_metrics(y, p, classes)["ece"] for y, p, _ in folds]
    assert pooled["ece"] != pytest.approx(float(np.mean(fold_eces)), rel=1e-6)


def test_pooled_calibration_names_the_bad_fold():
    good = (["a", "b"], [[0.5, 0.5], [0.2, 0.8]])
    with pytest.raises(ValueError, match=r"fold 1: row 0 of proba sums to 0\.9"):
        pooled_calibration([good, (["a"], [[0.4, 0.5]])], ["a", "b"])
    with pytest.raises(ValueError, match=r"fold 0 must be a pair"):
        pooled_calibration([(["a"], [[0.5, 0.5]], "extra")], ["a", "b"])
    with pytest.raises(ValueError, match="at least one fold"):
        pooled_calibration([], ["a", "b"])


# ---------------------------------------------------------------------------- the diagram
def three_curves():
    curves = {}
    for name, sharpen, seed in (("fm_baseline", 1.0, 10), ("zero_shot", 4.0, 11), ("zs_fuse", 1.3, 12)):
        y, proba, classes = random_case(n=300, seed=seed, sharpen=sharpen)
        curves[name] = reliability_curve(y, proba, classes)
    return curves


def test_the_figure_has_the_diagonal_and_one_line_per_system_with_its_ece():
    curves = three_curves()
    fig = reliability_figure(curves, title="IEMOCAP, pooled")
    ax, hist = fig.axes
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["perfect calibration"] + [f"{name} (ECE {curves[name]['ece']:.3f})" for name in curves]
    assert len(ax.lines) == 1 + len(curves)
    for line, curve in zip(ax.lines[1:], curves.values()):
        assert np.allclose(line.get_xdata(), curve["confidence"]) and np.allclose(line.get_ydata(), curve["accuracy"])
    assert len(hist.patches) == sum(len(c["count"]) for c in curves.values())  # one bar per non-empty bin
    assert sum(p.get_height() for p in hist.patches) == pytest.approx(len(curves))  # shares sum to 1 per system
    assert ax.get_title() == "IEMOCAP, pooled"


def test_a_curve_without_ece_or_edges_is_drawn_without_them():
    fig = reliability_figure({"hand": {"confidence": [0.55, 0.9], "accuracy": [0.5, 0.7], "count": [3, 7]}})
    ax, hist = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["perfect calibration", "hand"]
    assert len(hist.patches) == 0
    assert ax.get_title() == "Reliability diagram"


def test_the_png_is_written_atomically_and_is_not_blank(tmp_path):
    from matplotlib.image import imread

    path = tmp_path / "sub" / "reliability.png"
    assert write_reliability_diagram(three_curves(), path) == path
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert 10_000 < len(data) < 2_000_000
    pixels = imread(path)
    assert pixels.shape[:2] == (720, 640)
    assert float(pixels[..., :3].var()) > 0.0
    assert sorted(p.name for p in path.parent.iterdir()) == ["reliability.png"]  # no temporary file left
    write_reliability_diagram({"one": three_curves()["zs_fuse"]}, path)  # replaced
    assert path.read_bytes() != data


@pytest.mark.parametrize(
    ("curves", "message"),
    [
        ({}, "non-empty dict"),
        ({"s": {"confidence": [0.5], "accuracy": [0.5]}}, r"the curve of 's' has no 'count'"),
        ({"s": {"confidence": [0.5, 0.6], "accuracy": [0.5], "count": [1, 1]}}, "differ in length"),
        ({"s": {"confidence": [float("nan")], "accuracy": [0.5], "count": [1]}}, "finite numbers"),
        ({"s": {"confidence": [0.5], "accuracy": [0.5], "count": [1], "ece": "high"}}, "'ece' must be a finite"),
        ({"s": [0.5]}, "must be a dict"),
    ],
)
def test_malformed_curves_are_refused_and_nothing_is_written(tmp_path, curves, message):
    path = tmp_path / "r.png"
    with pytest.raises(ValueError, match=message):
        write_reliability_diagram(curves, path)
    assert not path.exists()


def test_without_matplotlib_a_missing_dependency_error_and_nothing_written(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    path = tmp_path / "r.png"
    with pytest.raises(MissingDependencyError, match="pip install matplotlib"):
        write_reliability_diagram(three_curves(), path)
    assert not path.exists()
