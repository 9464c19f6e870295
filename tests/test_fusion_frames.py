"""LateFusionClassifier with a frame-level FM block, and with heads that take the zero-shot block as side features."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from zsfuse import LateFusionClassifier

LABELS = ("angry", "happy", "neutral", "sad")


class MeanFramesHead(ClassifierMixin, BaseEstimator):
    """A test head: mean of each clip's frames, joined to the side features, into a logistic regression.

    It records what it was given, so the tests can check what the fusion classifier passes.
    """

    accepts_frames = True
    accepts_side = True

    def _features(self, X, side):
        rows = [np.asarray(f, dtype=np.float64).mean(axis=0) for f in (X if X.ndim == 1 else X[:, 0])]
        pooled = np.vstack(rows)
        return pooled if side is None else np.hstack([pooled, side])

    def fit(self, X, y, side=None):
        self.seen_side_ = None if side is None else np.array(side)
        self.model_ = LogisticRegression(max_iter=1000).fit(self._features(X, side), y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X, side=None):
        return self.model_.predict(self._features(X, side))

    def predict_proba(self, X, side=None):
        return self.model_.predict_proba(self._features(X, side))


class SideOnlyHead(MeanFramesHead):
    """Takes side features on a numeric (pooled) FM block: not frame-level."""

    accepts_frames = False

    def _features(self, X, side):
        X = np.asarray(X, dtype=np.float64)
        return X if side is None else np.hstack([X, side])


class FramesNoSide(MeanFramesHead):
    accepts_side = False


def frames_task(n=80, seed=0):
    """Zero-shot logits, per-clip frames of varying length and labels: both sources carry the class."""
    rng = np.random.default_rng(seed)
    y = np.array(LABELS)[np.arange(n) % 4]
    onehot = (y[:, None] == np.array(LABELS)[None]).astype(float)
    zs = 2.0 * onehot + rng.normal(size=(n, 4))
    centres = np.random.default_rng(123).normal(size=(4, 6))  # the same classes in every draw
    frames = np.empty(n, dtype=object)
    for i in range(n):
        t = int(rng.integers(3, 12))
        frames[i] = (centres[onehot[i].argmax()] + rng.normal(scale=2.0, size=(t, 6))).astype(np.float16)
    return zs, frames, y


def as_array(zs, frames):
    X = np.empty((len(frames), zs.shape[1] + 1), dtype=object)
    X[:, :-1] = zs
    X[:, -1] = frames
    return X


def as_frame(zs, frames):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(zs, columns=[f"zs__zs_{c}" for c in LABELS])
    df["fm__fm_frames"] = list(frames)
    return df


def test_zero_weight_is_exactly_the_frame_head_alone():
    zs, frames, y = frames_task()
    clf = LateFusionClassifier(MeanFramesHead(), zs_weight=0.0, zs_labels=LABELS).fit(as_array(zs, frames), y)
    alone = MeanFramesHead().fit(frames, y)
    assert clf.estimator_.seen_side_ is None and clf.frames_column_ == 4
    np.testing.assert_array_equal(clf.predict_proba(as_array(zs, frames)), alone.predict_proba(frames))


def test_concat_hands_the_weighted_normalised_zero_shot_block_as_side_features():
    zs, frames, y = frames_task()
    for normalize in ("standard", "layernorm"):
        clf = LateFusionClassifier(MeanFramesHead(), zs_weight=0.5, normalize=normalize).fit(as_frame(zs, frames), y)
        if normalize == "standard":
            expected = 0.5 * (zs - zs.mean(axis=0)) / zs.std(axis=0)
        else:
            centred = zs - zs.mean(axis=1, keepdims=True)
            expected = 0.5 * centred / np.sqrt((centred**2).mean(axis=1, keepdims=True) + 1e-5)
        np.testing.assert_allclose(clf.estimator_.seen_side_, expected, rtol=1e-10, atol=1e-12)
        # predicting passes the new clips' side features: the same as the head called by hand
        direct = clf.estimator_.predict_proba(frames, side=expected)
        np.testing.assert_allclose(clf.predict_proba(as_frame(zs, frames)), direct)


def test_frames_and_fused_scores_beat_either_source_alone():
    zs, frames, y = frames_task(n=200)
    zs_t, frames_t, y_t = frames_task(n=200, seed=1)
    fused = LateFusionClassifier(MeanFramesHead(), zs_weight=1.0).fit(as_frame(zs, frames), y)
    baseline = LateFusionClassifier(MeanFramesHead(), zs_weight=0.0).fit(as_frame(zs, frames), y)
    acc_fused = fused.score(as_frame(zs_t, frames_t), y_t)
    acc_base = baseline.score(as_frame(zs_t, frames_t), y_t)
    acc_zs = np.mean(np.array(LABELS)[zs_t.argmax(axis=1)] == y_t)
    assert acc_fused > max(acc_base, acc_zs) + 0.03


@pytest.mark.parametrize("fusion", ["weighted", "stack"])
def test_late_modes_take_a_frame_level_head(fusion):
    zs, frames, y = frames_task(n=120)
    clf = LateFusionClassifier(FramesNoSide(), fusion=fusion, zs_weight=0.5, cv=3).fit(as_array(zs, frames), y)
    proba = clf.predict_proba(as_array(zs, frames))
    assert proba.shape == (120, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.fm_normalizer_ is None  # frames are left to the head


def test_frame_blocks_are_refused_where_they_cannot_work():
    zs, frames, y = frames_task()
    X = as_array(zs, frames)
    with pytest.raises(ValueError, match="frame-level FM block.*LogisticRegression cannot read"):
        LateFusionClassifier().fit(X, y)
    with pytest.raises(ValueError, match="takes side features"):
        LateFusionClassifier(FramesNoSide(), zs_weight=1.0).fit(X, y)
    clf = LateFusionClassifier(MeanFramesHead(), zs_labels=LABELS).fit(X, y)
    with pytest.raises(ValueError, match="no frame-level FM block, but the classifier was fitted with one"):
        clf.predict(zs)
    two = np.concatenate([X, X[:, -1:]], axis=1)
    with pytest.raises(ValueError, match="2 columns of frame-level features"):
        LateFusionClassifier(MeanFramesHead()).fit(two, y)
    extra = np.concatenate([X[:, :4], np.ones((len(y), 1)), X[:, 4:]], axis=1)
    with pytest.raises(ValueError, match="1 other column"):
        LateFusionClassifier(MeanFramesHead(), zs_labels=LABELS).fit(extra, y)


def test_a_side_head_on_a_pooled_block_gets_the_scores_as_side_features_not_as_columns():
    zs, frames, y = frames_task()
    pooled = np.vstack([f.astype(np.float64).mean(axis=0) for f in frames])
    X = np.hstack([zs, pooled])
    clf = LateFusionClassifier(SideOnlyHead(), zs_weight=2.0, zs_labels=LABELS).fit(X, y)
    assert clf.estimator_.seen_side_.shape == (len(y), 4)
    scaled = (pooled - pooled.mean(axis=0)) / pooled.std(axis=0)
    head = SideOnlyHead().fit(scaled, y, side=clf.estimator_.seen_side_)
    np.testing.assert_allclose(clf.predict_proba(X), head.predict_proba(scaled, side=clf.estimator_.seen_side_))


def test_the_frames_alone_in_a_data_frame_are_the_baseline():
    pd = pytest.importorskip("pandas")
    zs, frames, y = frames_task()
    alone = pd.DataFrame({"fm_frames": list(frames)})
    clf = LateFusionClassifier(MeanFramesHead(), zs_columns=[]).fit(alone, y)
    assert clf.n_features_in_ == 1 and list(clf.feature_names_in_) == ["fm_frames"]
    np.testing.assert_array_equal(clf.predict_proba(alone), MeanFramesHead().fit(frames, y).predict_proba(frames))
