"""LateFusionClassifier on synthetic arrays: the baseline, fusion, column selection, temperature."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from zsfuse.fusion import FusionWarning, LateFusionClassifier, fit_temperature, layernorm, zs_label_of

LABELS = np.array(["angry", "happy", "neutral", "sad"])
MODES = ("concat", "weighted", "stack")


def make_task(n, zs_signal=1.2, fm_signal=0.2, dim=32, scale=5.0, seed=0, labels=LABELS):
    """[zero-shot logits | FM embedding] where the zero-shot block is informative, the FM block weak.

    Zero-shot logits: ``scale * (zs_signal * onehot(y) + N(0, 1))`` (over-confident: large
    scale). FM block: ``fm_signal * mu[y] + N(0, 1)`` in ``dim`` dimensions, with class means
    ``mu`` fixed across calls (so train and test sets share them). The two noises are
    independent, so the sources are complementary.
    """
    rng = np.random.default_rng(seed)
    k = len(labels)
    index = np.arange(n) % k
    rng.shuffle(index)
    zs = scale * (zs_signal * np.eye(k)[index] + rng.normal(size=(n, k)))
    means = np.random.default_rng(1234).normal(size=(k, dim))
    fm = fm_signal * means[index] + rng.normal(size=(n, dim))
    return np.hstack([zs, fm]), labels[index]


def frame(X, zs_names, n_zs=4):
    pd = pytest.importorskip("pandas")
    names = list(zs_names) + [f"fm__fm_{i}" for i in range(X.shape[1] - n_zs)]
    return pd.DataFrame(X, columns=names)


@pytest.fixture(scope="module")
def task():
    X, y = make_task(400, seed=0)
    X_test, y_test = make_task(2000, seed=1)
    return X, y, X_test, y_test


# -- zs_weight=0 is the FM baseline, exactly ------------------------------------------------------


def reference_layernorm(x):
    """Per-sample LayerNorm written out: ``(x - row mean) / sqrt(row variance + 1e-5)``.

    Population variance (divided by the number of columns), eps 1e-5 as ``torch.nn.LayerNorm``;
    the reference of the baseline tests instead of the package's own ``layernorm``, so that a bug
    there fails them. Written in the package's order of operations, so the comparison can stay
    bit for bit.
    """
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(axis=1, keepdims=True)
    return centred / np.sqrt((centred**2).mean(axis=1, keepdims=True) + 1e-5)


def test_layernorm_is_the_written_out_formula():
    x = np.random.default_rng(0).normal(loc=3.0, scale=0.01, size=(5, 32))  # variance 1e-4: eps matters
    var = ((x - x.mean(1, keepdims=True)) ** 2).sum(1, keepdims=True) / x.shape[1]
    expected = (x - x.mean(1, keepdims=True)) / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(layernorm(x), expected, rtol=1e-12, atol=0)
    np.testing.assert_allclose(reference_layernorm(x), expected, rtol=1e-12, atol=0)


def _normalised_fm(normalize, X_fit, X):
    # "the FM block alone": a C-ordered array of its own, as FMEmbeddingTransformer outputs it
    # (a strided view X[:, 4:] can change BLAS's summation order in the last bit)
    fm_fit, fm = np.ascontiguousarray(X_fit[:, 4:]), np.ascontiguousarray(X[:, 4:])
    if normalize == "layernorm":
        return reference_layernorm(fm_fit), reference_layernorm(fm)
    if normalize == "standard":
        scaler = StandardScaler().fit(fm_fit)
        return scaler.transform(fm_fit), scaler.transform(fm)
    return fm_fit, fm


@pytest.mark.parametrize("fusion", ["concat", "weighted"])
@pytest.mark.parametrize("normalize", ["layernorm", "standard", None])
def test_zero_weight_is_exactly_the_fm_baseline(task, fusion, normalize):
    X, y, X_test, _ = task
    clf = LateFusionClassifier(fusion=fusion, zs_weight=0.0, normalize=normalize).fit(X, y)
    fm_fit, fm_test = _normalised_fm(normalize, X, X_test)
    head = LogisticRegression(max_iter=1000).fit(fm_fit, y)
    # bit for bit: the zero-shot block is dropped, not multiplied by zero
    np.testing.assert_array_equal(clf.predict(X_test), head.predict(fm_test))
    np.testing.assert_array_equal(clf.predict_proba(X_test), head.predict_proba(fm_test))
    np.testing.assert_array_equal(clf.predict_log_proba(X_test), head.predict_log_proba(fm_test))
    np.testing.assert_array_equal(clf.classes_, head.classes_)


@pytest.mark.parametrize("fusion", ["concat", "weighted"])
def test_zero_weight_baseline_with_another_head_and_named_columns(task, fusion):
    X, y, X_test, _ = task
    # FM columns first, zero-shot columns last and shuffled: found by name
    order = np.r_[np.arange(4, X.shape[1]), [2, 0, 3, 1]]
    names = [f"fm__fm_{i}" for i in range(X.shape[1] - 4)] + [f"zs__zs_{LABELS[i]}" for i in (2, 0, 3, 1)]
    pd = pytest.importorskip("pandas")
    df, df_test = pd.DataFrame(X[:, order], columns=names), pd.DataFrame(X_test[:, order], columns=names)
    forest = RandomForestClassifier(n_estimators=20, random_state=0)
    clf = LateFusionClassifier(forest, fusion=fusion, zs_weight=0, normalize="layernorm").fit(df, y)
    np.testing.assert_array_equal(clf.fm_columns_, np.arange(X.shape[1] - 4))
    head = clone(forest).fit(reference_layernorm(X[:, 4:]), y)
    np.testing.assert_array_equal(clf.predict(df_test), head.predict(reference_layernorm(X_test[:, 4:])))
    np.testing.assert_array_equal(clf.predict_proba(df_test), head.predict_proba(reference_layernorm(X_test[:, 4:])))
    # the very same trees: a forest's predictions do not see a uniform rescaling of its input (a sample
    # variance in the LayerNorm), its split thresholds do
    for ours, theirs in zip(clf.estimator_.estimators_, head.estimators_):
        np.testing.assert_array_equal(ours.tree_.threshold, theirs.tree_.threshold)


# -- fusion beats both single sources ----------------------------------------------------------------


@pytest.mark.parametrize("fusion", MODES)
def test_fusion_beats_both_single_sources(task, fusion):
    X, y, X_test, y_test = task
    zero_shot = balanced_accuracy_score(y_test, LABELS[X_test[:, :4].argmax(axis=1)])
    fm_only = balanced_accuracy_score(y_test, LateFusionClassifier(zs_weight=0).fit(X, y).predict(X_test))
    fused = balanced_accuracy_score(
        y_test, LateFusionClassifier(fusion=fusion, zs_weight=0.5).fit(X, y).predict(X_test)
    )
    # measured (seeds 0/1): zero-shot 0.60, FM 0.52, fused 0.66 (concat), 0.68 (weighted), 0.69 (stack)
    assert zero_shot > fm_only + 0.04  # the zero-shot block is the informative one
    assert fused > max(zero_shot, fm_only) + 0.04, (fused, zero_shot, fm_only)


def test_weighted_interpolates_between_the_sources(task):
    X, y, X_test, _ = task
    zs_only = LateFusionClassifier(fusion="weighted", zs_weight=1.0).fit(X, y)
    proba = zs_only.predict_proba(X_test)
    expected = np.exp(X_test[:, :4] / zs_only.temperature_)
    np.testing.assert_allclose(proba, expected / expected.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_array_equal(zs_only.predict(X_test), LABELS[X_test[:, :4].argmax(axis=1)])
    half = LateFusionClassifier(fusion="weighted", zs_weight=0.5).fit(X, y)
    base = LateFusionClassifier(fusion="weighted", zs_weight=0.0).fit(X, y)
    fused = np.log(half.predict_proba(X_test))
    raw = 0.5 * np.log(base.predict_proba(X_test)) + 0.5 * np.log(proba)
    np.testing.assert_allclose(fused - fused.mean(1, keepdims=True), raw - raw.mean(1, keepdims=True), atol=1e-9)


# -- the three outputs of the zero-shot transformer ---------------------------------------------------


def test_logit_log_proba_and_proba_inputs_agree(task):
    X, y, X_test, _ = task

    def as_output(A, output):
        z = A[:, :4] - A[:, :4].max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return np.hstack([{"logit": A[:, :4], "log_proba": log_p, "proba": np.exp(log_p)}[output], A[:, 4:]])

    # probabilities are floored at 1e-12 before the log: compare on data where none is that small
    unfloored = as_output(X, "proba")[:, :4].min(axis=1) > 1e-12
    X, y = X[unfloored], y[unfloored]
    X_test = X_test[as_output(X_test, "proba")[:, :4].min(axis=1) > 1e-12]
    assert len(X) > 300 and len(X_test) > 1500
    for fusion in MODES:
        results = {}
        for output in ("logit", "log_proba", "proba"):
            # per-row shifts vanish in the softmax and the per-sample LayerNorm, not in a per-column scaler
            clf = LateFusionClassifier(fusion=fusion, zs_weight=0.5, normalize="layernorm")
            clf = clf.fit(as_output(X, output), y)
            assert clf.zs_input_ == ("proba" if output == "proba" else "logit")
            results[output] = clf.predict_proba(as_output(X_test, output))
        np.testing.assert_allclose(results["log_proba"], results["logit"], atol=1e-6)
        np.testing.assert_allclose(results["proba"], results["logit"], atol=1e-6)


# -- the zero-shot block: which columns, which labels ----------------------------------------------


def test_zs_label_of():
    assert zs_label_of("zs_angry") == "angry"
    assert zs_label_of("zs__zs_angry") == "angry"
    assert zs_label_of("features__zs__zs_very__sad") == "very__sad"
    assert zs_label_of("clap__zs_0") == "0"
    for name in ("fm__fm_0", "fm_0", "x0", "my_zs_angry", "zsfm_0"):
        assert zs_label_of(name) is None, name


@pytest.mark.parametrize("prefix", ["", "zs__", "features__zs__"])
def test_zero_shot_columns_found_by_name(task, prefix):
    X, y, X_test, _ = task
    ref = LateFusionClassifier().fit(X, y)
    order = np.r_[np.arange(4, 10), [3, 1, 0, 2], np.arange(10, X.shape[1])]
    names = [f"f{i}" for i in range(X.shape[1])]
    for pos, col in enumerate(order):
        if col < 4:
            names[pos] = f"{prefix}zs_{LABELS[col]}"
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X[:, order], columns=names)
    clf = LateFusionClassifier().fit(df, y)
    np.testing.assert_array_equal(df.columns[clf.zs_columns_], [f"{prefix}zs_{c}" for c in LABELS])
    np.testing.assert_array_equal(clf.feature_names_in_, names)
    np.testing.assert_allclose(
        clf.predict_proba(pd.DataFrame(X_test[:, order], columns=names)),
        ref.predict_proba(X_test),
        rtol=1e-10,
        atol=1e-12,
    )


def test_labels_that_disagree_with_y_are_an_error(task):
    X, y, _, _ = task
    df = frame(X, ["zs_angry", "zs_happy", "zs_neutral", "zs_calm"])
    with pytest.raises(
        ValueError,
        match=r"labels \['angry', 'happy', 'neutral', 'calm'\].*"
        r"classes \['angry', 'happy', 'neutral', 'sad'\]",
    ):
        LateFusionClassifier().fit(df, y)
    # a zero-shot label that y lacks (a training set or CV fold without that class) is left
    # out: the other columns are matched by label, never shifted by position
    keep = y != "angry"
    df = frame(X, [f"zs_{c}" for c in LABELS])
    clf = LateFusionClassifier().fit(df[keep], y[keep])
    np.testing.assert_array_equal(df.columns[clf.zs_columns_], ["zs_happy", "zs_neutral", "zs_sad"])
    assert "zs_angry" not in set(df.columns[clf.fm_columns_])


def test_without_names_the_first_n_classes_columns(task):
    X, y, _, _ = task
    clf = LateFusionClassifier().fit(X, y)
    np.testing.assert_array_equal(clf.zs_columns_, np.arange(4))
    np.testing.assert_array_equal(clf.fm_columns_, np.arange(4, X.shape[1]))
    assert not hasattr(clf, "feature_names_in_")
    # unrelated names: same rule
    pd = pytest.importorskip("pandas")
    clf = LateFusionClassifier().fit(pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])]), y)
    np.testing.assert_array_equal(clf.zs_columns_, np.arange(4))


def test_explicit_zs_columns(task):
    X, y, X_test, _ = task
    ref = LateFusionClassifier(fusion="weighted", zs_weight=0.5).fit(X, y)
    moved = np.hstack([X[:, 4:], X[:, :4]])
    cols = list(range(X.shape[1] - 4, X.shape[1]))
    clf = LateFusionClassifier(fusion="weighted", zs_weight=0.5, zs_columns=cols).fit(moved, y)
    np.testing.assert_allclose(
        clf.predict_proba(np.hstack([X_test[:, 4:], X_test[:, :4]])), ref.predict_proba(X_test), rtol=1e-9
    )
    with pytest.raises(ValueError, match="selects 3 column"):
        LateFusionClassifier(zs_columns=[0, 1, 2]).fit(X, y)
    with pytest.raises(ValueError, match="more than once"):
        LateFusionClassifier(zs_columns=[0, 1, 1, 2]).fit(X, y)
    with pytest.raises(ValueError, match="index 99"):
        LateFusionClassifier(zs_columns=[0, 1, 2, 99]).fit(X, y)
    with pytest.raises(ValueError, match="no feature names"):
        LateFusionClassifier(zs_columns=["zs_angry"]).fit(X, y)
    # by name
    df = frame(X, ["a", "b", "c", "d"])
    clf = LateFusionClassifier(zs_columns=["a", "b", "c", "d"]).fit(df, y)
    np.testing.assert_array_equal(clf.zs_columns_, np.arange(4))
    # an empty selection: no zero-shot block, the head alone
    clf = LateFusionClassifier(zs_columns=[]).fit(X, y)
    assert clf.zs_columns_.size == 0 and clf.fm_columns_.size == X.shape[1]


def test_too_few_columns_fits_the_head_alone_with_a_warning():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), np.arange(30) % 3
    with pytest.warns(FusionWarning, match="3 column"):
        clf = LateFusionClassifier().fit(X, y)
    assert clf.zs_columns_.size == 0


def test_zero_shot_only_input():
    X, y = make_task(200)
    zs = X[:, :4]
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(zs, columns=[f"zs_{c}" for c in LABELS])
    clf = LateFusionClassifier().fit(df, y)  # concat: the head on the zero-shot block
    assert clf.fm_columns_.size == 0 and clf.score(df, y) > 0.5
    for fusion in ("weighted", "stack"):
        with pytest.raises(ValueError, match="needs an FM block"):
            LateFusionClassifier(fusion=fusion).fit(df, y)
    with pytest.raises(ValueError, match="nothing to fit"):
        LateFusionClassifier(zs_weight=0).fit(df, y)


# -- temperature -------------------------------------------------------------------------------------


def test_fit_temperature_recovers_the_generating_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(20000, 5))
    for true_t in (0.5, 2.0, 8.0):
        p = np.exp(logits / true_t)
        p /= p.sum(axis=1, keepdims=True)
        y = (p.cumsum(axis=1) > rng.random((len(p), 1))).argmax(axis=1)
        assert fit_temperature(logits, y) == pytest.approx(true_t, rel=0.05)


def test_uninformative_zero_shot_scores_get_a_flat_temperature(task):
    X, y, X_test, _ = task
    rng = np.random.default_rng(5)
    noise = X.copy()
    noise[:, :4] = rng.normal(scale=5.0, size=(len(X), 4))
    clf = LateFusionClassifier(fusion="weighted", zs_weight=0.5).fit(noise, y)
    assert clf.temperature_ > 50
    base = LateFusionClassifier(fusion="weighted", zs_weight=0).fit(X, y)
    agree = np.mean(clf.predict(X_test) == base.predict(X_test))
    assert agree > 0.95


def test_fixed_temperature(task):
    X, y, _, _ = task
    assert LateFusionClassifier(fusion="weighted", temperature=2.5).fit(X, y).temperature_ == 2.5
    assert LateFusionClassifier(fusion="concat").fit(X, y).temperature_ is None


# -- stack ----------------------------------------------------------------------------------------------


def test_stack_meta_learner(task):
    X, y, X_test, _ = task
    clf = LateFusionClassifier(fusion="stack", cv=KFold(3, shuffle=True, random_state=0)).fit(X, y)
    assert clf.meta_estimator_.coef_.shape == (4, 8)  # 4 head log-probas + 4 zero-shot log-probas
    assert clf.estimator_.n_features_in_ == X.shape[1] - 4
    clf0 = LateFusionClassifier(fusion="stack", zs_weight=0).fit(X, y)
    assert clf0.meta_estimator_.coef_.shape == (4, 4)
    proba = clf.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X_test), clf.classes_[proba.argmax(axis=1)])
    std = LateFusionClassifier(fusion="stack", normalize="standard").fit(X, y)
    assert std.fm_normalizer_ is not None and std.zs_normalizer_ is None


# -- the fusion modes: one class each ------------------------------------------------------------------


def test_the_modes_are_registered_by_name():
    from zsfuse.fusion import FUSION_MODES
    from zsfuse.fusion._modes import MODES as REGISTRY
    from zsfuse.fusion._modes import FusionMode

    assert FUSION_MODES == MODES == tuple(REGISTRY)
    for name, mode in REGISTRY.items():
        assert issubclass(mode, FusionMode) and mode.name == name
    # a saved classifier names the class where it was defined before the move, and holds no mode object
    assert LateFusionClassifier.__module__ == "zsfuse.fusion"


@pytest.mark.parametrize("fusion", MODES)
def test_every_mode_fits_the_same_attributes(task, fusion):
    X, y, _, _ = task
    clf = LateFusionClassifier(fusion=fusion, zs_labels=LABELS).fit(X, y)
    assert sorted(k for k in vars(clf) if k.endswith("_") and not k.startswith("_")) == [
        "classes_",
        "estimator_",
        "fm_columns_",
        "fm_normalizer_",
        "frames_column_",
        "meta_estimator_",
        "n_features_in_",
        "temperature_",
        "zs_columns_",
        "zs_input_",
        "zs_normalizer_",
    ]


def test_a_new_mode_is_one_class(task, monkeypatch):
    from zsfuse.fusion._modes import MODES as REGISTRY
    from zsfuse.fusion._modes import FusedLogProba, FusionMode

    class ZeroShotOnly(FusionMode):
        """The calibrated zero-shot scores alone."""

        name = "zs_only"
        needs_proba_head = False

        def fit(self, clf, X, y, y_index, head):
            clf._fit_temperature(X, y_index)

        def combine(self, clf, X):
            return FusedLogProba(clf.classes_), clf._zs_log_proba(X)

    monkeypatch.setitem(REGISTRY, ZeroShotOnly.name, ZeroShotOnly)  # all a new mode needs
    X, y, X_test, _ = task
    clf = LateFusionClassifier(fusion="zs_only", zs_labels=LABELS).fit(X, y)
    ref = LateFusionClassifier(fusion="weighted", zs_weight=1.0, zs_labels=LABELS).fit(X, y)
    assert clf.temperature_ == ref.temperature_
    np.testing.assert_array_equal(clf.predict_proba(X_test), ref.predict_proba(X_test))
    np.testing.assert_array_equal(clf.predict(X_test), ref.predict(X_test))
    np.testing.assert_array_equal(clf.decision_function(X_test), ref.decision_function(X_test))


# -- API ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fusion", MODES)
def test_decision_function_and_log_proba_agree_with_predict(task, fusion):
    X, y, X_test, _ = task
    clf = LateFusionClassifier(fusion=fusion, zs_weight=0.5).fit(X, y)
    pred = clf.predict(X_test)
    np.testing.assert_array_equal(clf.classes_[clf.decision_function(X_test).argmax(axis=1)], pred)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X_test)), clf.predict_proba(X_test), atol=1e-12)
    # two classes: one score per sample, for classes_[1]
    keep = np.isin(y, ["angry", "sad"])
    df = frame(X[keep][:, [0, 3] + list(range(4, X.shape[1]))], ["zs_angry", "zs_sad"], n_zs=2)
    binary = LateFusionClassifier(fusion=fusion, zs_weight=0.5).fit(df, y[keep])
    scores = binary.decision_function(df)
    assert scores.shape == (keep.sum(),)
    np.testing.assert_array_equal(binary.classes_[(scores > 0).astype(int)], binary.predict(df))


def test_head_without_predict_proba():
    X, y = make_task(200)
    clf = LateFusionClassifier(LinearSVC()).fit(X, y)
    assert not hasattr(clf, "predict_proba") and not hasattr(clf, "predict_log_proba")
    assert clf.decision_function(X).shape == (200, 4)
    with pytest.raises(ValueError, match="predict_proba"):
        LateFusionClassifier(LinearSVC(), fusion="weighted").fit(X, y)


def _declared(param):
    """The start of scikit-learn's message for a value outside ``_parameter_constraints``."""
    return rf"The '{param}' parameter of LateFusionClassifier must be"


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(fusion="late"), _declared("fusion") + r" a str among \{'concat', 'weighted', 'stack'\}"),
        (dict(zs_weight=-0.1), _declared("zs_weight")),
        (dict(zs_weight=float("nan")), _declared("zs_weight")),
        (dict(zs_weight=float("inf")), _declared("zs_weight")),
        (dict(zs_weight="1"), _declared("zs_weight")),
        (dict(zs_weight=True), _declared("zs_weight") + r" .*\(not a bool\)"),
        (dict(zs_weight=np.True_), _declared("zs_weight")),
        (dict(fusion="weighted", zs_weight=1.5), "0 <= zs_weight <= 1"),
        (dict(normalize="l2"), _declared("normalize")),
        (dict(temperature=0), _declared("temperature")),
        (dict(temperature=float("inf")), _declared("temperature")),
        (dict(temperature=True), _declared("temperature")),
        (dict(temperature="auto"), _declared("temperature")),
        (dict(cv=1), _declared("cv")),
        (dict(zs_columns="first"), _declared("zs_columns")),
        (dict(zs_columns=[0, "a"]), "only column indices or only column names"),
        (dict(zs_labels="angry"), _declared("zs_labels")),
        (dict(estimator="lr"), _declared("estimator")),
        (dict(estimator=LinearSVC(), fusion="stack"), "fusion='stack' needs a head with predict_proba"),
    ],
)
def test_invalid_parameters(params, match):
    X, y = make_task(40)
    clf = LateFusionClassifier(**params)
    assert clf.get_params()[next(iter(params))] is next(iter(params.values()))  # stored as given
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    if params != dict(zs_columns=[0, "a"]):  # that one is checked against X's columns, in fit
        with pytest.raises(ValueError, match=match):
            clf._check_params()  # what `zsfuse evaluate` checks before any model loads


