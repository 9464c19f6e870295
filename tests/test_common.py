"""scikit-learn's estimator checks for every zsfuse estimator.

``LateFusionClassifier`` takes plain numeric tables and passes every check, in
every fusion mode and with every normalisation, with no expected failure.

The two audio transformers take a *sequence of clips*, and their tags say so
(``two_d_array=False``), which makes scikit-learn skip every check. To run the
checks anyway they are given here through a view that only changes the tags to
"2-D array": a 2-D array is a valid ``X`` for them (one equal-length clip per
row), so the checks' tables become short clips at ``sampling_rate`` -- the
estimator code that runs is the real one. The checks that assume the columns
of ``X`` are features fail, for the reasons listed in :data:`AUDIO_EXPECTED`;
xfail is strict, so a check that starts to pass must leave the list.

``check_param_validation`` (not among the checks scikit-learn yields) runs for the
three estimators: every parameter has one declared constraint, and a value outside
it fails ``fit`` with scikit-learn's ``InvalidParameterError``.
"""

import inspect

import pytest
from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks

from zsfuse.fm import FMEmbeddingTransformer
from zsfuse.fusion import FUSION_MODES, LateFusionClassifier
from zsfuse.models import cached_models, clear_model_cache
from zsfuse.zeroshot import CLAPZeroShotTransformer

_STRICT = {"xfail_strict": True} if "xfail_strict" in inspect.signature(parametrize_with_checks).parameters else {}

# -- LateFusionClassifier: every check, no expected failure -------------------------------------------

# the defaults, and normalize="standard": with per-sample LayerNorm the classifier declares
# poor_score (it flattens the checks' 2-column blobs), so the accuracy checks run on "standard"
FUSION_ESTIMATORS = [
    LateFusionClassifier(fusion=fusion, normalize=normalize)
    for fusion in FUSION_MODES
    for normalize in ("layernorm", "standard")
]


# the checks' 2- and 3-column tables leave no room for a zero-shot block: a FusionWarning each time
@pytest.mark.filterwarnings("ignore::zsfuse.fusion.FusionWarning")
@parametrize_with_checks(FUSION_ESTIMATORS, **_STRICT)
def test_late_fusion_classifier(estimator, check):
    check(estimator)


# -- the audio transformers: every check, a documented list of expected failures ------------------------

#: Checks that fail for both audio transformers, and why. All come from X being a
#: sequence of clips (rows of a 2-D array are clips; columns are samples, not features).
AUDIO_EXPECTED = {
    "check_n_features_in": "X is a sequence of clips: there is no feature count, so no n_features_in_.",
    "check_n_features_in_after_fitting": "X is a sequence of clips: no n_features_in_ to check against.",
    "check_transformer_general": "a different number of columns is a different clip length, which "
    "is valid input, not an error.",
    "check_transformer_general(readonly_memmap=True)": "as check_transformer_general.",
    "check_complex_data": "complex samples are refused with a ClipError naming the clip, not with "
    "scikit-learn's 'Complex data not supported'.",
    "check_dtype_object": "a 2-D object array is not a sequence of clips (a 1-D object array of clips is).",
    "check_estimators_empty_data_messages": "fit learns nothing from audio (X may even be None), so an "
    "empty X is not an error in fit.",
    "check_estimator_sparse_tag": "a sparse matrix is not a sequence of clips; it is refused, but "
    "not with the message the check looks for.",
    "check_transformer_data_not_an_array": "an object with only __array__ is not a sequence of clips "
    "(lists, tuples, 1-D object arrays, Series, 2-D arrays are).",
    "check_fit2d_predict1d": "a 1-D array is refused with 'X must be a sequence of clips: pass [wave] "
    "for one clip', not scikit-learn's 'Reshape your data'.",
}

#: Both transformers check the structure of X in fit (before any model loads).
AUDIO_EXPECTED.update(
    {
        "check_estimator_sparse_array": "a sparse array is not a sequence of clips; refused as a clip of "
        "dtype object, not with a message that says 'sparse'.",
        "check_estimator_sparse_matrix": "as check_estimator_sparse_array.",
    }
)

#: Only the zero-shot transformer, whose fit reads ``y`` (its classes).
CLAP_EXPECTED = {
    **AUDIO_EXPECTED,
    "check_fit2d_1sample": "with labels=None the classes come from y, and a one-class y is refused "
    "with 'zero-shot classification needs at least 2 classes'.",
}

FM_EXPECTED = AUDIO_EXPECTED


def _tabular_view(name, cls):
    """``cls`` with tags that let scikit-learn feed it 2-D arrays (rows = clips)."""

    def __sklearn_tags__(self):
        tags = cls.__sklearn_tags__(self)
        tags.input_tags.two_d_array = True
        tags.input_tags.one_d_array = False  # else the checks pass X[:, 0]: one clip, not clips
        tags.input_tags.string = False
        return tags

    # a module-level name of its own, so that the pickling checks can find the class
    return type(name, (cls,), {"__sklearn_tags__": __sklearn_tags__, "__module__": __name__})


ClapView = _tabular_view("ClapView", CLAPZeroShotTransformer)
FMView = _tabular_view("FMView", FMEmbeddingTransformer)


