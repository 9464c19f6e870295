"""The paired comparison of two systems' UA: the difference, the bootstrap interval and McNemar's test.

Every value is checked against an independent computation written here: sklearn's
``balanced_accuracy_score`` for UA, the binomial sum and ``erfc`` for McNemar's p-values, an
enumeration of all speaker resamples for the cluster bootstrap, and a plain loop for the interval.
"""

import itertools
import json
import math
import warnings
from collections import Counter

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from zsfuse.evaluation._significance import (
    _bootstrap_deltas,
    format_comparison,
    paired_comparison,
    pooled_over_folds,
)

CLASSES = ["ang", "hap", "neu", "sad"]


def ua(y_true, y_pred):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true"
        return balanced_accuracy_score(y_true, y_pred)


def noisy(rng, y, accuracy):
    """Predictions right with probability ``accuracy``, else a random class (possibly right too)."""
    y = np.asarray(y)
    return np.where(rng.random(len(y)) < accuracy, y, rng.choice(CLASSES, size=len(y)))


def with_counts(b, c, same_right=7, same_wrong=5):
    """Labels and two systems' predictions with exactly b clips a-right/b-wrong and c the reverse."""
    y, a, p = [], [], []
    for a_right, b_right, count in ((1, 0, b), (0, 1, c), (1, 1, same_right), (0, 0, same_wrong)):
        for i in range(count):
            label = CLASSES[i % 4]
            wrong = CLASSES[(i + 1) % 4]
            y.append(label)
            a.append(label if a_right else wrong)
            p.append(label if b_right else wrong)
    order = np.random.default_rng(b * 100 + c).permutation(len(y))
    return [y[i] for i in order], [a[i] for i in order], [p[i] for i in order]


def exact_mcnemar_p(b, c):
    """Two-sided exact binomial p of McNemar's test, by hand: twice the smaller tail of Bin(b + c, 1/2)."""
    n, k = b + c, min(b, c)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)


def chi2_cc_p(b, c):
    """p of McNemar's chi-square with continuity correction, by hand: the chi2(1) tail is erfc(sqrt(x / 2))."""
    statistic = max(abs(b - c) - 1, 0) ** 2 / (b + c)
    return statistic, math.erfc(math.sqrt(statistic / 2))


# -- the point estimate ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ua_and_delta_equal_sklearn_balanced_accuracy(seed):
    rng = np.random.default_rng(seed)
    y = rng.choice(CLASSES[:3], size=157, p=[0.6, 0.3, 0.1])  # imbalanced; "sad" only ever predicted
    a, b = noisy(rng, y, 0.5), noisy(rng, y, 0.7)
    result = paired_comparison(y, a, b, n_boot=50)
    assert result["ua_a"] == pytest.approx(ua(y, a), abs=1e-12)
    assert result["ua_b"] == pytest.approx(ua(y, b), abs=1e-12)
    assert result["delta"] == pytest.approx(ua(y, b) - ua(y, a), abs=1e-12)
    assert result["n"] == 157


def test_classes_check_the_labels_but_do_not_change_ua():
    rng = np.random.default_rng(3)
    y = rng.choice(CLASSES[:2], size=60)
    a, b = noisy(rng, y, 0.5), noisy(rng, y, 0.8)
    result = paired_comparison(y, a, b, classes=CLASSES + ["fear"], n_boot=20)
    assert result["delta"] == pytest.approx(ua(y, b) - ua(y, a), abs=1e-12)
    with pytest.raises(ValueError, match=r"pred_b has labels that are not in classes.*'sad'"):
        paired_comparison(y, y, np.where(np.arange(60) == 7, "sad", y), classes=CLASSES[:2], n_boot=20)


def test_the_result_is_plain_json():
    rng = np.random.default_rng(4)
    y = rng.choice(CLASSES, size=80)
    result = paired_comparison(y, noisy(rng, y, 0.5), noisy(rng, y, 0.6), groups=rng.integers(0, 5, 80), n_boot=30)
    assert json.loads(json.dumps(result)) == result
    for key in ("ua_a", "ua_b", "delta", "ci_low", "ci_high", "level"):
        assert type(result[key]) is float, key
    for key in ("n_boot", "n", "n_units"):
        assert type(result[key]) is int, key
    assert type(result["mcnemar"]["p_value"]) is float and type(result["mcnemar"]["b"]) is int


