"""``make_zsfuse_pipeline``: the ZS-Fuse pipeline in one call."""

from __future__ import annotations

from ._defaults import DEFAULT_CLAP_MODEL, DEFAULT_FM_MODEL
from ._estimator import RUNTIME_PARAMS

__all__ = ["STEP_PREFIXES", "make_zsfuse_pipeline", "route_params"]

#: Short step names accepted as prefixes of ``step__param`` keywords, and the
#: path of each step inside the pipeline.
STEP_PREFIXES = {"zs": "features__zs", "fm": "features__fm", "clf": "clf", "features": "features"}


def make_zsfuse_pipeline(clap=DEFAULT_CLAP_MODEL, fm=DEFAULT_FM_MODEL, labels=None, **params):
    """Build ``Pipeline([("features", FeatureUnion([("zs", ...), ("fm", ...)])), ("clf", ...)])``.

    The returned pipeline is the ZS-Fuse pipeline: zero-shot scores from
    a CLAP-family model (:class:`~zsfuse.CLAPZeroShotTransformer`, step
    ``features__zs``) next to a speech foundation model embedding
    (:class:`~zsfuse.FMEmbeddingTransformer`, step ``features__fm``), fused by
    :class:`~zsfuse.LateFusionClassifier` (step ``clf``). Its parameter
    names are the ones a ``GridSearchCV`` grid uses, e.g.
    ``"features__zs__audio_repeats"`` and ``"clf__zs_weight"``. Nothing is
    loaded here: models load on first ``fit`` / ``transform``.

    The FeatureUnion has pandas output (``set_output(transform="pandas")``,
    also set on the two transformers): its columns are named
    ``zs__zs_<label>`` and ``fm__fm_<i>`` (with ``pooling="none"``, one
    object column ``fm__fm_frames`` of per-clip frames, for a frame-level
    head such as :class:`~zsfuse.EmoBoxHead`), so the classifier matches the
    zero-shot columns to its classes by label -- also when a training set or
    a cross-validation fold lacks one of the labels.

    Parameters
    ----------
    clap : str or CLAPZeroShotTransformer, default="msclap-2023"
        The zero-shot model (``model=`` of a new
        :class:`~zsfuse.CLAPZeroShotTransformer`), or a transformer to use as
        it is (not copied).
    fm : str or FMEmbeddingTransformer, default="microsoft/wavlm-large"
        The foundation model (``model=`` of a new
        :class:`~zsfuse.FMEmbeddingTransformer`), or a transformer to use as
        it is (not copied).
    labels : sequence, optional
        The emotion classes, given to the zero-shot transformer (``labels=``).
        None: the zero-shot transformer takes the classes of ``y`` in ``fit``.
    **params
        Parameters of the steps, routed as follows:

        * ``step__param``: the parameter of one step, with the step named by
          its path (``features__zs__text_repeats``, ``clf__fusion``) or by
          its short name: ``zs__...``, ``fm__...``, ``clf__...``.
        * a plain name shared by both audio transformers -- the runtime
          parameters ``sampling_rate``, ``device``, ``dtype``,
          ``batch_size``, ``cache_dir``, ``progress`` -- goes to both (both
          read the same ``X`` and should share one embedding store). Give
          ``sampling_rate`` here when ``X`` holds arrays: it is then stated
          once for every step (arrays without a stated rate are refused).
        * any other plain name goes to the one step that has it
          (``audio_repeats`` and ``templates`` to the zero-shot transformer,
          ``layers``, ``pooling`` and ``normalize_audio`` -- the waveform
          normalisation -- to the FM one, ``fusion``, ``zs_weight`` and
          ``normalize`` -- the normalisation of the fused blocks -- to the
          classifier). A name that two steps have (such as ``model`` or
          ``revision``) must be qualified; a ``ValueError`` lists the choices.

    Returns
    -------
    sklearn.pipeline.Pipeline
        The unfitted pipeline.

    Raises
    ------
    ValueError
        For an unknown or ambiguous parameter name.

    Examples
    --------
    >>> from zsfuse import make_zsfuse_pipeline
    >>> pipe = make_zsfuse_pipeline(
    ...     clap="msclap-2023", fm="microsoft/wavlm-large",
    ...     labels=("angry", "happy", "neutral", "sad"),
    ...     templates=("this person is feeling {}.", "a person speaking in a {} voice."),
    ...     audio_repeats=2, layers="all", pooling="mean",
    ...     fusion="concat", zs_weight=1.0, cache_dir="~/.cache/zsfuse")
    >>> [name for name, _ in pipe.steps]
    ['features', 'clf']
    >>> pipe.get_params()["features__zs__audio_repeats"]
    2
    """
    from sklearn.base import BaseEstimator
    from sklearn.pipeline import FeatureUnion, Pipeline

    from .fm import FMEmbeddingTransformer
    from .fusion import LateFusionClassifier
    from .zeroshot import CLAPZeroShotTransformer

    zs = clap if isinstance(clap, BaseEstimator) else CLAPZeroShotTransformer(model=clap)
    fm_step = fm if isinstance(fm, BaseEstimator) else FMEmbeddingTransformer(model=fm)
    # named columns (zs__zs_<label>, fm__fm_<i>): the classifier matches the zero-shot
    # block to its classes by label, also in a training set or CV fold that lacks a class
    features = FeatureUnion([("zs", zs), ("fm", fm_step)]).set_output(transform="pandas")
    pipe = Pipeline([("features", features), ("clf", LateFusionClassifier())])
    routed = {} if labels is None else {"features__zs__labels": labels}
    routed.update(route_params(params, zs, fm_step, pipe.named_steps["clf"]))
    pipe.set_params(**routed)
    return pipe