@pytest.mark.parametrize("fusion", MODES)
def test_parameters_are_declared_the_scikit_learn_way(fusion):
    from sklearn.utils.estimator_checks import check_param_validation

    clf = LateFusionClassifier(fusion=fusion)
    assert set(clf._parameter_constraints) == set(clf.get_params())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FusionWarning)  # the check's 5-column table has no named block
        check_param_validation("LateFusionClassifier", clf)


def test_the_position_warning_points_at_the_caller():
    X, y = make_task(40)
    with pytest.warns(FusionWarning) as caught:
        LateFusionClassifier().fit(X, y)
    assert caught[0].filename == __file__


def test_single_class_is_an_error():
    X, _ = make_task(20)
    with pytest.raises(ValueError, match="at least 2 classes"):
        LateFusionClassifier().fit(X, np.zeros(20))


@pytest.mark.parametrize("fusion", MODES)
def test_pickle_clone_and_grid_search(task, fusion):
    X, y, X_test, _ = task
    clf = LateFusionClassifier(fusion=fusion, zs_weight=0.5).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X_test), clf.predict_proba(X_test))
    assert not hasattr(clone(clf), "classes_")
    grid = {"zs_weight": [0.0, 0.5, 1.0]}
    search = GridSearchCV(
        LateFusionClassifier(fusion=fusion, zs_labels=LABELS), grid, cv=3, scoring="balanced_accuracy"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", FusionWarning)
        search.fit(X, y)
    assert search.best_params_["zs_weight"] > 0  # fusion helps on this task
