"""The containers (:class:`Dataset`, :class:`Fold`), :class:`DatasetError` and
the steps every loader shares: class mapping, file checks, folds, and the
speaker-independence check.

A loader parses its corpus into *records* (one dict per clip: ``path``,
``code`` -- the raw emotion code -- and ``speaker``, plus whatever its folds
need) and hands them to :func:`build_dataset` together with a function that
turns the kept records into folds.
"""

from __future__ import annotations

import json
import math
import os
import re
import textwrap
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..audio import Segment
from ..exceptions import DatasetError

__all__ = ["AUDIO_EXTENSIONS", "Dataset", "DatasetError", "Fold", "build_dataset", "clip_file", "clip_sort_key"]

#: File extensions (lower case) the loaders accept as audio.
AUDIO_EXTENSIONS = (".wav", ".flac")

#: How many offending paths an error message shows before "(and N more)".
SHOW = 5


def format_paths(paths, show=SHOW):
    """Quote the first ``show`` paths and count the rest: ``'a', 'b' (and 3 more)``."""
    paths = [str(p) for p in paths]
    text = ", ".join(repr(p) for p in paths[:show])
    if len(paths) > show:
        text += f" (and {len(paths) - show} more)"
    return text


def clip_file(clip):
    """The audio file of a clip: the path itself, or a :class:`~zsfuse.audio.Segment`'s file."""
    return clip.path if isinstance(clip, Segment) else clip


def clip_sort_key(clip):
    """Sort key of a clip (a path or a :class:`~zsfuse.audio.Segment`): by file, then segment start and end.

    A whole file sorts before the segments of the same file.
    """
    if isinstance(clip, Segment):
        return (clip.path, 1, clip.start, math.inf if clip.end is None else clip.end, clip.channel or 0)
    return (clip, 0, 0.0, 0.0, 0)


def _index_array(values, what):
    arr = np.asarray(values if values is not None else [], dtype=np.int64).reshape(-1)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{what} indices must be non-negative")
    arr = np.unique(arr)  # sorted, without repeats
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Fold:
    """One train/test split of a :class:`Dataset`, as indices into it.

    Parameters
    ----------
    name : str
        The fold's name, e.g. ``"fold_1"``, ``"Session1"``, ``"Test1"``.
    train, test : array-like of int
        Positions (into the dataset's ``paths``) of the training and test
        clips. Stored sorted, without repeats, as read-only int64 arrays.
    valid : array-like of int, optional
        Positions of a validation part, where the protocol has one (EmoBox
        valid files, MSP-Podcast's Development set); empty otherwise.

    Raises
    ------
    ValueError
        If a clip is in two parts.
    """

    name: str
    train: np.ndarray
    test: np.ndarray
    valid: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self):
        object.__setattr__(self, "name", str(self.name))
        for part in ("train", "test", "valid"):
            object.__setattr__(self, part, _index_array(getattr(self, part), f"fold {self.name!r} {part}"))
        for a, b in (("train", "test"), ("train", "valid"), ("valid", "test")):
            both = np.intersect1d(getattr(self, a), getattr(self, b))
            if both.size:
                raise ValueError(
                    f"fold {self.name!r}: {both.size} clip(s) are in both {a} and {b} (e.g. index {int(both[0])})"
                )

    def __repr__(self):
        return (
            f"Fold(name={self.name!r}, n_train={self.train.size}, n_test={self.test.size}, n_valid={self.valid.size})"
        )