def _expected(estimator):
    return CLAP_EXPECTED if isinstance(estimator, CLAPZeroShotTransformer) else FM_EXPECTED


# ``model`` is set to the tiny test model in the test (fixtures do not exist at collection).
# CLAP: the checks' rows are clips at 16 kHz, looped to fill the 10 s window; FM: at 40 Hz, so
# that even a 10-sample row is 0.25 s (4000 samples) once resampled to the model's 16 kHz.
@parametrize_with_checks(
    [
        ClapView(model="tiny-clap", sampling_rate=16000, device="cpu"),
        FMView(model="tiny-wavlm", sampling_rate=40, device="cpu"),
    ],
    expected_failed_checks=_expected,
    **_STRICT,
)
def test_audio_transformers(estimator, check, tiny_clap_dir, tiny_wavlm_dir):
    estimator.set_params(model=tiny_clap_dir if isinstance(estimator, ClapView) else tiny_wavlm_dir)
    check(estimator)


def test_the_tabular_view_changes_only_the_tags():
    for view, cls in ((ClapView, CLAPZeroShotTransformer), (FMView, FMEmbeddingTransformer)):
        assert [name for name in vars(view) if not name.startswith("_")] == []
        assert view.__init__ is cls.__init__ and view.fit is cls.fit and view.transform is cls.transform
        assert view.__mro__[1] is cls
        assert cls().__sklearn_tags__().input_tags.two_d_array is False  # the real tags: not a table


# -- parameters: one declared constraint each, checked in fit -------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda clap, fm: CLAPZeroShotTransformer(
            model=clap, labels=("angry", "sad"), sampling_rate=16000, device="cpu"
        ),
        lambda clap, fm: FMEmbeddingTransformer(model=fm, sampling_rate=16000, device="cpu"),
        lambda clap, fm: LateFusionClassifier(),
    ],
    ids=["CLAPZeroShotTransformer", "FMEmbeddingTransformer", "LateFusionClassifier"],
)
def test_param_validation(make, tiny_clap_dir, tiny_wavlm_dir):
    estimator = make(tiny_clap_dir, tiny_wavlm_dir)
    clear_model_cache()
    check_param_validation(type(estimator).__name__, estimator)
    assert cached_models() == []  # every bad value failed before any model loaded


def test_both_transformers_record_the_fingerprint_of_their_model(tiny_clap_dir, tiny_wavlm_dir):
    clear_model_cache()
    fm = FMEmbeddingTransformer(model=tiny_wavlm_dir, device="cpu").fit()
    assert cached_models() == []  # the FM transformer's fit reads configs, not weights
    assert fm.backend_fingerprint_ == fm._encoder().fingerprint
    zs = CLAPZeroShotTransformer(model=tiny_clap_dir, labels=("angry", "sad"), device="cpu").fit()
    assert zs.backend_fingerprint_ == zs._backend().fingerprint


# -- check_settings: every check of fit that loads no model, public for zsfuse evaluate's preflight ----------


def test_check_settings_refuses_bad_values_without_loading_a_model(tmp_path):
    from zsfuse import CacheError
    from zsfuse.models import cached_models, clear_model_cache

    clear_model_cache()
    with pytest.raises(ValueError, match="'audio_repeats' parameter"):
        CLAPZeroShotTransformer(model="nowhere", labels=("a", "b"), audio_repeats=0).check_settings()
    with pytest.raises(ValueError, match="identical prompts"):
        CLAPZeroShotTransformer(model="nowhere", label_words={"a": "calm", "b": "calm"}).check_settings()
    with pytest.raises(ValueError, match="'pooling' parameter"):
        FMEmbeddingTransformer(model="nowhere", pooling="max").check_settings()
    with pytest.raises(ValueError, match="X holds 2 clips but y holds 1"):
        FMEmbeddingTransformer(model="nowhere", sampling_rate=16000).check_settings([[0.1] * 400] * 2, ["a"])
    with pytest.raises(ValueError, match="needs 0 <= zs_weight <= 1"):
        LateFusionClassifier(fusion="weighted", zs_weight=2.0).check_settings()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(CacheError):
        CLAPZeroShotTransformer(model="nowhere", labels=("a", "b"), cache_dir=str(blocker)).check_settings()
    assert cached_models() == []
    # and good settings pass without a model
    CLAPZeroShotTransformer(model="nowhere", labels=("a", "b")).check_settings()
    LateFusionClassifier(fusion="stack").check_settings()


def test_plain_parameter_names_are_shared_only_where_meant():
    """A plain name in make_zsfuse_pipeline(...) or --set must reach one step, or every audio step alike.

    Only the per-model names (model, revision, trust_remote_code) are in both audio steps and need
    a qualified name; nothing the classifier takes is also an audio step's parameter.
    """
    from zsfuse._estimator import RUNTIME_PARAMS

    zs = set(CLAPZeroShotTransformer().get_params())
    fm = set(FMEmbeddingTransformer().get_params())
    clf = set(LateFusionClassifier().get_params())
    assert (zs & fm) - set(RUNTIME_PARAMS) == {"model", "revision", "trust_remote_code"}
    assert not (zs | fm) & clf
