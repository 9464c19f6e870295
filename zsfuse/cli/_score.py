"""``zsfuse zero-shot`` and ``zsfuse predict``: scores and labels for a few files."""

from __future__ import annotations

import json
import os

import numpy as np

from ._args import cache_dir_of, parse_assignments, split_list


def format_scores(files, classes, proba, predicted=None):
    """A plain-text table: one row per file, its label and one column per class."""
    classes = [str(c) for c in classes]
    names = [os.path.basename(f) for f in files]
    width = max(len("file"), *(len(n) for n in names))
    label_width = max(len("label"), *(len(c) for c in classes))
    cols = [max(6, len(c)) for c in classes]
    head = f"{'file':<{width}}  {'label':<{label_width}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(classes, cols))
    lines = [head, "-" * len(head)]
    for k, name in enumerate(names):
        label = classes[int(np.argmax(proba[k]))] if predicted is None else str(predicted[k])
        cells = "  ".join(f"{p:>{w}.3f}" for p, w in zip(proba[k], cols))
        lines.append(f"{name:<{width}}  {label:<{label_width}}  {cells}")
    return "\n".join(lines)


def _as_json(files, classes, proba, predicted):
    return json.dumps(
        [
            {"file": f, "label": str(label), "proba": {str(c): float(p) for c, p in zip(classes, row)}}
            for f, label, row in zip(files, predicted, proba)
        ],
        indent=2,
    )


def run_zero_shot(args):
    """Per-class zero-shot probabilities of each file."""
    from ..prompts import emotion_words
    from ..zeroshot import CLAPZeroShotTransformer

    labels = split_list(args.labels)
    if len(set(labels)) != len(labels):
        raise ValueError(f"--labels repeats a class: {labels}.")
    params = {"templates": tuple(args.template)} if args.template else {}
    backend_options = parse_assignments(args.backend_options, "--backend-option") or None
    if args.corpus:
        import warnings

        from ..backends import not_zero_shot
        from ..exceptions import TrainingDataWarning

        caveat = not_zero_shot(args.model, [args.corpus])
        if caveat:
            warnings.warn(caveat, TrainingDataWarning, stacklevel=2)
    zs = CLAPZeroShotTransformer(
        model=args.model,
        backend_options=backend_options,
        trust_remote_code=args.trust_remote_code,
        labels=tuple(labels),
        label_words=emotion_words(labels),
        output="proba",
        audio_repeats=args.audio_repeats,
        text_repeats=args.text_repeats,
        device=args.device,
        dtype=args.dtype,
        batch_size=args.batch_size,
        cache_dir=cache_dir_of(args),
        **params,
    )
    proba = zs.fit().transform(args.files)
    predicted = zs.classes_[np.argmax(proba, axis=1)]
    if args.json:
        print(_as_json(args.files, zs.classes_, proba, predicted))
    else:
        print(format_scores(args.files, zs.classes_, proba, predicted))
    return 0


def run_predict(args):
    """Labels and class probabilities from a pipeline saved with :func:`zsfuse.save`.

    With ``--show``, print what the file holds (:func:`zsfuse.inspect`) and
    load nothing. Nothing is printed before every clip is scored, so an error
    leaves no partial output.
    """
    from ..persistence import inspect, load

    if getattr(args, "show", False):
        info = inspect(args.model)
        print(json.dumps(info.to_dict(), indent=2) if args.json else str(info))
        return 0
    if not args.files:
        raise ValueError(
            f"no audio files given: zsfuse predict {args.model} FILE [FILE ...]; or add --show to see "
            "what the model file holds."
        )
    model = load(args.model, trust_remote_code=bool(getattr(args, "trust_remote_code", False)))
    if args.device is not None:
        model.set_params(
            **{k: args.device for k in model.get_params(deep=True) if k == "device" or k.endswith("__device")}
        )
    if not hasattr(model, "predict_proba"):
        raise ValueError(f"{args.model!r} holds a {type(model).__name__}, which has no predict_proba.")
    if not _reads_audio(model):
        raise ValueError(
            f"{args.model!r} holds a {type(model).__name__} without an audio step (CLAPZeroShotTransformer or "
            "FMEmbeddingTransformer): it takes feature tables, not audio files. Save the whole pipeline "
            "(zsfuse.make_zsfuse_pipeline(...).fit(...)) to predict from audio."
        )
    proba = model.predict_proba(args.files)
    classes = model.classes_
    predicted = classes[np.argmax(proba, axis=1)]
    if args.json:
        print(_as_json(args.files, classes, proba, predicted))
    else:
        print(format_scores(args.files, classes, proba, predicted))
    return 0


def _reads_audio(model):
    """Whether a loaded estimator starts with a zsfuse audio transformer (directly or in its steps)."""
    from .._estimator import AudioTransformer

    if isinstance(model, AudioTransformer):
        return True
    if hasattr(model, "steps"):  # a Pipeline: its first step reads X
        return _reads_audio(model.steps[0][1])
    if hasattr(model, "transformer_list"):  # a FeatureUnion: every part reads X
        return any(_reads_audio(t) for _, t in model.transformer_list if t not in ("drop", "passthrough"))
    if hasattr(model, "best_estimator_"):
        return _reads_audio(model.best_estimator_)
    return False