@dataclass(frozen=True, eq=False)
class Dataset:
    """Clips, labels, speakers and the protocol's folds of one corpus.

    Nothing is decoded: ``paths`` name audio files that existed when the
    dataset was loaded (unless it was loaded with ``check_files=False``).
    Every item of ``paths`` is a clip that :mod:`zsfuse.audio` (and so every
    zsfuse estimator) accepts as an item of ``X``.

    Parameters
    ----------
    name : str
        Canonical dataset name (a key of :data:`zsfuse.datasets.DATASETS`).
    root : str
        What the dataset was loaded from (a folder, or a manifest file).
    protocol : str
        The protocol the folds follow, e.g. ``"emobox"``, ``"loso"``.
    paths : tuple of str or Segment
        The clips, sorted: absolute paths, or, for clips that are parts of a
        longer file (EmoBox's PAVOQUE records), :class:`zsfuse.audio.Segment`
        s (file, start, end, channel), sorted by file then start.
    labels : numpy.ndarray
        Class of each clip (object array of str), after the class map.
    speakers : numpy.ndarray
        Speaker id of each clip (object array of str).
    folds : tuple of Fold
        The protocol's folds. Every fold is speaker-independent (checked)
        unless :attr:`speaker_independent` is False (see the loader).
    info : dict
        JSON-serialisable details: the class map used, clips excluded by it
        (per raw code), per-class counts, ``speaker_independent`` and
        ``speaker_check``, notes.
    """

    name: str
    root: str
    protocol: str
    paths: tuple
    labels: np.ndarray
    speakers: np.ndarray
    folds: tuple
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        paths = tuple(p if isinstance(p, Segment) else str(p) for p in self.paths)
        labels = np.array([str(v) for v in self.labels], dtype=object)
        speakers = np.array([str(v) for v in self.speakers], dtype=object)
        if not (len(paths) == labels.shape[0] == speakers.shape[0]):
            raise ValueError(
                f"paths, labels and speakers differ in length: {len(paths)}, {labels.shape[0]}, {speakers.shape[0]}"
            )
        labels.setflags(write=False)
        speakers.setflags(write=False)
        folds = tuple(self.folds)
        for fold in folds:
            if not isinstance(fold, Fold):
                raise TypeError(f"folds must hold Fold objects, got {type(fold).__name__}")
            for part in (fold.train, fold.test, fold.valid):
                if part.size and part[-1] >= len(paths):
                    raise ValueError(
                        f"fold {fold.name!r} refers to clip {int(part[-1])}, but the dataset has {len(paths)} clips"
                    )
        object.__setattr__(self, "paths", paths)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "speakers", speakers)
        object.__setattr__(self, "folds", folds)
        object.__setattr__(self, "root", str(self.root))
        object.__setattr__(self, "info", dict(self.info))

    @property
    def speaker_independent(self):
        """bool: True when no fold has a speaker in both its training (or valid) and its test part (checked).

        False when that is not so, or not known: ``info["speaker_check"]`` says
        which (``"overlap"``: a loader allowed folds with speakers on both
        sides, e.g. EmoBox's CREMA-D split with ``allow_speaker_overlap=True``;
        ``"unchecked"``: the data has no speaker ids). Results on such folds
        are speaker-dependent, or may be.
        """
        return bool(self.info.get("speaker_independent", True))

    @property
    def classes(self):
        """tuple of str: the classes present, sorted."""
        return tuple(sorted({str(v) for v in self.labels}))

    def __len__(self):
        return len(self.paths)

    def __repr__(self):
        return (
            f"Dataset(name={self.name!r}, protocol={self.protocol!r}, n_clips={len(self)}, "
            f"n_speakers={len({str(v) for v in self.speakers})}, classes={self.classes}, "
            f"folds={len(self.folds)})"
        )

    def describe(self) -> str:
        """A one-paragraph summary: clips, speakers, classes with counts, folds, exclusions.

        Returns
        -------
        str
        """
        names, counts = np.unique(self.labels.astype(str), return_counts=True) if len(self) else ([], [])
        per_class = ", ".join(f"{n} {c}" for n, c in zip(names, counts))
        text = (
            f"{self.info.get('title', self.name)} ({self.name}, protocol {self.protocol!r}, "
            f"from {self.root!r}): {len(self)} clips, {len(set(self.speakers.tolist()))} speakers, "
            f"{len(names)} classes ({per_class})."
        )
        shown = [
            f"{f.name} (train {f.train.size}"
            + (f", valid {f.valid.size}" if f.valid.size else "")
            + f", test {f.test.size})"
            for f in self.folds[:6]
        ]
        if len(self.folds) > 6:
            shown.append(f"... {len(self.folds) - 6} more")
        text += f" {len(self.folds)} fold{'s' if len(self.folds) != 1 else ''}: {', '.join(shown)}."
        if not self.speaker_independent:
            if self.info.get("speaker_check") == "unchecked":
                text += " The folds are NOT known to be speaker-independent (no speaker ids to check)."
            else:
                text += " The folds are NOT speaker-independent (results are speaker-dependent)."
        for key, what in (("excluded", "Excluded by the class map"), ("dropped_by_classes", "Dropped by classes=")):
            counts = self.info.get(key) or {}
            if counts:
                listed = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                text += f" {what}: {sum(counts.values())} clips ({listed})."
        for note in self.info.get("notes", []):
            text += f" Note: {note}"
        return text

    def subset(self, indices):
        """The dataset restricted to some clips, with every fold restricted alike.

        Parameters
        ----------
        indices : array-like of int or bool
            Positions of the clips to keep (or a boolean mask of length ``len(self)``).

        Returns
        -------
        Dataset
            The kept clips in their original (sorted) order; each fold keeps
            its kept clips, renumbered. ``info["notes"]`` records the subset.
        """
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ValueError(f"a boolean mask must have length {len(self)}, got shape {idx.shape}")
            idx = np.flatnonzero(idx)
        idx = np.unique(idx.astype(np.int64).reshape(-1))
        if idx.size and (idx[0] < 0 or idx[-1] >= len(self)):
            raise IndexError(f"subset indices must lie in [0, {len(self)})")
        new_pos = np.full(len(self), -1, dtype=np.int64)
        new_pos[idx] = np.arange(idx.size)

        def remap(part):
            kept = new_pos[part]
            return kept[kept >= 0]

        folds = tuple(Fold(f.name, remap(f.train), remap(f.test), remap(f.valid)) for f in self.folds)
        info = json.loads(json.dumps(self.info))
        info.setdefault("notes", []).append(f"subset of {idx.size} of the {len(self)} clips")
        return Dataset(
            self.name,
            self.root,
            self.protocol,
            tuple(self.paths[i] for i in idx),
            self.labels[idx],
            self.speakers[idx],
            folds,
            info,
        )


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------

