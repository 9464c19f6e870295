"""Loader of EmoBox metadata: ``<dataset>/fold_<k>/<dataset>_{train,valid,test}_fold_<k>.jsonl``
and ``<dataset>/label_map.json``, with the audio paths remapped to where the
clips are on this machine.

The published metadata (github.com/emo-box/EmoBox, ``data/``) has quirks
this loader handles and reports in ``Dataset.info["notes"]``: label codes
that differ from their ``label_map.json`` key in case only (Emo-DB's
``neutral``), stale files of an older schema beside the fold files (Emo-DB's
``emodb_test_fold1.jsonl``), a ``label_dict.json`` in place of
``label_map.json`` (EMOVO), segments of long files (PAVOQUE's
``start_time``/``end_time``, read as :class:`zsfuse.audio.Segment` s),
splits with speakers on both sides (CREMA-D, Emo-DB, TESS) and video files.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import warnings

from ..audio import Segment
from ._base import (
    AUDIO_EXTENSIONS,
    UNDECODABLE_EXTENSIONS,
    DatasetError,
    Fold,
    build_dataset,
    check_prefix,
    check_root,
    clip_file,
    clip_sort_key,
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


#: EmoBox dataset (squashed) -> zsfuse's own loader, whose protocol is speaker-independent.
NATIVE_LOADERS = {
    "cremad": "load_dataset('crema-d', ...) (5 speaker-independent folds)",
    "emodb": "load_dataset('emo-db', ...) (leave one speaker out)",
    "tess": "load_dataset('tess', ...) (leave one speaker out: train on one speaker, test on the other)",
    "ravdess": "load_dataset('ravdess', ...) (protocol 'emobox': EmoBox's actor folds)",
    "iemocap": "load_dataset('iemocap', ...) (leave one session out)",
}

#: What a fold without a valid file means, for ``info["notes"]``.
NO_VALID_NOTE = (
    "{folds} have no valid file: zsfuse does not split one off (Fold.valid is empty and the whole train "
    "file is the training part; zsfuse evaluate tunes by speaker-grouped cross-validation inside it). "
    "EmoBox's EmoDataset announces a random 80/20 train/valid split instead (seed 12)."
)


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


def _fold_files(fold_dir, number, title):
    """The metadata files of one fold, and the other files in its folder.

    Returns ``({part: path}, [(file name, why it is not read)])``: for each of
    ``train``, ``valid`` (optional) and ``test``, ``*_{part}_fold_<k>.jsonl``,
    else ``*_{part}_fold_<k>.json``.
    """
    names = sorted(n for n in os.listdir(fold_dir) if not is_hidden(n) and os.path.isfile(os.path.join(fold_dir, n)))
    chosen = {}
    for part in ("train", "valid", "test"):
        for ext in (".jsonl", ".json"):
            hits = [n for n in names if n.lower().endswith(f"_{part}_fold_{number}{ext}")]
            if len(hits) > 1:
                raise DatasetError(f"{title}: several {part} files in {fold_dir!r}: {hits}.", [fold_dir])
            if hits:
                chosen[part] = hits[0]
                break
        if part != "valid" and part not in chosen:
            expected = os.path.join(fold_dir, f"<dataset>_{part}_fold_{number}.jsonl")
            raise DatasetError(f"{title}: {expected!r} is missing; expected {_LAYOUT}.", [fold_dir])
    read = set(chosen.values())
    stale = re.compile(rf"_(train|valid|test)_fold{number}\.jsonl?$", re.IGNORECASE)
    ignored = []
    for n in names:
        if n in read:
            continue
        m = stale.search(n)
        twin = os.path.splitext(n)[0] + ".jsonl"
        if m and m.group(1).lower() in chosen:
            why = f"older schema (fields 'audio'/'label'), superseded by {chosen[m.group(1).lower()]}"
        elif n.lower().endswith(".json") and twin in read:
            why = f"a .json copy of {twin}"
        else:
            why = "not a train/valid/test file of the fold"
        ignored.append((n, why))
    return {part: os.path.join(fold_dir, n) for part, n in chosen.items()}, ignored


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
    if isinstance(data, dict):  # key -> record, the key not repeated in the record
        items = [dict(r, key=r.get("key", k)) if isinstance(r, dict) else r for k, r in data.items()]
    else:
        items = list(data)
    return [(i + 1, r) for i, r in enumerate(items)]


def _read_label_map(folder, title):
    """``(path, {code: class})`` of ``label_map.json`` (else ``label_dict.json``), or ``(None, None)``."""
    for name in ("label_map.json", "label_dict.json"):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as f:
            try:
                raw = json.load(f)
            except ValueError as exc:
                raise DatasetError(f"{title}: {path!r} is not valid JSON ({exc}).", [path]) from None
        if not isinstance(raw, dict):
            raise DatasetError(f"{title}: {path!r} must map codes to classes.", [path])
        return path, {str(k): (None if v is None else str(v)) for k, v in raw.items()}
    return None, None


def _resolve_case(codes, default_map, user_map, title, label_map_path):
    """``{code: label_map key}`` for codes that match one key of the map only when case is ignored.

    Codes in the map (or in ``user_map``) are left alone; a code that matches
    several keys case-insensitively is an error.
    """
    by_lower = {}
    for key in default_map:
        by_lower.setdefault(key.lower(), []).append(key)
    out = {}
    for code in sorted(codes):
        if code in default_map or code in user_map:
            continue
        keys = by_lower.get(code.lower(), [])
        if len(keys) > 1:
            raise DatasetError(
                f"{title}: emotion code {code!r} matches several keys of {label_map_path!r} when case is "
                f"ignored ({', '.join(map(repr, keys))}), so its class is ambiguous. Say which with "
                f"class_map={{{code!r}: '<class>'}}.",
                [label_map_path],
            )
        if keys:
            out[code] = keys[0]
    return out


def _segment_bounds(rec):
    """``(start, end, channel)`` of a segment record, ``None`` for a whole file; ValueError if malformed."""
    if "start_time" not in rec and "end_time" not in rec:
        return None

    def seconds(name, default):
        value = rec.get(name, default)
        if value is None and name == "end_time":
            return None
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
        if not ok:
            raise ValueError(f"{name} {value!r} is not a number of seconds")
        return float(value)

    start, end = seconds("start_time", 0.0), seconds("end_time", None)
    if start < 0 or (end is not None and end <= start):
        raise ValueError(f"start_time {start!r} and end_time {end!r} do not make a segment")
    channel = rec.get("channel")
    if channel is not None:
        ok = isinstance(channel, numbers.Real) and not isinstance(channel, bool) and float(channel).is_integer()
        if not ok or channel < 1:
            raise ValueError(f"channel {channel!r} is not a channel number (1 = the first)")
        channel = int(channel)
    return start, end, channel


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
        Overrides of ``label_map.json`` (else ``label_dict.json``; raw ``emo``
        code -> class; identity when there is neither), keyed by code or
        class; None excludes a code. A code missing from the map is matched
        to a key that differs in case only when exactly one does (Emo-DB's
        ``neutral`` -> ``Neutral``, noted); otherwise it is an error.
    classes : sequence of str, optional
        Keep only these classes (after the class map).
    check_files : bool, default True
        Check that every clip exists (a ``.flac`` twin of a missing ``.wav``
        is accepted, and a ``.wav`` / ``.flac`` twin of a video or MP4 file
        is read instead of it).
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
        not speaker-independent for every dataset (CREMA-D: all 91 speakers on
        both sides; Emo-DB: all 10 in every fold; TESS: both speakers); such
        folds raise :class:`DatasetError` unless this is True, in which case
        ``Dataset.speaker_independent`` is False, ``info["speaker_check"]``
        is ``"overlap"`` and results on the folds are speaker-dependent.
        Folds without such speakers are still checked and stay
        speaker-independent.

    Returns
    -------
    Dataset
        Named ``"emobox"``; ``info["emobox_dataset"]`` is the dataset's name.
        Records with ``start_time``/``end_time`` (PAVOQUE) are
        :class:`zsfuse.audio.Segment` s in ``paths``. ``info`` also holds
        ``files_read`` and ``ignored_files`` (per fold folder),
        ``valid_split`` (per fold: ``"Fold.valid"``, ``"merged into
        train"``, or none: EmoBox's random 80/20 split is not made),
        ``segments``, ``conflicting_labels`` (clips listed with two emotions,
        left out with a warning) and ``notes`` on each quirk of the
        published metadata met (see ``docs/datasets.md``).
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
    user_map = class_map if isinstance(class_map, dict) else {}
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

    label_map_path, default_map = _read_label_map(folder, title)
    notes = []
    if label_map_path is not None and os.path.basename(label_map_path) != "label_map.json":
        notes.append(f"no label_map.json: the class map is {os.path.basename(label_map_path)}.")

    rule, rule_text = SPEAKER_RULES.get(_squash(name), (None, None)) if speakers == "auto" else (None, None)
    clips = {}  # clip (path or Segment) -> record
    parts = {}  # fold number -> {part: [clips]}
    files_read = {}  # fold number -> {part: file name}
    ignored = []
    unmatched, problems = [], []
    channels_ignored = {}  # channel value of whole-file records other than 1 -> count
    conflicts = {}  # clip listed with several emo codes -> {code: where}
    for number in chosen:
        fold_dir = available[number]
        parts[number] = {}
        fold_files, fold_ignored = _fold_files(fold_dir, number, title)
        files_read[number] = {part: os.path.basename(path) for part, path in fold_files.items()}
        ignored += [(os.path.join(os.path.basename(fold_dir), n), why) for n, why in fold_ignored]
        for part, path in fold_files.items():
            listed = parts[number].setdefault(part, [])
            for line, rec in _read_records(path, title):
                where = f"{path}:{line}"
                if not isinstance(rec, dict) or "wav" not in rec or "emo" not in rec:
                    problems.append(f"{where} (no 'wav' or 'emo')")
                    continue
                if str(rec.get("type", "raw")) != "raw":
                    problems.append(f"{where} (type {rec.get('type')!r}, not 'raw')")
                    continue
                try:
                    bounds = _segment_bounds(rec)
                except ValueError as exc:
                    problems.append(f"{where} ({exc})")
                    continue
                file = remap_path(rec["wav"], prefix, base)
                if file is None:
                    unmatched.append(str(rec["wav"]))
                    continue
                if check_files:
                    file = resolve_audio(file) or file
                if bounds is None:
                    clip = file
                    if rec.get("channel", 1) != 1:
                        channels_ignored[str(rec["channel"])] = channels_ignored.get(str(rec["channel"]), 0) + 1
                else:
                    clip = Segment(file, *bounds)
                key = str(rec.get("key") or os.path.splitext(os.path.basename(file))[0])
                code = str(rec["emo"])
                if clip in clips:
                    if clips[clip]["code"] != code:
                        conflicts.setdefault(clip, {clips[clip]["code"]: clips[clip]["where"]})[code] = where
                else:
                    stem = os.path.splitext(os.path.basename(file))[0]
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
            f"needs records of type 'raw' with 'wav' and 'emo' (and, for a segment of a longer file, "
            f"numeric 'start_time' < 'end_time' in seconds and a 'channel' from 1).",
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
    if conflicts:
        shown = [
            f"{str(c)!r} ({', '.join(f'{k!r} in {w}' for k, w in codes.items())})" for c, codes in conflicts.items()
        ]
        message = (
            f"{len(conflicts)} clip(s) are listed more than once with different emotions and were left out: "
            f"{'; '.join(shown[:2])}{f' (and {len(shown) - 2} more)' if len(shown) > 2 else ''}"
        )
        warnings.warn(f"{title}: {message}.", UserWarning, stacklevel=2)
        notes.append(message + ".")
        for number in parts:
            for part, listed in parts[number].items():
                parts[number][part] = [c for c in listed if c not in conflicts]
    records = sorted((r for c, r in clips.items() if c not in conflicts), key=lambda r: clip_sort_key(r["path"]))
    if default_map is None:
        default_map = {r["code"]: r["code"] for r in records}
        notes.append("no label_map.json: the emo codes are the classes.")
    else:
        case = _resolve_case({r["code"] for r in records}, default_map, user_map, title, label_map_path)
        for code, key in case.items():
            n = sum(r["code"] == code for r in records)
            notes.append(
                f"emotion code {code!r} ({n} clips) is not a key of {os.path.basename(label_map_path)}, whose "
                f"key {key!r} differs from it in case only: read as {key!r} (class {default_map[key]!r})."
            )
        records = [dict(r, code=case.get(r["code"], r["code"])) for r in records]
    from_key = sum(r["from_key"] for r in records)
    speaker_ids = rule is not None and from_key == 0
    if not speaker_ids:
        notes.append(
            f"{from_key} of the {len(records)} clips have no speaker id"
            + (" (their file names do not parse)" if rule is not None else " (EmoBox records carry none)")
            + ": each is its own speaker (its key)."
        )
    if ignored:
        kinds = {}
        for n, why in ignored:
            kind = why.split(",")[0] if why.startswith("older schema") else why.split(" of ")[0]
            kinds.setdefault(kind, []).append(n)
        notes.append(
            f"{len(ignored)} file(s) in the fold folders were not read (info['ignored_files']): "
            + "; ".join(f"{format_paths(ns, 3)}: {kind}" for kind, ns in kinds.items())
            + "."
        )
    no_valid = [f"fold_{k}" for k in chosen if "valid" not in files_read[k]]
    if no_valid and not merge_valid:
        folds_text = "all folds" if len(no_valid) == len(chosen) else ", ".join(no_valid)
        notes.append(NO_VALID_NOTE.format(folds=folds_text))
    segments = sum(isinstance(r["path"], Segment) for r in records)
    if segments:
        notes.append(
            f"{segments} clips are segments of longer files (start_time/end_time): read as "
            "zsfuse.audio.Segment (file, start, end, channel); only the segment is decoded."
        )
    if channels_ignored:
        listed = ", ".join(f"{v} clips with channel {k}" for k, v in sorted(channels_ignored.items()))
        notes.append(
            f"the 'channel' field of whole-file records is not used ({listed}): EmoBox's MELD metadata writes "
            "1 for stereo and 3 for other files, not a channel number; whole files are averaged to mono."
        )
    undecodable = {}
    for r in records:
        ext = os.path.splitext(clip_file(r["path"]))[1].lower()
        if ext not in AUDIO_EXTENSIONS:
            undecodable[ext] = undecodable.get(ext, 0) + 1
    if undecodable:
        listed = ", ".join(f"{v} {k}" for k, v in sorted(undecodable.items()))
        hint = (
            " zsfuse decodes audio with libsndfile, which cannot read "
            + ", ".join(e for e in sorted(undecodable) if e in UNDECODABLE_EXTENSIONS)
            + ": convert them to .wav or .flac beside the originals (same name; those are used)."
            if any(e in UNDECODABLE_EXTENSIONS for e in undecodable)
            else ""
        )
        notes.append(f"clips in files that are not .wav or .flac: {listed}.{hint}")

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
        "label_map": label_map_path,
        "files_read": {f"fold_{k}": v for k, v in files_read.items()},
        "ignored_files": [n for n, _ in ignored],
        "valid_split": {
            f"fold_{k}": ("merged into train" if merge_valid else "Fold.valid")
            if "valid" in files_read[k]
            else "none (no valid file; no random split)"
            for k in chosen
        },
        "segments": int(segments),
        "conflicting_labels": len(conflicts),
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
    native = NATIVE_LOADERS.get(_squash(name))
    leak_hint = (
        f"EmoBox's own split of {name} puts these speakers in both training and test (speakers from "
        f"{rule_text}), so it is not speaker-independent. Pass allow_speaker_overlap=True to use it anyway: "
        "the dataset is then marked speaker_independent=False (info['speaker_check'] == 'overlap') and "
        "results on it are speaker-dependent (the test speakers were heard in training), not comparable "
        "with speaker-independent results."
        + (f" For a speaker-independent protocol use zsfuse's own loader, {native}." if native else "")
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
        speaker_independent=speaker_ids,
        leak_hint=leak_hint,
        allow_overlap=bool(allow_speaker_overlap),
    )