def route_params(params, zs, fm, clf):
    """Map the keywords of :func:`make_zsfuse_pipeline` to the pipeline's parameter names.

    The routing rules are those of ``**params`` of :func:`make_zsfuse_pipeline`;
    :func:`zsfuse.evaluation.resolve_grid` spells grid names with it.

    Parameters
    ----------
    params : dict
        Keyword -> value: ``step__param`` (a step path or short name, see
        :data:`STEP_PREFIXES`), a runtime parameter both audio transformers
        take, or a plain name one step owns.
    zs, fm, clf : estimator
        The zero-shot transformer, the FM transformer and the classifier of the
        pipeline (their own parameter names decide where a plain name goes).

    Returns
    -------
    dict
        Pipeline parameter name (``features__zs__audio_repeats``, ``clf__zs_weight``,
        ...) -> value.

    Raises
    ------
    ValueError
        For an unknown step prefix, a name no step has, or a name several
        steps have (other than the runtime parameters).

    Examples
    --------
    >>> from zsfuse import CLAPZeroShotTransformer, FMEmbeddingTransformer, LateFusionClassifier
    >>> route_params({"zs_weight": 0.5, "fm__layers": "all"}, CLAPZeroShotTransformer(),
    ...              FMEmbeddingTransformer(), LateFusionClassifier())
    {'clf__zs_weight': 0.5, 'features__fm__layers': 'all'}
    """
    steps = {
        "features__zs": set(zs.get_params(deep=False)),
        "features__fm": set(fm.get_params(deep=False)),
        "clf": set(clf.get_params(deep=False)),
    }
    routed = {}
    for name, value in params.items():
        if "__" in name:
            head, rest = name.split("__", 1)
            if head not in STEP_PREFIXES:
                raise ValueError(f"Unknown step {head!r} in {name!r}: use one of {sorted(STEP_PREFIXES)} as a prefix.")
            routed[f"{STEP_PREFIXES[head]}__{rest}"] = value
            continue
        owners = [step for step, names in steps.items() if name in names]
        if name in RUNTIME_PARAMS:
            owners = [step for step in owners if step != "clf"]
        if not owners:
            known = sorted(set().union(*steps.values()))
            raise ValueError(
                f"No step of the ZS-Fuse pipeline has a parameter {name!r}. Known: {known}; or qualify "
                "it as zs__<param>, fm__<param> or clf__<param>."
            )
        if len(owners) > 1 and name not in RUNTIME_PARAMS:
            choices = [f"{step}__{name}" for step in owners]
            raise ValueError(f"{name!r} is a parameter of several steps: say which, e.g. {choices}.")
        for step in owners:
            routed[f"{step}__{name}"] = value
    return routed
