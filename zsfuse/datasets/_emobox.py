"""Loader of EmoBox metadata: ``<dataset>/fold_<k>/<dataset>_{train,valid,test}_fold_<k>.jsonl``
and ``<dataset>/label_map.json``, with the audio paths remapped to where the
clips are on this machine."""

from __future__ import annotations

import json
import os
import re

from ._base import (
    DatasetError,
    Fold,
    build_dataset,
    check_prefix,
    check_root,
    format_paths,
    is_hidden,
    remap_path,
    resolve_audio,
)
from ._corpora import emodb_speaker, ravdess_speaker
from ._iemocap import iemocap_speaker

__all__ = ["load_emobox"]

_FOLD_DIR = re.compile(r"^fold_?(\d+)$", re.IGNORECASE)
_LAYOUT = (
    "EmoBox metadata: <dataset>/fold_<k>/<dataset>_{train,valid,test}_fold_<k>.jsonl (valid optional) "
    "and <dataset>/label_map.json, e.g. data/iemocap/fold_1/iemocap_train_fold_1.jsonl"
)


def _squash(name):
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _speaker_cremad(stem):
    m = re.match(r"^(\d{4})_[A-Za-z]{3}_", stem)
    return m.group(1) if m else None


def _speaker_tess(stem):
    m = re.match(r"^([A-Za-z]+)_", stem)
    return m.group(1).upper() if m else None


#: EmoBox dataset (name squashed to [a-z0-9]) -> speaker from the clip's file name (no extension).
SPEAKER_RULES = {
    "iemocap": (iemocap_speaker, "session + gender letter of the utterance (Ses01F_impro01_M000 -> Ses01M)"),
    "ravdess": (ravdess_speaker, "actor AA of MM-VV-EE-II-SS-RR-AA (Actor_NN)"),
    "cremad": (_speaker_cremad, "speaker id SSSS of SSSS_TTT_EEE_LL"),
    "emodb": (emodb_speaker, "speaker id SS of SSTTTEV"),
    "tess": (_speaker_tess, "first part of <SPEAKER>_<word>_<emotion> (OAF, YAF)"),
}


def _has_folds(folder):
    return any(_FOLD_DIR.match(n) and os.path.isdir(os.path.join(folder, n)) for n in os.listdir(folder))


def _locate(root, dataset, title):
    """Return (dataset folder, dataset name) for root = the data folder or one dataset's folder."""
    if _has_folds(root):
        if dataset is not None and _squash(dataset) != _squash(os.path.basename(root)):
            raise DatasetError(
                f"{title}: root {root!r} is the folder of dataset {os.path.basename(root)!r}, not {dataset!r}.", [root]
            )
        return root, os.path.basename(root)
    candidates = sorted(
        n
        for n in os.listdir(root)
        if not is_hidden(n) and os.path.isdir(os.path.join(root, n)) and _has_folds(os.path.join(root, n))
    )
    if not candidates and os.path.isdir(os.path.join(root, "data")):
        return _locate(os.path.join(root, "data"), dataset, title)  # root is the EmoBox checkout
    if not candidates:
        raise DatasetError(
            f"{title}: no dataset folders with fold_<k> subfolders under {root!r}; expected {_LAYOUT}.", [root]
        )
    if dataset is None:
        if len(candidates) == 1:
            return os.path.join(root, candidates[0]), candidates[0]
        raise DatasetError(
            f"{title}: {root!r} holds several datasets; choose one with dataset=, one of "
            f"{', '.join(map(repr, candidates))}."
        )
    matches = [c for c in candidates if _squash(c) == _squash(dataset)]
    if not matches:
        raise DatasetError(
            f"{title}: no dataset {dataset!r} under {root!r}; it has {', '.join(map(repr, candidates))}.", [root]
        )
    return os.path.join(root, matches[0]), matches[0]