#: The end of the docstring of a loader that lists its clips from the disk (so
#: that every one exists): its last two options and what it returns. See
#: :func:`listed_from_disk`.
LISTED_LOADER_DOC = """\
classes : sequence of str, optional
    Keep only these classes (after the class map).
check_files : bool, default True
    Unused (the files are listed from the disk).

Returns
-------
Dataset"""


def listed_from_disk(returns=None):
    """Decorator: end a loader's docstring with :data:`LISTED_LOADER_DOC`.

    For the loaders that list their clips from the disk and take
    ``classes`` and ``check_files`` last: their docstrings stop after their
    own options, and the shared end is written once.

    Parameters
    ----------
    returns : str, optional
        A line about the returned :class:`Dataset` (e.g. what its speakers
        are), put under ``Dataset``.

    Returns
    -------
    callable
        The decorator; it returns the loader, its docstring completed (left
        alone when docstrings are stripped, ``python -OO``).
    """
    tail = LISTED_LOADER_DOC + ("" if returns is None else "\n    " + returns)

    def decorate(loader):
        doc = loader.__doc__
        if doc:
            indent = re.search(r"^([ \t]*)Parameters$", doc, re.MULTILINE).group(1)
            loader.__doc__ = f"{doc.rstrip()}\n{textwrap.indent(tail, indent)}\n{indent}"
        return loader

    return decorate


def check_root(root, title, layout):
    """Return ``root`` as an absolute path, or raise if it is not a folder."""
    if root is None:
        raise DatasetError(f"{title}: no root given; expected {layout}")
    path = os.path.abspath(os.fspath(root))
    if not os.path.isdir(path):
        what = "is a file, not a folder" if os.path.exists(path) else "does not exist"
        raise DatasetError(f"{title}: root {path!r} {what}; expected a folder with {layout}", [path])
    return path