# -- McNemar ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("b, c", [(3, 12), (0, 5), (12, 12), (10, 14), (1, 0)])
def test_mcnemar_is_exact_below_25_discordant_clips(b, c):
    y, pred_a, pred_b = with_counts(b, c)
    result = paired_comparison(y, pred_a, pred_b, n_boot=10)["mcnemar"]
    assert (result["b"], result["c"]) == (b, c)
    assert sum(ya == pa and yb != pb for ya, pa, yb, pb in zip(y, pred_a, y, pred_b)) == b  # the fixture itself
    assert result["method"] == "exact"
    assert result["p_value"] == pytest.approx(exact_mcnemar_p(b, c), rel=1e-9)
    assert result["statistic"] == min(b, c)


@pytest.mark.parametrize("b, c", [(10, 15), (25, 0), (40, 70), (30, 30), (13, 12)])
def test_mcnemar_is_the_corrected_chi_square_from_25_discordant_clips(b, c):
    y, pred_a, pred_b = with_counts(b, c)
    result = paired_comparison(y, pred_a, pred_b, n_boot=10)["mcnemar"]
    statistic, p_value = chi2_cc_p(b, c)
    assert (result["b"], result["c"], result["method"]) == (b, c, "chi2-cc")
    assert result["statistic"] == pytest.approx(statistic, rel=1e-12)
    assert result["p_value"] == pytest.approx(p_value, rel=1e-9)
    if b == c:
        assert result["p_value"] == 1.0


def test_identical_predictions_give_no_difference():
    rng = np.random.default_rng(5)
    y = rng.choice(CLASSES, size=200)
    pred = noisy(rng, y, 0.6)
    for groups in (None, rng.integers(0, 8, 200)):
        result = paired_comparison(y, pred, pred.copy(), groups=groups)
        assert result["delta"] == 0.0 and result["ua_a"] == result["ua_b"] == pytest.approx(ua(y, pred))
        assert (result["ci_low"], result["ci_high"]) == (0.0, 0.0)
        assert result["mcnemar"] == {"b": 0, "c": 0, "statistic": 0.0, "p_value": 1.0, "method": "exact"}


def test_different_predictions_with_the_same_correctness_are_not_a_difference():
    y = ["ang", "hap"] * 20
    a = ["neu", "hap"] * 20  # wrong on every "ang"
    b = ["sad", "hap"] * 20  # wrong on every "ang" too, differently
    result = paired_comparison(y, a, b, n_boot=100)
    assert result["delta"] == 0.0 and result["mcnemar"]["b"] == result["mcnemar"]["c"] == 0


# -- the bootstrap ---------------------------------------------------------------------------------------------


def noise_data(seed=6, n=300):
    rng = np.random.default_rng(seed)
    y = rng.choice(CLASSES, size=n)
    return y, noisy(rng, y, 0.6), noisy(rng, y, 0.6), rng.integers(0, 12, size=n)


def test_the_same_seed_gives_the_same_interval_another_seed_another():
    y, a, b, groups = noise_data()
    for g in (None, groups):
        first = paired_comparison(y, a, b, groups=g, n_boot=300, random_state=1)
        again = paired_comparison(y, a, b, groups=g, n_boot=300, random_state=1)
        other = paired_comparison(y, a, b, groups=g, n_boot=300, random_state=2)
        assert (first["ci_low"], first["ci_high"]) == (again["ci_low"], again["ci_high"])
        assert (first["ci_low"], first["ci_high"]) != (other["ci_low"], other["ci_high"])
        assert first["delta"] == other["delta"]
    generator = paired_comparison(y, a, b, n_boot=300, random_state=np.random.default_rng(1))
    seeded = paired_comparison(y, a, b, n_boot=300, random_state=1)
    assert (generator["ci_low"], generator["ci_high"]) == (seeded["ci_low"], seeded["ci_high"])


@pytest.mark.parametrize("with_groups", [True, False])
def test_the_interval_is_the_percentile_interval_of_resampled_deltas(with_groups):
    """A plain loop redoes the documented draw: per resample, n_units uniform draws of units with replacement."""
    y, a, b, groups = noise_data(seed=7, n=120)
    n_boot, level = 200, 0.9
    result = paired_comparison(
        y, a, b, groups=groups if with_groups else None, n_boot=n_boot, level=level, random_state=11
    )
    if with_groups:
        names = list(dict.fromkeys(groups.tolist()))
        members = [np.flatnonzero(groups == name) for name in names]
    else:
        members = [np.array([i]) for i in range(len(y))]
    assert result["unit"] == ("speaker" if with_groups else "clip") and result["n_units"] == len(members)
    drawn = np.random.default_rng(11).integers(0, len(members), size=(n_boot, len(members)))
    deltas = []
    for row in drawn:
        clips = np.concatenate([members[u] for u in row])
        deltas.append(ua(y[clips], b[clips]) - ua(y[clips], a[clips]))
    low, high = np.quantile(deltas, [0.05, 0.95])
    assert result["ci_low"] == pytest.approx(low, abs=1e-12)
    assert result["ci_high"] == pytest.approx(high, abs=1e-12)
    assert result["level"] == 0.9 and result["n_boot"] == 200