def _fold_file(fold_dir, number, part, title, required):
    """The metadata file of one part of one fold: ``*_{part}_fold_<k>.jsonl`` (or ``.json``)."""
    names = sorted(os.listdir(fold_dir))
    for ext in (".jsonl", ".json"):
        hits = [n for n in names if n.lower().endswith(f"_{part}_fold_{number}{ext}") and not is_hidden(n)]
        if len(hits) > 1:
            raise DatasetError(f"{title}: several {part} files in {fold_dir!r}: {hits}.", [fold_dir])
        if hits:
            return os.path.join(fold_dir, hits[0])
    if required:
        expected = os.path.join(fold_dir, f"<dataset>_{part}_fold_{number}.jsonl")
        raise DatasetError(f"{title}: {expected!r} is missing; expected {_LAYOUT}.", [fold_dir])
    return None


def _read_records(path, title):
    """The records of a ``.jsonl`` (one object a line) or ``.json`` (a list, or a dict of key -> record)."""
    if path.lower().endswith(".jsonl"):
        out = []
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise DatasetError(f"{title}: {path!r} line {number} is not valid JSON ({exc}).", [path]) from None
                out.append((number, record))
        return out
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except ValueError as exc:
            raise DatasetError(f"{title}: {path!r} is not valid JSON ({exc}).", [path]) from None
    items = list(data.values()) if isinstance(data, dict) else list(data)
    return [(i + 1, r) for i, r in enumerate(items)]


def _select_folds(available, fold, title, folder):
    if fold is None:
        return sorted(available)
    wanted = [fold] if isinstance(fold, (int, str)) else list(fold)
    chosen = []
    for w in wanted:
        m = _FOLD_DIR.match(str(w))
        number = int(m.group(1)) if m else (int(w) if str(w).isdigit() else None)
        if number not in available:
            raise DatasetError(
                f"{title}: no fold {w!r} in {folder!r}; it has folds {', '.join(str(k) for k in sorted(available))}.",
                [folder],
            )
        if number not in chosen:
            chosen.append(number)
    return sorted(chosen)