def is_hidden(name):
    """Hidden files and folders (``.DS_Store``, macOS ``._x.wav`` forks) are never clips."""
    return name.startswith(".")


def is_audio(name):
    return not is_hidden(name) and os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS


def walk_audio(folder):
    """Every audio file under ``folder`` (recursively, hidden entries skipped), sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not is_hidden(d))
        found.extend(os.path.join(dirpath, f) for f in filenames if is_audio(f))
    return sorted(found)


#: Extensions of files the decoder (libsndfile) cannot read, which EmoBox lists for some corpora
#: (video, and audio in MP4 containers): a converted ``.wav`` / ``.flac`` twin beside one is read instead.
UNDECODABLE_EXTENSIONS = (".mp4", ".m4a", ".avi", ".webm", ".mkv", ".mov", ".aac", ".wma")


def resolve_audio(path):
    """The audio file to read for ``path``, or None if there is none.

    For ``.wav`` / ``.flac`` (and any other extension): ``path`` if it exists,
    else its twin with a ``.wav`` / ``.flac`` extension. For a format the
    decoder cannot read (:data:`UNDECODABLE_EXTENSIONS`: ``.mp4``, ``.avi``,
    ``.webm``, ``.m4a``, ...): its ``.wav`` or ``.flac`` twin (a converted
    copy beside it) first, else ``path`` itself.
    """
    stem, ext = os.path.splitext(path)
    twins = [stem + other for other in AUDIO_EXTENSIONS if other != ext.lower()]
    order = [*twins, path] if ext.lower() in UNDECODABLE_EXTENSIONS else [path, *twins]
    for candidate in order:
        if os.path.isfile(candidate):
            return candidate
    return None


def _slashes(path):
    """Paths written on Windows (``D:\\x\\y.wav``) compare with forward slashes."""
    return path.replace("\\", "/") if os.sep == "/" else path


def remap_path(path, prefix, base):
    """Rewrite a path written elsewhere; return the new path, or None if ``prefix`` does not apply.

    ``prefix`` is None (relative paths are joined to ``base``), a folder (relative
    paths are joined to it; absolute ones are kept), an ``(old, new)`` pair or a
    ``{old: new}`` dict (the longest ``old`` that starts the path, at a folder
    boundary, is replaced by its ``new``; a path that no ``old`` starts gives
    None). A relative result is joined to ``base``.
    """
    path = _slashes(str(path))
    if prefix is None:
        out = path
    elif isinstance(prefix, (str, os.PathLike)):
        out = path if os.path.isabs(path) else os.path.join(os.fspath(prefix), path)
    else:
        pairs = prefix.items() if isinstance(prefix, dict) else [tuple(prefix)]
        out, best = None, -1
        for old, new in pairs:
            old = _slashes(os.fspath(old))
            stem = old.rstrip("/")
            if old.startswith("/") and stem == "":
                matches = path.startswith("/")  # old is the file-system root
            else:
                matches = path == stem or path.startswith(stem + "/")
            if matches and len(stem) > best:
                best = len(stem)
                rest = path[len(stem) :].lstrip("/")
                new = os.fspath(new)
                out = os.path.join(new, rest) if rest else new
        if out is None:
            return None
    if not os.path.isabs(out):
        out = os.path.join(base, out)
    return os.path.normpath(out)


def check_prefix(prefix, title):
    """Validate the ``prefix`` option's type (see :func:`remap_path`)."""
    if prefix is None or isinstance(prefix, (str, os.PathLike)):
        return prefix
    if isinstance(prefix, dict):
        if prefix and all(
            isinstance(k, (str, os.PathLike)) and isinstance(v, (str, os.PathLike)) for k, v in prefix.items()
        ):
            return prefix
    elif (
        isinstance(prefix, (tuple, list))
        and len(prefix) == 2
        and all(isinstance(p, (str, os.PathLike)) for p in prefix)
    ):
        return tuple(prefix)
    raise DatasetError(
        f"{title}: prefix must be an (old, new) pair of paths, a {{old: new}} dict, or a "
        f"folder to resolve relative paths against; got {prefix!r}"
    )