def test_the_cluster_bootstrap_draws_whole_speakers():
    """Every resampled delta is that of a multiset of whole speakers, with its multinomial probability.

    Speaker "s2" has no "hap" clip, so resamples of s2 alone lack a class: their UA is over "ang" only,
    as sklearn's balanced accuracy of that resample.
    """
    name = {"a": "ang", "h": "hap"}
    speakers = {  # per speaker: labels, system a's predictions, system b's, one letter per clip
        "s1": ("aahhh", "ahhah", "aahha"),
        "s2": ("aaa", "ahh", "aah"),
        "s3": ("haha", "hhhh", "aaha"),
    }
    y, a, b = (np.array([name[v] for s in speakers for v in speakers[s][i]]) for i in range(3))
    groups = np.concatenate([[s] * len(speakers[s][0]) for s in speakers])

    expected = Counter()  # delta of each ordered draw of 3 speakers, probability 1/27 each
    for draw in itertools.product(speakers, repeat=3):
        clips = np.concatenate([np.flatnonzero(groups == s) for s in draw])
        expected[round(ua(y[clips], b[clips]) - ua(y[clips], a[clips]), 9)] += 1 / 27
    assert len(expected) >= 6  # the speakers are distinct enough for the check to mean something

    codes = {"ang": 0, "hap": 1}
    units = np.array([list(speakers).index(s) for s in groups])
    n_boot = 20000
    deltas = _bootstrap_deltas(
        np.array([codes[v] for v in y]), a == y, b == y, units, 2, n_boot, np.random.default_rng(0)
    )
    observed = Counter(np.round(deltas, 9).tolist())
    assert set(observed) <= set(expected)
    for value, probability in expected.items():
        assert observed[value] / n_boot == pytest.approx(probability, abs=0.015), value


def test_speaker_bootstrap_is_wider_when_speakers_are_all_right_or_all_wrong():
    """Correctness shared by a speaker's clips is one piece of evidence per speaker, not per clip."""
    rng = np.random.default_rng(8)
    n_speakers, per_speaker = 20, 20
    groups = np.repeat(np.arange(n_speakers), per_speaker)
    y = np.tile(np.array(CLASSES)[np.arange(per_speaker) % 4], n_speakers)
    a_right = np.repeat(rng.random(n_speakers) < 0.5, per_speaker)
    b_right = np.repeat(rng.random(n_speakers) < 0.5, per_speaker)
    wrong = np.roll(np.array(CLASSES), 1)[np.searchsorted(CLASSES, y)]
    a, b = np.where(a_right, y, wrong), np.where(b_right, y, wrong)
    by_speaker = paired_comparison(y, a, b, groups=groups)
    by_clip = paired_comparison(y, a, b)
    assert (by_speaker["unit"], by_clip["unit"]) == ("speaker", "clip")
    width_speaker = by_speaker["ci_high"] - by_speaker["ci_low"]
    width_clip = by_clip["ci_high"] - by_clip["ci_low"]
    assert width_speaker > 2 * width_clip > 0


def test_one_speaker_falls_back_to_the_clip_bootstrap():
    y, a, b, _ = noise_data(n=60)
    result = paired_comparison(y, a, b, groups=["spk"] * 60, n_boot=100)
    plain = paired_comparison(y, a, b, n_boot=100)
    assert result["unit"] == "clip" and result["n_units"] == 60
    assert (result["ci_low"], result["ci_high"]) == (plain["ci_low"], plain["ci_high"])


def test_a_planted_gain_is_significant_and_noise_is_not():
    rng = np.random.default_rng(9)
    n = 2000
    y = rng.choice(CLASSES, size=n)
    groups = rng.integers(0, 40, size=n)
    baseline = noisy(rng, y, 0.45)
    better = noisy(rng, y, 0.60)
    same = noisy(rng, y, 0.45)
    gain = paired_comparison(y, baseline, better, groups=groups)
    assert gain["delta"] > 0.1 and gain["ci_low"] > 0 and gain["mcnemar"]["p_value"] < 1e-6
    assert gain["ci_low"] < gain["delta"] < gain["ci_high"]
    null = paired_comparison(y, baseline, same, groups=groups)
    assert null["ci_low"] < 0 < null["ci_high"] and null["mcnemar"]["p_value"] > 0.05


# -- pooling folds ---------------------------------------------------------------------------------------------