def load_emobox(
    root,
    *,
    dataset=None,
    fold=None,
    prefix=None,
    protocol=None,
    class_map=None,
    classes=None,
    check_files=True,
    merge_valid=False,
    speakers="auto",
    allow_speaker_overlap=False,
):
    """Load one dataset of the EmoBox benchmark from its metadata, with its folds.

    Parameters
    ----------
    root : str or path-like
        EmoBox's ``data`` folder (holding ``<dataset>/``), the EmoBox checkout
        above it, or one dataset's folder (holding ``fold_1/`` ... and
        ``label_map.json``).
    dataset : str, optional
        EmoBox dataset name, e.g. ``"iemocap"``, ``"cremad"``, ``"msppodcast"``
        (case, ``-`` and ``_`` ignored). Needed when ``root`` holds several.
    fold : int, str or sequence, optional
        Folds to load (``1``, ``"fold_1"``, ``[1, 3]``); default all. The
        dataset holds the clips of the chosen folds.
    prefix : optional
        Where the clips are on this machine. The ``wav`` fields hold paths as
        written by EmoBox (``downloads/iemocap/Session1/...``, or absolute
        paths of another machine). ``(old, new)`` replaces a leading ``old``
        by ``new`` (``{old: new, ...}`` for several; the longest match wins),
        and a ``wav`` that no ``old`` starts is an error naming it. A plain
        folder is joined in front of relative ``wav`` paths. Relative results
        (and relative ``wav`` paths without ``prefix``) are resolved against
        the EmoBox checkout, the folder above ``data``, as EmoBox does.
    protocol : {"emobox"}, default "emobox"
        The folds are EmoBox's: for each ``fold_<k>``, train = the train file,
        test = the test file, valid = the valid file where there is one.
    class_map : dict, optional
        Overrides of ``label_map.json`` (raw ``emo`` code -> class; identity
        when there is no ``label_map.json``), keyed by code or class; None
        excludes a code. Codes missing from the map are an error.
    classes : sequence of str, optional
        Keep only these classes (after the class map).
    check_files : bool, default True
        Check that every clip exists (a ``.flac`` twin of a missing ``.wav``
        is accepted).
    merge_valid : bool, default False
        Put the valid file's clips in the fold's training part instead of its
        ``valid`` part.
    speakers : {"auto", "key"}, default "auto"
        ``"auto"``: derive the speaker from the clip's file name for
        IEMOCAP (``Ses01F``), RAVDESS (``Actor_NN``), CREMA-D (``1001``),
        Emo-DB (``03``) and TESS (``OAF``); use the record's ``key`` for the
        other datasets and for names that do not parse (counted in
        ``info["speakers_from_key"]``). ``"key"``: always the ``key``.
    allow_speaker_overlap : bool, default False
        Accept folds with a speaker in both train and test. EmoBox's split is
        not speaker-independent for every dataset (e.g. TESS, two speakers,
        both in every fold); such folds raise :class:`DatasetError` unless this
        is True, in which case ``info["speaker_independent"]`` is False.

    Returns
    -------
    Dataset
        Named ``"emobox"``; ``info["emobox_dataset"]`` is the dataset's name.
    """
    title = "EmoBox"
    protocol = "emobox" if protocol is None else str(protocol).lower()
    if protocol != "emobox":
        raise DatasetError(
            f"{title}: unknown protocol {protocol!r}; the only one is 'emobox' (the fold_<k> "
            f"files; choose folds with fold=)."
        )
    if speakers not in ("auto", "key"):
        raise DatasetError(f"{title}: speakers must be 'auto' or 'key', got {speakers!r}.")
    prefix = check_prefix(prefix, title)
    root = check_root(root, title, _LAYOUT)
    folder, name = _locate(root, dataset, title)
    title = f"EmoBox {name}"
    base = os.path.dirname(os.path.dirname(folder))  # the EmoBox checkout: <base>/data/<name>

    available = {}
    for entry in os.listdir(folder):
        m = _FOLD_DIR.match(entry)
        if m and os.path.isdir(os.path.join(folder, entry)):
            available[int(m.group(1))] = os.path.join(folder, entry)
    chosen = _select_folds(available, fold, title, folder)

    label_map_path = os.path.join(folder, "label_map.json")
    default_map = None
    if os.path.isfile(label_map_path):
        with open(label_map_path, encoding="utf-8") as f:
            try:
                raw = json.load(f)
            except ValueError as exc:
                raise DatasetError(
                    f"{title}: {label_map_path!r} is not valid JSON ({exc}).", [label_map_path]
                ) from None
        if not isinstance(raw, dict):
            raise DatasetError(f"{title}: {label_map_path!r} must map codes to classes.", [label_map_path])
        default_map = {str(k): (None if v is None else str(v)) for k, v in raw.items()}

    rule, rule_text = SPEAKER_RULES.get(_squash(name), (None, None)) if speakers == "auto" else (None, None)
    clips = {}  # path -> record
    parts = {}  # fold number -> {part: [paths]}
    unmatched, problems = [], []
    for number in chosen:
        fold_dir = available[number]
        parts[number] = {}
        for part in ("train", "valid", "test"):
            path = _fold_file(fold_dir, number, part, title, required=part != "valid")
            if path is None:
                continue
            listed = parts[number].setdefault(part, [])
            for line, rec in _read_records(path, title):
                where = f"{path}:{line}"
                if not isinstance(rec, dict) or "wav" not in rec or "emo" not in rec:
                    problems.append(f"{where} (no 'wav' or 'emo')")
                    continue
                if str(rec.get("type", "raw")) != "raw":
                    problems.append(f"{where} (type {rec.get('type')!r}, not 'raw')")
                    continue
                if "start_time" in rec or "end_time" in rec:
                    problems.append(f"{where} (a segment, start_time/end_time, of a longer file)")
                    continue
                clip = remap_path(rec["wav"], prefix, base)
                if clip is None:
                    unmatched.append(str(rec["wav"]))
                    continue
                if check_files:
                    clip = resolve_audio(clip) or clip
                key = str(rec.get("key") or os.path.splitext(os.path.basename(clip))[0])
                code = str(rec["emo"])
                if clip in clips:
                    if clips[clip]["code"] != code:
                        raise DatasetError(
                            f"{title}: {clip!r} has emotion {clips[clip]['code']!r} in "
                            f"{clips[clip]['where']!r} but {code!r} in {where!r}.",
                            [clip],
                        )
                else:
                    stem = os.path.splitext(os.path.basename(clip))[0]
                    speaker = rule(stem) if rule else None
                    clips[clip] = {
                        "path": clip,
                        "code": code,
                        "key": key,
                        "where": where,
                        "speaker": speaker if speaker else key,
                        "from_key": not speaker,
                    }
                listed.append(clip)
    if problems:
        raise DatasetError(
            f"{title}: {len(problems)} record(s) cannot be used: {format_paths(problems)}. zsfuse "
            f"needs whole-file records ('type': 'raw') with 'wav' and 'emo'.",
            [p.split(" (")[0] for p in problems],
        )
    if unmatched:
        olds = list(prefix) if isinstance(prefix, dict) else [prefix[0]]
        raise DatasetError(
            f"{title}: {len(unmatched)} wav path(s) start with none of the prefixes "
            f"{', '.join(repr(str(o)) for o in olds)}: {format_paths(unmatched)}. Give the part "
            f"of the path to replace, e.g. prefix=({os.path.dirname(unmatched[0])!r}, "
            f"'/my/audio/folder').",
            unmatched,
        )
    records = sorted(clips.values(), key=lambda r: r["path"])
    if default_map is None:
        default_map = {r["code"]: r["code"] for r in records}
        notes = ["no label_map.json: the emo codes are the classes."]
    else:
        notes = []
    from_key = sum(r["from_key"] for r in records)

    def make_folds(kept):
        index = {r["path"]: i for i, r in enumerate(kept)}
        folds = []
        for number in chosen:
            got = {p: [index[c] for c in parts[number].get(p, []) if c in index] for p in ("train", "valid", "test")}
            if merge_valid:
                got["train"] += got["valid"]
                got["valid"] = []
            for a, b in (("train", "test"), ("train", "valid"), ("valid", "test")):
                both = set(got[a]) & set(got[b])
                if both:
                    files = [kept[i]["path"] for i in sorted(both)]
                    raise DatasetError(
                        f"{title}: fold_{number} lists {len(files)} clip(s) in both its {a} and "
                        f"{b} files: {format_paths(files)}.",
                        files,
                    )
            folds.append(Fold(f"fold_{number}", got["train"], got["test"], got["valid"]))
        return folds

    info = {
        "emobox_dataset": name,
        "metadata": folder,
        "folds_available": sorted(available),
        "label_map": label_map_path if os.path.isfile(label_map_path) else None,
        "prefix": None
        if prefix is None
        else (
            {str(k): str(v) for k, v in prefix.items()}
            if isinstance(prefix, dict)
            else ([str(p) for p in prefix] if isinstance(prefix, tuple) else str(prefix))
        ),
        "merge_valid": bool(merge_valid),
        "speaker_source": (rule_text if rule else "the record's key (no speaker in EmoBox records)"),
        "speakers_from_key": int(from_key),
        "protocol_description": "EmoBox folds: train/test (and valid) files of each fold_<k>",
        "notes": notes,
    }
    missing_hint = (
        "The wav paths were resolved "
        + (f"with prefix={prefix!r}" if prefix is not None else f"against the EmoBox checkout {base!r}")
        + "; pass prefix=(old, new) to point them at your copy of the audio, or check_files=False."
    )
    leak_hint = (
        "EmoBox's own split of this dataset has speakers on both sides (by the speaker ids above); pass "
        "allow_speaker_overlap=True to use it anyway (reported as not speaker-independent)."
    )
    return build_dataset(
        "emobox",
        title,
        root,
        protocol,
        records,
        default_map=default_map,
        class_map=class_map,
        classes=classes,
        check_files=check_files,
        make_folds=make_folds,
        info=info,
        missing_hint=missing_hint,
        speaker_independent=not allow_speaker_overlap,
        leak_hint=leak_hint,
    )