def natural_key(text):
    """Sort key that orders ``spk2`` before ``spk10``."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(text)) if t != ""]


def group_fold_name(group):
    """Fold name of a held-out group: the group itself, ``speaker_<id>`` for numeric ids."""
    group = str(group)
    return f"speaker_{group}" if group.isdigit() else group


def check_n_folds(n_folds, title):
    if isinstance(n_folds, bool) or not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise DatasetError(f"{title}: n_folds must be an integer >= 2, got {n_folds!r}")
    return int(n_folds)


def normalize_classes(classes, title):
    """``classes=`` as a tuple of str (a comma-separated string is split), or None."""
    if classes is None:
        return None
    if isinstance(classes, str):
        classes = [c.strip() for c in classes.split(",") if c.strip()]
    try:
        classes = tuple(str(c) for c in classes)
    except TypeError:
        raise DatasetError(f"{title}: classes must be a sequence of class names, got {classes!r}") from None
    if not classes:
        raise DatasetError(f"{title}: classes is empty; pass the classes to keep, or None for all")
    return classes


def check_class_map(class_map, title):
    if class_map is None:
        return {}
    if not isinstance(class_map, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in class_map.items()
    ):
        raise DatasetError(
            f"{title}: class_map must be a dict of code or class name -> class name "
            f"(or None to exclude), got {class_map!r}"
        )
    return dict(class_map)


def kfold_by_group(groups, n_folds):
    """Assign sorted unique groups round-robin to ``n_folds`` folds: ``{group: fold number (1-based)}``."""
    ordered = sorted(set(groups), key=natural_key)
    return {g: i % n_folds + 1 for i, g in enumerate(ordered)}


def folds_from_test_groups(records, key, test_sets):
    """Folds that test on the records whose ``key`` is in a set, and train on the rest.

    Parameters
    ----------
    records : list of dict
        Kept records, in dataset order.
    key : str
        Record field to group by.
    test_sets : list of (name, set)
        Fold name and the group values it tests on.

    Returns
    -------
    list of Fold
    """
    values = np.array([str(r[key]) for r in records], dtype=object)
    folds = []
    for name, test_values in test_sets:
        test = np.isin(values, [str(v) for v in test_values])
        folds.append(Fold(name, np.flatnonzero(~test), np.flatnonzero(test)))
    return folds


# ---------------------------------------------------------------------------
# The builder every loader ends with
# ---------------------------------------------------------------------------


def _map_codes(records, default_map, user_map, title, hint_codes):
    """Map each record's raw code to a class (or None); raise on unknown codes."""
    known_keys = set(default_map) | {v for v in default_map.values() if v is not None}
    unused = [k for k in user_map if k not in known_keys and k not in {r["code"] for r in records}]
    if unused:
        raise DatasetError(
            f"{title}: class_map key(s) {', '.join(map(repr, unused))} match no emotion code or class of "
            f"this dataset. Codes: {', '.join(map(repr, sorted(default_map)))}; classes: "
            f"{', '.join(map(repr, sorted({v for v in default_map.values() if v is not None})))}."
        )
    unknown = {}
    out = []
    for r in records:
        code = r["code"]
        if code in user_map:
            cls = user_map[code]
        elif code in default_map:
            cls = default_map[code]
            if cls is not None and cls in user_map:
                cls = user_map[cls]
        else:
            unknown.setdefault(code, []).append(r["path"])
            continue
        out.append(cls)
    if unknown:
        files = [p for ps in unknown.values() for p in ps]
        detail = "; ".join(f"code {c!r}: {format_paths(ps, 3)}" for c, ps in sorted(unknown.items()))
        example = sorted(unknown)[0]
        raise DatasetError(
            f"{title}: {len(files)} clip(s) have an emotion code the class map does not know ({detail}). "
            f"Known codes: {hint_codes or ', '.join(map(repr, sorted(default_map)))}. Map them with "
            f"class_map={{{example!r}: '<class>'}}, or exclude them with class_map={{{example!r}: None}}.",
            files,
        )
    return out


