"""The torch heads: ``EmoBoxHead`` (EmoBox's frame-level recipe) and ``SuperbHead`` (SUPERB's layer weighting).

Each head is checked against computations written here: an independent torch implementation of
EmoBox's recipe, numpy forwards from the fitted weights, and synthetic tasks that only the right
architecture can learn. Tiny widths and few epochs keep the file fast on a CPU.
"""

import inspect
import re
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks

import zsfuse
from zsfuse.fusion import EmoBoxHead, SuperbHead

torch = pytest.importorskip("torch")
F = torch.nn.functional

REPO = Path(__file__).resolve().parents[1]
_STRICT = {"xfail_strict": True} if "xfail_strict" in inspect.signature(parametrize_with_checks).parameters else {}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tensors of a few dozen values gain nothing from threads, and lose much on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_clips(n, width=6, lengths=(3, 10), seed=0, labels=("a", "b", "c")):
    """Random clips of random lengths whose class shifts one feature; labels cycle through ``labels``."""
    rng = np.random.default_rng(seed)
    y = np.array([labels[i % len(labels)] for i in range(n)])
    X = []
    for label in y:
        clip = rng.normal(size=(int(rng.integers(*lengths)), width))
        clip[:, labels.index(label) % width] += 1.5
        X.append(clip)
    return X, y


# -- 1. EmoBoxHead is EmoBox's recipe: an independent torch implementation -----------------------------------