def test_pooled_over_folds_compares_the_concatenated_predictions():
    rng = np.random.default_rng(10)
    folds = []
    for k, size in enumerate((50, 70, 40)):
        y = rng.choice(CLASSES, size=size)
        folds.append((y, noisy(rng, y, 0.5), noisy(rng, y, 0.65), [f"f{k}s{i % 3}" for i in range(size)]))
    pooled = pooled_over_folds(folds, n_boot=200, random_state=3)
    y_all, a_all, b_all = (np.concatenate([fold[i] for fold in folds]) for i in range(3))
    assert pooled["delta"] == pytest.approx(ua(y_all, b_all) - ua(y_all, a_all), abs=1e-12)
    assert pooled["n_folds"] == 3 and pooled["n"] == 160 and pooled["n_units"] == 9
    direct = paired_comparison(y_all, a_all, b_all, groups=sum((f[3] for f in folds), []), n_boot=200, random_state=3)
    assert (pooled["ci_low"], pooled["ci_high"]) == (direct["ci_low"], direct["ci_high"])


def test_pooled_over_folds_keeps_a_speaker_tested_twice_as_one_unit():
    y = ["ang", "hap"] * 10
    fold = (y, y, y, ["a"] * 10 + ["b"] * 10)
    assert pooled_over_folds([fold, fold], n_boot=10)["n_units"] == 2
    assert pooled_over_folds([fold[:3], fold[:3]], n_boot=10)["unit"] == "clip"


# -- errors ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((["a", "b"], ["a"], ["a", "b"]), {}, r"differ in length: 2, 1, 2"),
        (([], [], []), {}, r"empty"),
        ((["a", "b"], ["a", "b"], ["a", "b"]), {"groups": ["s"]}, r"groups has 1 entries for 2 clips"),
        ((["a"], ["a"], ["a"]), {"n_boot": 0}, r"n_boot must be an integer of at least 1"),
        ((["a"], ["a"], ["a"]), {"n_boot": 10.0}, r"n_boot must be an integer"),
        ((["a"], ["a"], ["a"]), {"level": 95}, r"level must be a number strictly between 0 and 1"),
        (([["a", "b"]], [["a", "b"]], [["a", "b"]]), {}, r"one-dimensional, got an array of shape \(1, 2\)"),
        ((["a", "x"], ["a", "a"], ["a", "a"]), {"classes": ["a", "b"]}, r"y_true has labels .* 'x'"),
        ((["a"], ["a"], ["a"]), {"classes": []}, r"classes is empty"),
        ((None, ["a"], ["a"]), {}, r"y_true is None"),
    ],
)
def test_bad_input_is_a_clear_value_error(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        paired_comparison(*args, **kwargs)


def test_bad_folds_are_a_clear_value_error():
    good = (["a", "b"], ["a", "b"], ["b", "b"], ["s", "t"])
    with pytest.raises(ValueError, match="at least one fold"):
        pooled_over_folds([])
    with pytest.raises(ValueError, match=r"folds \[1\] give no speakers while others do"):
        pooled_over_folds([good, good[:3]])
    with pytest.raises(ValueError, match=r"fold 1: y_true, pred_a and pred_b differ in length: 2, 1, 2"):
        pooled_over_folds([good, (["a", "b"], ["a"], ["a", "b"], None)])
    with pytest.raises(ValueError, match=r"fold 0 must be a tuple"):
        pooled_over_folds([{"y_true": ["a"]}])


# -- the one-line summary --------------------------------------------------------------------------------------


def test_format_comparison_reads_the_result():
    result = {"delta": 0.0234, "ci_low": 0.004, "ci_high": 0.0412, "level": 0.95, "unit": "speaker", "n_boot": 2000}
    result["mcnemar"] = {"p_value": 0.0123}
    assert format_comparison(result) == (
        "ZS-Fuse - FM baseline: +2.3 UA points (95% CI +0.4 to +4.1, speaker bootstrap, 2000 resamples); "
        "McNemar p = 0.012"
    )
    result.update(delta=-0.0004, ci_low=-0.0151, ci_high=0.012, level=0.9, unit="clip", n_boot=500)
    result["mcnemar"] = {"p_value": 0.0004}
    assert format_comparison(result, "A", "B") == (
        "B - A: +0.0 UA points (90% CI -1.5 to +1.2, clip bootstrap, 500 resamples); McNemar p < 0.001"
    )


def test_format_comparison_of_a_computed_result():
    y, a, b, groups = noise_data()
    result = paired_comparison(y, a, b, groups=groups, n_boot=100)
    line = format_comparison(result)
    assert f"{100 * result['delta']:+.1f} UA points" in line
    low, high = 100 * result["ci_low"], 100 * result["ci_high"]
    assert f"CI {low:+.1f} to {high:+.1f}, speaker bootstrap, 100 resamples" in line
    assert line.endswith(f"McNemar p = {result['mcnemar']['p_value']:.3f}")
