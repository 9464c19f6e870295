"""``CLAPZeroShotTransformer``: zero-shot emotion scores from CLAP-family models."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.utils._param_validation import Hidden, Options, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import prompts as P
from ._defaults import DEFAULT_CLAP_MODEL
from ._estimator import AudioTransformer, store_namespace
from ._numeric import log_softmax
from ._params import NumberNotBool, fill_doc
from .audio import PAD_MODES, repeat, window, window_digest
from .extraction import encode_clips, encode_texts

OUTPUTS = ("logit", "proba", "log_proba")
LONG_AUDIO = ("center", "start", "mean")
DEFAULT_TEMPLATES = ("this person is feeling {}.",)
#: Variable-length models: a batch holds segments at most this many times as long as its shortest.
MAX_PADDING = 1.25
#: MS-CLAP versions of a checkpoint file (``zsfuse.backends.ms_clap.MSCLAP_FILES``).
MSCLAP_VERSIONS = ("2022", "2023")


@fill_doc
class CLAPZeroShotTransformer(AudioTransformer):
    """Zero-shot per-class emotion scores from a CLAP-family audio-language model.

    Each class gets text prompts (``templates`` x ``label_words``, amplified by
    ``text_repeats``); each clip is resampled to the model's rate, tiled
    ``audio_repeats`` times, fitted to the model's window, and embedded; the
    score of a class is the model's temperature times the cosine similarity of
    the clip to the class's prompts, pooled by ``ensemble``. Output: one column
    per class in sorted label order, named ``zs_<label>``.

    Nothing is learned from audio: ``fit`` embeds the prompts (and checks ``y``).
    Every clip and prompt is encoded once per process (and once across
    processes with ``cache_dir``), whatever the grid point or the fold.

    Parameters
    ----------
    model : str, default="msclap-2023"
        An audio-language model of any registered family
        (:func:`zsfuse.list_backends`): a released model's name
        (``"msclap-2023"``, ``"msclap-2022"`` -- needs ``zsfuse[msclap]`` --,
        ``"laion/clap-htsat-unfused"``, ``"yfyeung/CLSP"``, ``"KeiKinn/paraclap"``),
        a hub id or local folder (recognised by its ``config.json``), a
        checkpoint file (recognised by its keys: MS-CLAP, LAION-CLAP/ReCLAP
        training checkpoints, ParaCLAP), or ``"family:model"`` to force a
        family (``"reclap:/models/reclap.pt"``).
    labels : sequence, optional
        The emotion classes. Default: the keys of ``label_words``, else the
        classes of ``y`` in ``fit``.
    label_words : mapping, optional
        Class -> word or sequence of words put into the templates (e.g.
        ``{"hap": ("happy", "joyful")}``). Default: each class's own name.
    templates : sequence of str, default=("this person is feeling {}.",)
        Prompt templates, each with one ``{}``.
    ensemble : {"embedding", "logit", "proba"}, default="embedding"
        How a class's prompts are pooled: the re-normalised mean of their
        normalised text embeddings (the CLIP recipe); the mean of their logits;
        or, per template, a softmax over classes, then the mean probability.
    audio_repeats : int, default=1
        Audio prompt amplification: the clip is tiled this many times before
        windowing.
    text_repeats : int, default=1
        Text prompt amplification.
    text_repeat_unit : {"prompt", "label"}, default="prompt"
        Repeat the whole filled prompt (joined by a space) or the class word
        inside the template.
    pad_mode : {"model", "repeat", "repeatpad", "zero"}, default="model"
        Filling of a clip shorter than the window: the model's own behaviour
        (MS-CLAP: loop to fill, ``"repeat"``; LAION-CLAP: whole copies then
        zeros, ``"repeatpad"``; variable-length models such as CLSP and
        ParaCLAP: none, the clip as it is), or one of those, or zeros (for a
        variable-length model, filled up to its longest input).
    long_audio : {"center", "start", "mean"}, default="center"
        A clip longer than the window (for a variable-length model, than its
        longest input, ``backend_options["max_seconds"]``): keep its middle or
        its start, or average the (normalised) embeddings of consecutive windows.
    output : {"logit", "proba", "log_proba"}, default="logit"
        Scores, softmax probabilities or log-probabilities.
    %(sampling_rate)s
    %(device)s
    %(dtype)s
    %(batch_size)s
    %(cache_dir)s
    %(progress)s
    %(revision)s
    version : {"2022", "2023"}, optional
        MS-CLAP version of a checkpoint file; the same as
        ``backend_options={"version": ...}``.
    text_model : str, optional
        MS-CLAP only: folder or hub id of the text tower (default: the one the
        version's config names); the same as ``backend_options={"text_model": ...}``.
    %(trust_remote_code)s
    backend_options : dict, optional
        Options of the model's family, e.g. ``{"max_seconds": 20}`` for CLSP
        or ``{"tokenizer": "roberta-base"}`` for a LAION-CLAP training
        checkpoint; :func:`zsfuse.list_backends` lists each family's. Unknown
        keys are refused.

    Attributes
    ----------
    classes_ : ndarray
        The classes, sorted: the order of the output columns.
    prompts_ : list of list of str
        ``prompts_[c]``: the exact strings embedded for class ``c``.
    prototypes_ : ndarray
        Normalised text embeddings: (n_classes, dim) for ``ensemble="embedding"``,
        else per prompt.
    logit_scale_ : float
        The model's temperature (exponentiated).
    backend_fingerprint_ : str
        Identifies the weights used in ``fit``.
    sampling_rate_ : int
        The model's rate.
    window_samples_ : int
        The model's window, in samples.
    pad_mode_ : str
        The resolved padding (``"none"``: a variable-length model's clip as it is).
    backend_family_ : str
        The model's family (:func:`zsfuse.list_backends`).

    Examples
    --------
    >>> from zsfuse import CLAPZeroShotTransformer
    >>> zs = CLAPZeroShotTransformer(model="laion/clap-htsat-unfused",
    ...                              labels=("angry", "happy", "neutral", "sad"),
    ...                              templates=("this person is feeling {}.",),
    ...                              audio_repeats=2, output="proba")
    >>> scores = zs.fit_transform(["a.wav", "b.wav"])  # doctest: +SKIP
    """

    _parameter_constraints: ClassVar[dict] = {
        **AudioTransformer._parameter_constraints,
        "labels": [None, str, "array-like"],
        "label_words": [None, Mapping],
        "templates": [str, "array-like"],
        "ensemble": [StrOptions(set(P.ENSEMBLES))],
        "audio_repeats": [NumberNotBool(Integral, 1, None, closed="left")],
        "text_repeats": [NumberNotBool(Integral, 1, None, closed="left")],
        "text_repeat_unit": [StrOptions(set(P.TEXT_REPEAT_UNITS))],
        "pad_mode": [StrOptions({"model", *PAD_MODES})],
        "long_audio": [StrOptions(set(LONG_AUDIO))],
        "output": [StrOptions(set(OUTPUTS))],
        # an int year works too (undocumented): the backend reads str(version)
        "version": [None, StrOptions(set(MSCLAP_VERSIONS)), Hidden(Options(Integral, set(map(int, MSCLAP_VERSIONS))))],
        "text_model": [None, str, os.PathLike],
        "backend_options": [None, dict],
    }

    def __init__(
        self,
        model=DEFAULT_CLAP_MODEL,
        labels=None,
        label_words=None,
        templates=DEFAULT_TEMPLATES,
        ensemble="embedding",
        audio_repeats=1,
        text_repeats=1,
        text_repeat_unit="prompt",
        pad_mode="model",
        long_audio="center",
        output="logit",
        sampling_rate=None,
        device="auto",
        dtype="auto",
        batch_size="auto",
        cache_dir=None,
        progress=False,
        revision=None,
        version=None,
        text_model=None,
        trust_remote_code=False,
        backend_options=None,
    ):
        self.model = model
        self.labels = labels
        self.label_words = label_words
        self.templates = templates
        self.ensemble = ensemble
        self.audio_repeats = audio_repeats
        self.text_repeats = text_repeats
        self.text_repeat_unit = text_repeat_unit
        self.pad_mode = pad_mode
        self.long_audio = long_audio
        self.output = output
        self.sampling_rate = sampling_rate
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.progress = progress
        self.revision = revision
        self.version = version
        self.text_model = text_model
        self.trust_remote_code = trust_remote_code
        self.backend_options = backend_options

    def __setstate__(self, state):
        # files saved before backend_options existed: no options; before backend_family_: the old two
        state.setdefault("backend_options", None)
        if "backend_fingerprint_" in state and "backend_family_" not in state:
            state["backend_family_"] = "msclap" if state["backend_fingerprint_"].startswith("msclap") else "hf-clap"
        super().__setstate__(state)

    # -- validation: the rules that link parameters (each value alone is checked by its constraint) ----------
    def _templates(self):
        """The templates, checked: a string is one template; at least one; each with one ``{}``."""
        templates = (self.templates,) if isinstance(self.templates, str) else tuple(self.templates)
        if not templates:
            raise ValueError("templates must hold at least one template.")
        return [P.check_template(t) for t in templates]

    def _resolve_classes(self, y):
        if self.labels is not None:
            labels = [self.labels] if isinstance(self.labels, str) else list(self.labels)
        elif self.label_words is not None:
            labels = list(self.label_words)
        elif y is not None:
            labels = list(np.unique(np.asarray(y)))
        else:
            raise ValueError("the classes are unknown: pass labels=(...), label_words={...}, or y to fit.")
        if len(set(labels)) != len(labels):
            raise ValueError(f"labels must be distinct, got {labels}.")
        blank = [c for c in labels if isinstance(c, str) and not c.strip()]
        if blank:
            raise ValueError(
                f"labels must not be empty or blank strings, got {labels}: a blank class word makes a prompt "
                "without a class (e.g. 'this person is feeling .')."
            )
        if len(labels) < 2:
            raise ValueError(f"zero-shot classification needs at least 2 classes, got {labels}.")
        try:
            classes = np.array(sorted(labels))
        except TypeError as exc:
            raise ValueError(f"labels must be mutually sortable (all strings or all numbers): {labels}") from exc
        if y is not None:
            seen = np.unique(np.asarray(y))
            if len(seen) < 2:
                raise ValueError(
                    f"y holds {len(seen)} class(es) {seen.tolist()}: a classifier fitted on the zero-shot "
                    "scores needs at least 2. To score clips zero-shot alone, call fit(X) without y."
                )
            unknown = sorted({str(v) for v in seen} - {str(c) for c in classes})
            if unknown:
                raise ValueError(
                    f"y holds labels that are not among the classes {list(map(str, classes))}: {unknown}. "
                    "Add them to labels (with words) or remove those clips."
                )
        return classes

    # -- the model -----------------------------------------------------------------------------------------------
    def _backend(self):
        from .backends import load_clap_backend

        device, dtype = self._device_and_dtype()
        return load_clap_backend(
            self.model,
            version=self.version,
            revision=self.revision,
            text_model=self.text_model,
            device=device,
            dtype=dtype,
            trust_remote_code=self.trust_remote_code,
            backend_options=self.backend_options,
        )

    def _check_backend_options(self):
        """The options against the family's, when the family is known without reading any file."""
        from .backends import check_backend_options

        check_backend_options(self.model, self.backend_options, version=self.version, text_model=self.text_model)

    def _text_namespace(self, backend):
        return store_namespace("clap-text", backend, tokens=backend.max_text_tokens)

    def _audio_namespace(self, backend):
        return store_namespace(
            "clap-audio",
            backend,
            rate=backend.sampling_rate,
            window=backend.window_samples,
            repeats=self.audio_repeats,
            pad=self.pad_mode_,
            long=self.long_audio,
        )

    def _window_namespace(self, backend):
        """Audio vectors of a fixed-window model keyed by the window(s) it saw (:func:`window_digest`)."""
        return store_namespace("clap-window", backend, rate=backend.sampling_rate, window=backend.window_samples)

    @staticmethod
    def _pool(stacks, embedded):
        """One vector per clip from its windows' rows: the row, or the mean of the L2-normalised rows."""
        out, start = [], 0
        for stack in stacks:
            rows = embedded[start : start + len(stack)]
            start += len(stack)
            out.append(rows[0] if len(rows) == 1 else P.normalize_rows(rows).mean(0).astype(np.float32))
        return out

    # -- fit / transform ------------------------------------------------------------------------------------------
    def check_settings(self, X=None, y=None):
        """Run every check of ``fit`` that loads no model, and open the embedding store.

        Parameters, ``X`` and ``y`` (when given) and the prompts they make
        (distinct per class, templates with one ``{}``); ``zsfuse evaluate``
        calls it on every grid point before any clip is encoded.

        Parameters
        ----------
        X : sequence of clips, optional
            Checked for structure only (arrays need ``sampling_rate``).
        y : array-like, optional
            Labels, one per clip of ``X``.

        Raises
        ------
        ValueError
            For a parameter outside its constraint, classes or prompts that
            cannot be scored, or ``X``/``y`` that do not fit together.
        CacheError
            For a ``cache_dir`` whose store cannot be used.
        """
        self._validate(X, y)
        self._store()

    def _validate(self, X=None, y=None):
        """Every check of ``fit`` that loads no model: parameters, ``X``, ``y`` and the prompts.

        ``fit`` runs it first, so that a mistake fails at once instead of after
        a model has loaded (and, in a pipeline, after other steps have encoded
        every clip); ``zsfuse evaluate`` runs it on every grid point before
        any extraction.

        Returns
        -------
        classes : ndarray
            The sorted classes.
        prompts : list of list of str
            The exact strings to embed, per class.
        n_templates : int
            Number of templates.
        """
        self._check_params()
        self._check_backend_options()
        templates = self._templates()
        self._check_input(X, y)
        classes = self._resolve_classes(y)
        words = P.resolve_label_words(list(classes), self.label_words)
        prompts = P.build_prompts(classes, words, templates, self.text_repeats, self.text_repeat_unit)
        P.check_distinct_prompts(classes, prompts)
        return classes, prompts, len(templates)

    def fit(self, X=None, y=None):
        """Embed the prompts of every class (nothing is learned from the audio).

        Parameters
        ----------
        X : sequence of clips, optional
            Not encoded: zero-shot scores need no training audio. When given,
            its structure is checked (arrays need ``sampling_rate``) before any
            model loads.
        y : array-like, optional
            Labels, one per clip of ``X``; every one must be among the classes,
            and there must be at least two distinct ones (a classifier is fitted
            on these scores). Checked before any model loads.

        Returns
        -------
        self
            The fitted transformer.
        """
        classes, prompts, n_templates = self._validate(X, y)
        store = self._store()  # an unusable disk cache fails before the model loads
        backend = self._backend()
        flat = [p for ps in prompts for p in ps]
        vectors = encode_texts(
            flat,
            store,
            self._text_namespace(backend),
            backend.embed_text,
            batch_size=max(self._batch_size(backend), 32),
        )
        per_class, start = [], 0
        for ps in prompts:
            per_class.append(np.stack(vectors[start : start + len(ps)]))
            start += len(ps)
        P.check_distinct_embeddings(classes, prompts, per_class)
        self.classes_ = classes
        self.prompts_ = prompts
        self.n_templates_ = n_templates
        self.prototypes_ = P.prototypes(per_class, self.ensemble)
        self.logit_scale_ = backend.logit_scale()
        self.backend_fingerprint_ = backend.fingerprint
        self.sampling_rate_ = backend.sampling_rate
        self.window_samples_ = backend.window_samples
        self.pad_mode_ = backend.native_pad_mode if self.pad_mode == "model" else self.pad_mode
        self.backend_family_ = backend.family_name
        return self

    def embed_audio(self, X):
        """Audio embeddings of the clips, as the store keeps them (not normalised).

        Parameters
        ----------
        X : sequence of clips
            Paths or waveforms (see :class:`zsfuse.audio.Clips`).

        Returns
        -------
        ndarray of float32, shape (n_clips, dim)
        """
        check_is_fitted(self)
        clips = self._clips(X)  # before any model loads
        if len(clips) == 0:
            return np.zeros((0, np.asarray(self.prototypes_[0]).shape[-1]), dtype=np.float32)
        _, vectors = self._embed_clips(clips)
        return np.stack(vectors).astype(np.float32, copy=False)

    def _embed_clips(self, clips, *, skip=None, report=None):
        """The store namespace of the clips' audio vectors and the vectors (see :func:`encode_clips`).

        :func:`zsfuse.parallel.extract` calls it on workers with ``skip`` (the
        digests its driver holds) and ``report``.
        """
        store = self._store()
        backend = self._backend()
        if backend.fingerprint != self.backend_fingerprint_:
            warnings.warn(
                f"the model loaded now ({backend.fingerprint}) is not the one used in fit "
                f"({self.backend_fingerprint_}); refit to embed the prompts with it.",
                UserWarning,
                stacklevel=2,
            )
        long_audio = "windows" if self.long_audio == "mean" else self.long_audio
        window_namespace = self._window_namespace(backend)

        def encode(batch):
            stacks = [
                window(
                    repeat(c.at_rate(backend.sampling_rate), self.audio_repeats),
                    backend.window_samples,
                    self.pad_mode_,
                    long_audio,
                )
                for c in batch
            ]
            if backend.variable_length:  # each segment as it is, batched by length (least padding)
                return self._pool(
                    stacks, _embed_by_length(backend, [r for st in stacks for r in st], self._batch_size(backend))
                )
            # fixed windows: what the encoder sees decides. Tilings that give the same window(s) -- a
            # short clip tiled k times and looped to fill the window is the clip looped -- are encoded once
            keys = [window_digest(stack) for stack in stacks]
            known = dict(zip(keys, store.get_many(window_namespace, keys)))
            todo = {k: stack for k, stack in zip(keys, stacks) if known[k] is None}
            if todo:
                flat = np.concatenate(list(todo.values()))
                size = self._batch_size(backend)
                embedded = np.concatenate([backend.embed_audio(flat[s : s + size]) for s in range(0, len(flat), size)])
                fresh = dict(zip(todo, self._pool(list(todo.values()), embedded)))
                store.put_many(window_namespace, fresh)
                known.update(fresh)
            return [known[k] for k in keys]

        namespace = self._audio_namespace(backend)
        vectors = encode_clips(
            clips,
            store,
            namespace,
            encode,
            batch_size=self._decode_group(backend),
            progress=self.progress,
            desc="zero-shot audio",
            sort_by_length=backend.variable_length,  # clips of similar length share a batch
            skip=skip,
            report=report,
        )
        return namespace, vectors

    def transform(self, X):
        """Score every clip against every class.

        Parameters
        ----------
        X : sequence of clips
            Paths, waveforms at ``sampling_rate``, a pandas Series, a 2-D array
            of equal-length clips (see :class:`zsfuse.audio.Clips`).

        Returns
        -------
        ndarray of float64, shape (n_clips, n_classes)
            Scores per class, columns in ``classes_`` order.
        """
        audio = self.embed_audio(X)
        if audio.shape[0] == 0:
            return np.zeros((0, len(self.classes_)), dtype=np.float64)
        logits = P.class_logits(audio, self.prototypes_, self.logit_scale_, self.ensemble, self.n_templates_)
        if self.output == "logit":
            return logits
        log_p = log_softmax(logits)
        return np.exp(log_p) if self.output == "proba" else log_p

    def _feature_names(self):
        return [f"zs_{c}" for c in self.classes_]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        return tags


def _embed_by_length(backend, segments, batch_size):
    """Embed variable-length segments in batches of similar length; rows in the input order.

    A variable-length adapter pads a batch to its longest segment, so the
    segments are sorted by length and a batch closes when it is full or when
    the next segment is more than :data:`MAX_PADDING` times its shortest:
    padding (wasted compute, which on a CPU costs more than batching saves)
    stays under 25 %. The result does not depend on the grouping (the
    adapters mask padding).
    """
    order = sorted(range(len(segments)), key=lambda i: segments[i].shape[0])
    batches, current = [], []
    for i in order:
        if current and (
            len(current) == batch_size or segments[i].shape[0] > MAX_PADDING * segments[current[0]].shape[0]
        ):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    out = None
    for chosen in batches:
        rows = backend.embed_audio([segments[i] for i in chosen])
        if out is None:
            out = np.zeros((len(segments), rows.shape[1]), dtype=np.float32)
        out[chosen] = rows
    return out