def reference_emobox(X, y, X_test, side=None, side_test=None, *, hidden, epochs, lr, batch, fraction, seed):
    """EmoBox's recipe written out clip by clip (no padding, no mask), with the documented draws.

    One generator: per class (sorted) a randperm for the validation split, then W1, b1, W2, b2
    from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), then one randperm of the training part per epoch.
    Returns the kept epoch's test probabilities, the validation UAs and the kept epoch.
    """
    classes, y_index = np.unique(y, return_inverse=True)
    g = torch.Generator().manual_seed(seed)
    train, valid = [], []
    if fraction > 0:
        for c in range(len(classes)):
            members = np.flatnonzero(y_index == c)
            n_valid = min(len(members) - 1, int(np.floor(fraction * len(members) + 0.5)))
            perm = torch.randperm(len(members), generator=g).numpy()
            valid += list(members[perm[:n_valid]])
            train += list(members[perm[n_valid:]])
    else:
        train = list(range(len(y)))
    train, valid = np.sort(train), np.sort(valid)
    width, k = X[0].shape[1], 0 if side is None else side.shape[1]

    def uniform(shape, fan_in):
        bound = 1.0 / np.sqrt(fan_in)
        return torch.empty(shape).uniform_(-bound, bound, generator=g)

    W1, b1 = uniform((hidden, width), width), uniform((hidden,), width)
    W2, b2 = uniform((len(classes), hidden + k), hidden + k), uniform((len(classes),), hidden + k)
    params = [p.requires_grad_() for p in (W1, b1, W2, b2)]
    optimizer = torch.optim.Adam(params, lr=lr)

    def logits(clips, rows, extra):
        pooled = []
        for i in rows:
            x = torch.tensor(np.asarray(clips[i], dtype=np.float32))
            x = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-5)  # LayerNorm over the whole (T, D)
            pooled.append(torch.relu(x @ W1.T + b1).mean(dim=0))
        pooled = torch.stack(pooled)
        if extra is not None:
            pooled = torch.cat([pooled, torch.tensor(extra[rows], dtype=torch.float32)], dim=1)
        return pooled @ W2.T + b2

    scores, best, best_score, best_epoch = [], None, -1.0, epochs
    target = torch.tensor(y_index)
    for epoch in range(epochs):
        order = train[torch.randperm(len(train), generator=g).numpy()]
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            loss = F.cross_entropy(logits(X, rows, side), target[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if len(valid):
            with torch.no_grad():
                predicted = logits(X, valid, side).argmax(1).numpy()
            scores.append(balanced_accuracy_score(y_index[valid], predicted))
            if scores[-1] > best_score:
                best_score, best_epoch = scores[-1], epoch + 1
                best = [p.detach().clone() for p in params]
    if best is not None:
        with torch.no_grad():
            for p, kept in zip(params, best):
                p.copy_(kept)
    with torch.no_grad():
        proba = torch.softmax(logits(X_test, np.arange(len(X_test)), side_test).double(), dim=1).numpy()
    return proba, np.array(scores), best_epoch


@pytest.mark.parametrize("with_side", [False, True], ids=["frames", "frames+side"])
def test_emobox_head_is_an_independent_implementation_of_the_recipe(with_side):
    X, y = make_clips(36, seed=1)
    X_test, _ = make_clips(10, seed=2)
    rng = np.random.default_rng(3)
    side, side_test = (rng.normal(size=(36, 2)), rng.normal(size=(10, 2))) if with_side else (None, None)
    settings = dict(hidden=8, epochs=6, lr=0.01, batch=8, fraction=0.25, seed=7)
    expected, scores, best_epoch = reference_emobox(X, y, X_test, side, side_test, **settings)

    head = EmoBoxHead(hidden_size=8, epochs=6, learning_rate=0.01, batch_size=8, validation_fraction=0.25)
    head.set_params(random_state=7, device="cpu").fit(X, y, side=side)
    np.testing.assert_allclose(head.predict_proba(X_test, side=side_test), expected, atol=1e-6)
    np.testing.assert_allclose(head.validation_scores_, scores)
    assert head.best_epoch_ == best_epoch
    assert head.weights_["post_net.weight"].shape == (3, 8 + (2 if with_side else 0))


def test_the_last_epoch_without_a_validation_part_is_the_reference_too():
    X, y = make_clips(24, seed=4)
    expected, scores, best_epoch = reference_emobox(X, y, X, hidden=8, epochs=4, lr=0.01, batch=8, fraction=0, seed=0)
    head = EmoBoxHead(hidden_size=8, epochs=4, learning_rate=0.01, batch_size=8, validation_fraction=0, device="cpu")
    head.fit(X, y)
    np.testing.assert_allclose(head.predict_proba(X), expected, atol=1e-6)
    assert head.validation_scores_ is None and head.best_epoch_ == 4 == best_epoch and len(scores) == 0
    assert head.loss_curve_.shape == (4,)


# -- 2. ReLU before pooling: what mean-pooled features cannot see -------------------------------------------


def alternating_task(n, seed):
    """Class "moving": feature 0 alternates +3/-3 frame by frame (mean 0); class "still": it is noise like the rest."""
    rng = np.random.default_rng(seed)
    y = np.array(["moving", "still"] * (n // 2))
    X = []
    for label in y:
        frames = 2 * int(rng.integers(5, 10))  # even: the alternation averages to exactly 0
        clip = rng.normal(size=(frames, 8))
        if label == "moving":
            clip[:, 0] = 3.0 * (-1.0) ** np.arange(frames)
        X.append(clip)
    return X, y


def test_relu_before_pooling_learns_what_mean_pooling_erases():
    X, y = alternating_task(160, seed=0)
    X_test, y_test = alternating_task(100, seed=1)
    head = EmoBoxHead(hidden_size=16, epochs=25, learning_rate=0.01, device="cpu").fit(X, y)
    head_accuracy = np.mean(head.predict(X_test) == y_test)

    def pooled(clips):
        return np.stack([c.mean(axis=0) for c in clips])

    linear = LogisticRegression(max_iter=1000).fit(pooled(X), y)
    linear_accuracy = np.mean(linear.predict(pooled(X_test)) == y_test)
    assert head_accuracy >= 0.9, head_accuracy
    assert linear_accuracy <= 0.65, linear_accuracy


# -- 3. padding never changes a clip's output; the forward, written in numpy -----------------------------------


def numpy_forward(head, clip, side=None, per_frame_norm=False):
    """The fitted head's logits for one clip, from ``weights_``, in float64 numpy."""
    w = head.weights_
    x = np.asarray(clip, dtype=np.float64)
    axis = 1 if per_frame_norm else None  # the wrong normalisation, to show the test can tell
    x = (x - x.mean(axis=axis, keepdims=True)) / np.sqrt(x.var(axis=axis, keepdims=True) + 1e-5)
    pooled = np.maximum(x @ w["pre_net.weight"].T + w["pre_net.bias"], 0).mean(axis=0)
    if side is not None:
        pooled = np.concatenate([pooled, side])
    return pooled @ w["post_net.weight"].T + w["post_net.bias"]


@pytest.fixture(scope="module")
def fitted_head():
    X, y = make_clips(30, seed=5)
    return EmoBoxHead(hidden_size=8, epochs=3, learning_rate=0.01, device="cpu").fit(X, y), X, y


def test_a_clip_gives_the_same_output_whatever_its_batch(fitted_head):
    head, X, _ = fitted_head
    clip = X[0]
    alone = head.predict_proba([clip])
    long_neighbour = np.random.default_rng(0).normal(size=(200, clip.shape[1]))
    crowded = head.predict_proba([long_neighbour, clip, *X[1:5]])[1]
    np.testing.assert_allclose(crowded, alone[0], atol=1e-6)
    one_by_one = clone(head).set_params(batch_size=1)
    for attribute in ("classes_", "n_features_in_", "n_side_features_", "weights_"):
        setattr(one_by_one, attribute, getattr(head, attribute))
    np.testing.assert_allclose(one_by_one.predict_proba(X), head.predict_proba(X), atol=1e-6)


def test_the_forward_is_whole_clip_layernorm_relu_mean_linear(fitted_head):
    head, X, _ = fitted_head
    expected = np.stack([numpy_forward(head, c) for c in X])
    np.testing.assert_allclose(head.decision_function(X), expected, atol=1e-5)
    wrong = np.stack([numpy_forward(head, c, per_frame_norm=True) for c in X])
    assert np.abs(head.decision_function(X) - wrong).max() > 1e-3


# -- 4. determinism ---------------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_head_and_the_global_random_state_is_left_alone():
    X, y = make_clips(24, seed=6)
    make = lambda seed: EmoBoxHead(hidden_size=8, epochs=3, learning_rate=0.01, random_state=seed, device="cpu")  # noqa: E731
    torch_state, numpy_state = torch.random.get_rng_state(), np.random.get_state()
    first, again, other = make(3).fit(X, y), make(3).fit(X, y), make(4).fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])
    for name in first.weights_:
        assert np.array_equal(first.weights_[name], again.weights_[name])
        assert not np.array_equal(first.weights_[name], other.weights_[name])
    assert np.array_equal(first.predict_proba(X), again.predict_proba(X))
    torch.manual_seed(123)  # the global seed does not matter either
    assert np.array_equal(make(3).fit(X, y).predict_proba(X), first.predict_proba(X))


# -- 5. input forms, float16, bad clips ------------------------------------------------------------------------


def test_every_input_form_gives_the_same_head():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(7)
    cube = rng.normal(size=(18, 5, 4))  # equal lengths, so that the 3-D form exists
    y = np.array(["x", "y"] * 9)
    cube[y == "x", :, 0] += 1.0
    clips = [c.copy() for c in cube]
    column = np.empty((18, 1), dtype=object)
    column[:, 0] = clips
    forms = {
        "list": clips,
        "tuple": tuple(clips),
        "1-D object": column[:, 0],
        "(n, 1) object": column,
        "DataFrame": pd.DataFrame({"fm_frames": list(clips)}),
        "3-D": cube,
    }
    make = lambda: EmoBoxHead(hidden_size=4, epochs=2, learning_rate=0.01, device="cpu")  # noqa: E731
    reference = make().fit(clips, y)
    expected = reference.predict_proba(clips)
    for name, X in forms.items():
        np.testing.assert_array_equal(make().fit(X, y).predict_proba(clips), expected, err_msg=name)
        np.testing.assert_array_equal(reference.predict_proba(X), expected, err_msg=name)
    assert reference.n_features_in_ == 4


def test_float16_clips_are_cast_per_batch():
    X, y = make_clips(20, seed=8)
    half = [c.astype(np.float16) for c in X]
    as_float32 = [c.astype(np.float32) for c in half]
    for c in half:
        c.flags.writeable = False  # as FMEmbeddingTransformer(pooling="none") returns them
    make = lambda: EmoBoxHead(hidden_size=4, epochs=2, learning_rate=0.01, device="cpu")  # noqa: E731
    expected = make().fit(as_float32, y).predict_proba(half)
    np.testing.assert_array_equal(make().fit(half, y).predict_proba(half), expected)


def test_bad_clips_are_refused_by_index(fitted_head):
    pd = pytest.importorskip("pandas")
    X, y = make_clips(6, seed=9)
    head = EmoBoxHead(epochs=1, device="cpu")
    bad = {
        "clip 2 of X has shape \\(6,\\)": [*X[:2], X[2][0], *X[3:]],
        "clip 3 of X has 0 frames": [*X[:3], np.zeros((0, 6)), *X[4:]],
        "clip 4 of X has 5 features per frame, but clip 0 has 6": [*X[:4], X[4][:, :5], X[5]],
        "clip 1 of X holds NaN": [X[0], np.where(np.eye(*X[1].shape, dtype=bool), np.nan, X[1]), *X[2:]],
        "clip 5 of X has dtype": [*X[:5], np.array([["a"] * 6])],
    }
    for message, clips in bad.items():
        with pytest.raises(ValueError, match=message):
            head.fit(clips, y)
    with pytest.raises(ValueError, match="DataFrame with 2 columns"):
        head.fit(pd.DataFrame({"a": list(X), "b": list(X)}), y)
    with pytest.raises(ValueError, match=f"numeric array of shape \\({len(X[0])}, 6\\).*pass \\[clip\\]"):
        head.fit(X[0], y)
    with pytest.raises(ValueError, match="no clips"):
        head.fit([], [])
    with pytest.raises(ValueError, match="X holds 6 samples but y holds 5 labels"):
        head.fit(X, y[:5])
    fitted, X_fit, _ = fitted_head
    with pytest.raises(ValueError, match="clip 1 of X has 5 features per frame, but the head was fitted on 6"):
        fitted.predict([X_fit[0], X_fit[1][:, :5]])


# -- 6. side features ------------------------------------------------------------------------------------------


def test_side_widths_are_checked(fitted_head):
    head, X, y = fitted_head
    rng = np.random.default_rng(10)
    with pytest.raises(ValueError, match="fitted without side features"):
        head.predict(X, side=rng.normal(size=(len(X), 2)))
    with_side = clone(head).fit(X, y, side=rng.normal(size=(len(X), 3)))
    assert with_side.n_side_features_ == 3
    with pytest.raises(ValueError, match="fitted with 3 side features"):
        with_side.predict(X, side=rng.normal(size=(len(X), 2)))
    with pytest.raises(ValueError, match="fitted with 3 side features"):
        with_side.predict(X)
    with pytest.raises(ValueError, match="side has 4 rows but X holds 30 clips"):
        with_side.predict(X, side=rng.normal(size=(4, 3)))
    # no columns is no side: the very same head
    empty = clone(head).fit(X, y, side=np.empty((len(X), 0)))
    np.testing.assert_array_equal(empty.predict_proba(X), head.predict_proba(X, side=np.empty((len(X), 0))))


def side_only_task(n, seed):
    """Frames of pure noise; the label is in ``side`` only."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = [rng.normal(size=(int(rng.integers(3, 8)), 4)) for _ in y]
    side = 2.0 * np.eye(3)[y] + 0.3 * rng.normal(size=(n, 3))
    return X, y, side


def test_a_label_carried_by_side_alone_is_learned():
    X, y, side = side_only_task(150, seed=11)
    X_test, y_test, side_test = side_only_task(90, seed=12)
    head = EmoBoxHead(hidden_size=8, epochs=30, learning_rate=0.02, device="cpu").fit(X, y, side=side)
    assert np.mean(head.predict(X_test, side=side_test) == y_test) >= 0.95
    assert np.mean(head.predict(X_test, side=np.zeros_like(side_test)) == y_test) < 0.6  # the frames do not know
    pooled = np.stack([c.mean(axis=0) for c in X])
    pooled_test = np.stack([c.mean(axis=0) for c in X_test])
    superb = SuperbHead(n_layers=2, epochs=30, learning_rate=0.02, device="cpu").fit(pooled, y, side=side)
    assert np.mean(superb.predict(pooled_test, side=side_test) == y_test) >= 0.95
    assert superb.coef_.shape == (3, 2 + 3)
    assert EmoBoxHead.accepts_side is True and SuperbHead.accepts_side is True


# -- 7. SuperbHead: the layer weighting commutes with mean pooling, and finds the layer that knows --------------------


def layered_task(n, n_layers=4, width=5, frames=6, informative=2, seed=0):
    """Frame-level features of ``n_layers`` layers; only layer ``informative`` carries the class."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    hidden = rng.normal(size=(n, n_layers, frames, width))
    hidden[:, informative, :, :3] += 1.5 * np.eye(3)[y][:, None, :]
    return hidden, y


def test_weighting_mean_pooled_blocks_is_weighting_frames_then_pooling():
    frames, y = layered_task(150, seed=13)
    pooled = frames.mean(axis=2)  # (n, L, D): FMEmbeddingTransformer(layers="all", layer_reduce="concat")
    head = SuperbHead(n_layers=4, epochs=20, learning_rate=0.02, device="cpu").fit(pooled.reshape(150, -1), y)
    w = head.layer_weights_
    assert w.shape == (4,) and np.all(w > 0) and np.isclose(w.sum(), 1.0)
    weighted_frames = np.einsum("nltd,l->ntd", frames, w)  # SUPERB: weight every frame, then pool
    logits = weighted_frames.mean(axis=1) @ head.coef_.T + head.intercept_
    np.testing.assert_allclose(head.decision_function(pooled.reshape(150, -1)), logits, atol=1e-10)
    np.testing.assert_allclose(head.decision_function(pooled), logits, atol=1e-10)  # the (n, L, D) form
    assert int(np.argmax(w)) == 2 and w[2] > 1.5 * np.sort(w)[-2]
    frames_test, y_test = layered_task(90, seed=14)
    assert np.mean(head.predict(frames_test.mean(axis=2)) == y_test) >= 0.9


def test_superb_head_shapes_and_layer_counts_are_checked():
    X, y = layered_task(30, seed=15)
    X = X.mean(axis=2)
    with pytest.raises(ValueError, match="set n_layers"):
        SuperbHead(device="cpu").fit(X.reshape(30, -1), y)
    with pytest.raises(ValueError, match="20 columns, which is not a multiple of n_layers=3"):
        SuperbHead(n_layers=3, device="cpu").fit(X.reshape(30, -1), y)
    with pytest.raises(ValueError, match="4 layers of width 5, but n_layers=2"):
        SuperbHead(n_layers=2, device="cpu").fit(X, y)
    head = SuperbHead(epochs=2, device="cpu").fit(X, y)
    assert (head.n_layers_, head.layer_dim_, head.n_features_in_) == (4, 5, 20)
    with pytest.raises(ValueError, match="fitted on 4 layers of width 5"):
        head.predict(X[:, :3])
    with pytest.raises(ValueError, match="X has 15 features, but SuperbHead is expecting 20"):
        head.predict(X[:, :3].reshape(30, -1))


def test_superb_head_reaches_the_accuracy_of_the_estimator_checks_with_a_larger_learning_rate():
    """Why ``poor_score`` is declared: the defaults take small steps; the model itself is fine."""
    X, y = make_blobs(n_samples=300, random_state=0)
    head = SuperbHead(n_layers=1, learning_rate=0.01, device="cpu").fit(X, y)
    assert np.mean(head.predict(X) == y) > 0.83
    assert SuperbHead().__sklearn_tags__().classifier_tags.poor_score


# -- 8. scikit-learn API, persistence --------------------------------------------------------------------------------


# EmoBoxHead takes a sequence of clips (tags: no 2-D array), for which scikit-learn has no checks
@parametrize_with_checks([SuperbHead(n_layers=1, epochs=10, device="cpu")], **_STRICT)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("head", [EmoBoxHead(device="cpu"), SuperbHead(device="cpu")], ids=lambda h: type(h).__name__)
def test_param_validation(head):
    check_param_validation(type(head).__name__, head)
    with pytest.raises(ValueError, match="'validation_fraction' parameter"):
        clone(head).set_params(validation_fraction=1.0).check_settings()


def test_clone_and_get_params():
    head = EmoBoxHead(hidden_size=64, epochs=5, device="cpu", random_state=3)
    params = head.get_params()
    assert params == dict(
        hidden_size=64,
        epochs=5,
        learning_rate=1e-4,
        batch_size=32,
        validation_fraction=0.2,
        device="cpu",
        random_state=3,
        progress=False,
    )
    assert clone(head).get_params() == params
    assert SuperbHead(n_layers=25).get_params()["n_layers"] == 25


@pytest.mark.filterwarnings("ignore:.*holds types that zsfuse.load refuses:UserWarning")
def test_skops_round_trip_predicts_the_same(tmp_path):
    X, y = make_clips(24, seed=16)
    side = np.random.default_rng(17).normal(size=(24, 2))
    pooled = np.stack([c.mean(axis=0) for c in X])
    cases = [
        (EmoBoxHead(hidden_size=8, epochs=2, device="cpu").fit(X, y, side=side), X),
        (SuperbHead(n_layers=2, epochs=2, device="cpu").fit(pooled, y, side=side), pooled),
    ]
    for head, data in cases:
        path = tmp_path / f"{type(head).__name__}.skops"
        zsfuse.save(head, path)
        name = f"zsfuse.fusion.{type(head).__name__}"
        assert sio.get_untrusted_types(file=str(path)) == [name]  # numpy and builtins only: no torch object
        loaded = zsfuse.load(path, trusted=[name])
        assert type(loaded) is type(head)
        np.testing.assert_array_equal(loaded.predict_proba(data, side=side), head.predict_proba(data, side=side))
        np.testing.assert_array_equal(loaded.validation_scores_, head.validation_scores_)
    assert not any("torch" in type(v).__module__ for v in vars(cases[0][0]).values())


# -- 9. epoch selection ------------------------------------------------------------------------------------------


def test_the_best_validation_epoch_is_kept():
    X, y = make_clips(45, seed=18)
    make = lambda epochs: EmoBoxHead(  # noqa: E731
        hidden_size=8, epochs=epochs, learning_rate=0.05, batch_size=8, validation_fraction=0.3, device="cpu"
    )
    head = make(12).fit(X, y)
    scores = head.validation_scores_
    assert scores.shape == (12,)
    assert head.best_epoch_ == int(np.argmax(scores)) + 1  # argmax: the earliest of equal scores
    assert scores[head.best_epoch_ - 1] > scores[: head.best_epoch_ - 1].max(initial=-1)
    assert head.best_epoch_ < 12, "the case must keep an epoch before the last to test anything"
    # a run stopped at the kept epoch follows the same draws: its weights are the kept ones
    short = make(head.best_epoch_).fit(X, y)
    for name in head.weights_:
        np.testing.assert_array_equal(head.weights_[name], short.weights_[name])


def test_ties_keep_the_earliest_epoch():
    X, y = make_clips(30, seed=19)
    # a learning rate far too small to change any prediction: every epoch scores the same
    head = EmoBoxHead(hidden_size=4, epochs=4, learning_rate=1e-9, device="cpu").fit(X, y)
    assert np.all(head.validation_scores_ == head.validation_scores_[0])
    assert head.best_epoch_ == 1


def test_a_validation_part_too_small_to_exist_keeps_the_last_epoch():
    X, y = make_clips(4, seed=20, labels=("a", "b"))  # 2 clips per class: round(0.2 * 2) = 0 held out
    with pytest.warns(UserWarning, match="leaves no validation sample"):
        head = EmoBoxHead(hidden_size=4, epochs=3, device="cpu").fit(X, y)
    assert head.validation_scores_ is None and head.best_epoch_ == 3


# -- docs --------------------------------------------------------------------------------------------------------------


def test_every_parameter_is_documented_with_its_default_in_docs_heads():
    page = (REPO / "docs" / "heads.md").read_text(encoding="utf-8")
    for cls in (EmoBoxHead, SuperbHead):
        for name, default in cls().get_params().items():
            shown = f'`"{default}"`' if isinstance(default, str) else f"`{default!r}`"
            row = re.search(rf"^\| `{name}` \| ([^|]*)\|", page, re.MULTILINE)
            assert row is not None and shown in row[1], f"docs/heads.md: no row for {name} with default {shown}"
            assert f"{name} : " in cls.__doc__, name
    assert "%(training_parameters)s" not in EmoBoxHead.__doc__ + SuperbHead.__doc__