def _speaker_leaks(records, folds):
    """``[(fold, speakers in both its training (or valid) and its test part, their test clips)]``."""
    speakers = np.array([r["speaker"] for r in records], dtype=object)
    leaks = []
    for fold in folds:
        seen = np.concatenate([fold.train, fold.valid])
        leaked = sorted(set(speakers[seen].tolist()) & set(speakers[fold.test].tolist()), key=natural_key)
        if leaked:
            wanted = set(leaked)
            leaks.append((fold, leaked, [records[i]["path"] for i in fold.test if speakers[i] in wanted]))
    return leaks


def _check_speaker_independence(name_of, records, folds, hint="", allow_overlap=False):
    """Raise on the first fold with a speaker on both sides; with ``allow_overlap``, return the leaks instead."""
    leaks = _speaker_leaks(records, folds)
    if leaks and not allow_overlap:
        fold, leaked, examples = leaks[0]
        raise DatasetError(
            f"{name_of}: fold {fold.name!r} is not speaker-independent: speaker(s) {format_paths(leaked)} "
            f"have clips in both its training and its test part (test clips: {format_paths(examples, 3)}). "
            + (hint or "Put all clips of a speaker in one fold (or one split)."),
            examples,
        )
    return leaks


def build_dataset(
    name,
    title,
    root,
    protocol,
    records,
    *,
    default_map,
    class_map=None,
    classes=None,
    check_files=True,
    make_folds,
    info=None,
    code_hint=None,
    missing_hint="",
    speaker_independent=True,
    leak_hint="",
    allow_overlap=False,
):
    """Map classes, check files, sort, make and check folds: the last step of every loader.

    Parameters
    ----------
    name, title : str
        Canonical name and display name of the dataset.
    root : str
        What it was loaded from.
    protocol : str
        Protocol name.
    records : list of dict
        One per clip, with ``path`` (absolute), ``code`` (raw emotion code),
        ``speaker``; any other fields are for ``make_folds``.
    default_map : dict
        Raw code -> class, or None to exclude the code (the protocol's map).
    class_map : dict, optional
        User overrides, keyed by raw code or by default class name.
    classes : sequence of str, optional
        Classes to keep after mapping.
    check_files : bool
        Check that every kept clip's file exists.
    make_folds : callable
        ``make_folds(kept_records) -> list of Fold`` (records in dataset order).
    info : dict, optional
        Loader-specific details, merged into ``Dataset.info``.
    code_hint : str, optional
        How the known codes are described in the unknown-code error.
    missing_hint : str
        What to do about missing files, appended to that error.
    speaker_independent : bool
        Check that no fold has a speaker in both train (or valid) and test.
        False: the records have no real speaker ids, so there is nothing to
        check (``info["speaker_check"] == "unchecked"``).
    leak_hint : str
        What to do when that check fails (default: put each speaker in one fold).
    allow_overlap : bool
        Do not raise when a fold has a speaker on both sides: record it
        (``info["speaker_independent"]`` False, ``info["speaker_check"] ==
        "overlap"``, ``info["overlapping_folds"]``).

    Returns
    -------
    Dataset
    """
    user_map = check_class_map(class_map, title)
    keep = normalize_classes(classes, title)
    info = dict(info or {})
    notes = info.pop("notes", None)  # the loader's list: make_folds may still append to it
    notes = notes if notes is not None else []
    if not records:
        raise DatasetError(f"{title}: no clips found under {root!r}.", [root])

    mapped = _map_codes(records, default_map, user_map, title, code_hint)
    excluded = {}
    kept = []
    for r, cls in zip(records, mapped):
        if cls is None:
            excluded[r["code"]] = excluded.get(r["code"], 0) + 1
        else:
            kept.append(dict(r, label=str(cls)))
    if not kept:
        raise DatasetError(
            f"{title}: the class map excludes every clip under {root!r} (excluded codes: {excluded}); check class_map.",
            [root],
        )

    dropped = {}
    if keep is not None:
        present = {r["label"] for r in kept}
        absent = [c for c in keep if c not in present]
        if absent:
            raise DatasetError(
                f"{title}: classes {', '.join(map(repr, absent))} are not in the dataset after "
                f"the class map; its classes are {', '.join(map(repr, sorted(present)))}."
            )
        wanted = set(keep)
        for r in kept:
            if r["label"] not in wanted:
                dropped[r["label"]] = dropped.get(r["label"], 0) + 1
        kept = [r for r in kept if r["label"] in wanted]

    by_path = {}
    for r in kept:
        by_path.setdefault(r["path"], []).append(r)
    duplicates = [p for p, rs in by_path.items() if len(rs) > 1]
    if duplicates:
        raise DatasetError(
            f"{title}: {len(duplicates)} file(s) are listed more than once: "
            f"{format_paths(duplicates)}. Each clip must appear once.",
            duplicates,
        )

    if check_files:
        missing = [r["path"] for r in kept if not os.path.isfile(clip_file(r["path"]))]
        if missing:
            raise DatasetError(
                f"{title}: {len(missing)} clip(s) have no audio file: {format_paths(missing)}. {missing_hint}".rstrip(),
                missing,
            )

    kept.sort(key=lambda r: clip_sort_key(r["path"]))
    folds = list(make_folds(kept))
    empty = [f.name for f in folds if f.test.size == 0]
    if empty:
        message = (
            f"fold(s) {', '.join(map(repr, empty))} have no test clips (none of their held-out "
            f"clips are in the data) and were left out"
        )
        warnings.warn(f"{title}: {message}.", UserWarning, stacklevel=3)
        notes.append(message + ".")
        folds = [f for f in folds if f.test.size]
    if not folds:
        raise DatasetError(f"{title}: no fold has test clips; check the root {root!r} and the protocol.", [root])
    overlapping = {}
    if speaker_independent:
        leaks = _check_speaker_independence(title, kept, folds, leak_hint, allow_overlap=allow_overlap)
        overlapping = {fold.name: len(leaked) for fold, leaked, _ in leaks}
        if overlapping:
            notes.append(
                f"NOT speaker-independent: {len(overlapping)} fold(s) have speakers in both training and test "
                f"({', '.join(f'{k}: {v} speaker(s)' for k, v in overlapping.items())}); results on them are "
                "speaker-dependent."
            )
        check = "overlap" if overlapping else "checked"
    else:
        check = "unchecked"
        notes.append("the folds are not checked for speaker independence (speakers may be in both training and test).")

    codes_seen = sorted({r["code"] for r in records} | set(default_map))
    used_map = {}
    for c in codes_seen:
        if c in user_map:
            used_map[c] = user_map[c]
        else:
            cls = default_map.get(c, c)
            used_map[c] = user_map.get(cls, cls) if cls is not None else None
    labels = [r["label"] for r in kept]
    speakers = [str(r["speaker"]) for r in kept]
    names, counts = np.unique(np.array(labels, dtype=str), return_counts=True)
    full_info = {
        "title": title,
        "protocol": protocol,
        "n_clips": len(kept),
        "n_speakers": len(set(speakers)),
        "class_counts": {str(n): int(c) for n, c in zip(names, counts)},
        "class_map": used_map,
        "excluded": excluded,
        "dropped_by_classes": dropped,
        "speaker_independent": bool(speaker_independent) and not overlapping,
        "speaker_check": check,
        "overlapping_folds": overlapping,
        "folds": {
            f.name: {"train": int(f.train.size), "valid": int(f.valid.size), "test": int(f.test.size)} for f in folds
        },
    }
    full_info.update(info)
    full_info["notes"] = notes
    json.dumps(full_info)  # must stay JSON-serialisable
    return Dataset(
        name=name,
        root=root,
        protocol=protocol,
        paths=tuple(r["path"] for r in kept),
        labels=labels,
        speakers=speakers,
        folds=tuple(folds),
        info=full_info,
    )
