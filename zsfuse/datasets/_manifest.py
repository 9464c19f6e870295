"""Loaders of the user's own data: a CSV/TSV/JSONL manifest, or one folder per label."""

from __future__ import annotations

import csv
import json
import os
import re
import warnings

from ._base import (
    DatasetError,
    Fold,
    build_dataset,
    check_n_folds,
    check_prefix,
    check_root,
    folds_from_test_groups,
    format_paths,
    is_audio,
    is_hidden,
    kfold_by_group,
    listed_from_disk,
    natural_key,
    remap_path,
    resolve_audio,
    walk_audio,
)

__all__ = ["load_folders", "load_manifest"]

_MANIFEST_NAMES = ("manifest.csv", "manifest.tsv", "manifest.jsonl", "manifest.json")
_MANIFEST_LAYOUT = (
    "a manifest file (.csv, .tsv, .jsonl or .json; or a folder holding one named manifest.csv, "
    "manifest.tsv, manifest.jsonl or manifest.json) with columns path, label, speaker and "
    "optionally split (train/valid/test) or fold"
)
_FOLDERS_LAYOUT = "one folder per label, root/<label>/*.wav (or root/<label>/<speaker>/*.wav)"

#: Accepted column names (lower case), first match wins.
_ALIASES = {
    "path": ("path", "file", "filename", "file_name", "wav", "audio", "audio_path"),
    "label": ("label", "emotion", "emo", "class"),
    "speaker": ("speaker", "speaker_id", "spk", "spkr", "spkrid"),
    "split": ("split", "set", "partition"),
    "fold": ("fold",),
}
_SPLIT_VALUES = {
    "train": "train",
    "training": "train",
    "test": "test",
    "testing": "test",
    "eval": "test",
    "valid": "valid",
    "validation": "valid",
    "val": "valid",
    "dev": "valid",
    "development": "valid",
}


def _find_manifest(root, title):
    path = os.path.abspath(os.fspath(root))
    if os.path.isfile(path):
        return path
    if not os.path.isdir(path):
        raise DatasetError(f"{title}: {path!r} does not exist; expected {_MANIFEST_LAYOUT}.", [path])
    found = [os.path.join(path, n) for n in _MANIFEST_NAMES if os.path.isfile(os.path.join(path, n))]
    if len(found) == 1:
        return found[0]
    if found:
        raise DatasetError(
            f"{title}: {path!r} holds several manifests ({format_paths(found)}); pass the file itself as root.", found
        )
    raise DatasetError(f"{title}: no manifest in {path!r}; expected {_MANIFEST_LAYOUT}.", [path])


def _read_rows(path, title):
    """``(row number, {column: value})`` pairs; column names as written."""
    lower = path.lower()
    if lower.endswith((".jsonl", ".json")):
        with open(path, encoding="utf-8-sig") as f:
            if lower.endswith(".json"):
                try:
                    data = json.load(f)
                except ValueError as exc:
                    raise DatasetError(f"{title}: {path!r} is not valid JSON ({exc}).", [path]) from None
                if not isinstance(data, list):
                    raise DatasetError(f"{title}: {path!r} must hold a list of records.", [path])
                rows = list(enumerate(data, 1))
            else:
                rows = []
                for number, line in enumerate(f, 1):
                    if line.strip():
                        try:
                            rows.append((number, json.loads(line)))
                        except ValueError as exc:
                            raise DatasetError(
                                f"{title}: {path!r} line {number} is not valid JSON ({exc}).", [path]
                            ) from None
        bad = [n for n, r in rows if not isinstance(r, dict)]
        if bad:
            raise DatasetError(f"{title}: {path!r}: line(s) {bad[:5]} are not JSON objects.", [path])
        return rows
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f, delimiter="\t" if lower.endswith(".tsv") else ",")
        return [(number, row) for number, row in enumerate(reader, 2)]


def _columns(rows, path, title):
    names = []
    for _, row in rows:
        for k in row:
            if k is not None and k not in names:
                names.append(k)
    lookup = {str(k).strip().lower(): k for k in names}
    columns = {}
    for role, aliases in _ALIASES.items():
        columns[role] = next((lookup[a] for a in aliases if a in lookup), None)
    missing = [r for r in ("path", "label") if columns[r] is None]
    if missing:
        raise DatasetError(
            f"{title}: {path!r} has no {' or '.join(missing)} column (it has "
            f"{[str(n) for n in names]}); expected {_MANIFEST_LAYOUT}.",
            [path],
        )
    return columns


def _cell(row, column):
    value = row.get(column) if column is not None else None
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text[:-2] if re.fullmatch(r"-?\d+\.0", text) else text


def _fold_name(value):
    return f"fold_{value}" if value.isdigit() else value


def _kfold_folds(title, kept, n_folds, by_speaker, notes):
    """Speaker-group k-fold (or, without speakers, a stratified k-fold by file)."""
    if by_speaker:
        speakers = {r["speaker"] for r in kept}
        if len(speakers) < 2:
            raise DatasetError(
                f"{title}: speaker-independent folds need at least 2 speakers; there is only {sorted(speakers)}."
            )
        n = min(n_folds, len(speakers))
        if n < n_folds:
            message = f"only {len(speakers)} speakers: {n} folds instead of n_folds={n_folds}"
            warnings.warn(f"{title}: {message}.", UserWarning, stacklevel=4)
            notes.append(message + ".")
        assignment = kfold_by_group(speakers, n)
        tests = [(f"fold_{i}", {s for s, f in assignment.items() if f == i}) for i in range(1, n + 1)]
        return folds_from_test_groups(kept, "speaker", tests)
    if n_folds > len(kept):
        raise DatasetError(f"{title}: n_folds={n_folds} is more than the {len(kept)} clips.")
    fold_of = [0] * len(kept)
    counter = 0
    for label in sorted({r["label"] for r in kept}):
        for i, r in enumerate(kept):
            if r["label"] == label:
                fold_of[i] = counter % n_folds + 1
                counter += 1
    tests = [(f"fold_{k}", [i for i, f in enumerate(fold_of) if f == k]) for k in range(1, n_folds + 1)]
    everything = set(range(len(kept)))
    return [Fold(name, sorted(everything - set(test)), test) for name, test in tests]


_NO_SPEAKER = (
    "no speaker information: every clip is its own speaker, so the folds are NOT speaker-independent "
    "(scores will be optimistic)"
)


def load_manifest(root, *, protocol=None, n_folds=5, class_map=None, classes=None, prefix=None, check_files=True):
    """Load clips listed in a manifest (CSV, TSV, JSONL or JSON).

    Parameters
    ----------
    root : str or path-like
        The manifest file, or a folder holding exactly one of
        ``manifest.csv``, ``manifest.tsv``, ``manifest.jsonl``,
        ``manifest.json``. Columns (case-insensitive): ``path`` (or ``file``,
        ``wav``, ``audio``), ``label`` (or ``emotion``, ``emo``), ``speaker``
        (or ``speaker_id``, ``spk``), optionally ``split`` (``train``,
        ``valid``/``dev``, ``test``) or ``fold``. Relative paths are relative
        to the manifest's folder.
    protocol : {"fold", "split", "kfold"}, optional
        ``"fold"``: one fold per distinct ``fold`` value, testing on its rows
        and training on the others (fold names ``fold_<value>``). ``"split"``:
        one fold, ``"split"``, from the ``split`` column. ``"kfold"``:
        ``n_folds`` speaker-independent folds (sorted speakers dealt
        round-robin). Default: ``"fold"`` if there is a fold column, else
        ``"split"`` if there is a split column, else ``"kfold"``.
    n_folds : int, default 5
        Folds of ``"kfold"`` (fewer, with a warning, if there are fewer speakers).
    class_map : dict, optional
        Label -> class overrides (default: the labels as written), e.g.
        ``{"excited": "happy"}``; None excludes a label.
    classes : sequence of str, optional
        Keep only these classes (after the class map).
    prefix : optional
        Rewrite the paths: ``(old, new)``, ``{old: new}`` or a folder for
        relative paths (see :func:`load_emobox`).
    check_files : bool, default True
        Check that every clip exists.

    Returns
    -------
    Dataset
        The folds are checked for speaker independence: a speaker in both the
        training and the test part of a fold is an error. Without a speaker
        column every clip is its own speaker, with a warning that the folds
        are then not speaker-independent.
    """
    title = "manifest"
    n_folds = check_n_folds(n_folds, title)
    prefix = check_prefix(prefix, title)
    path = _find_manifest(root, title)
    base = os.path.dirname(path)
    rows = _read_rows(path, title)
    if not rows:
        raise DatasetError(f"{title}: {path!r} lists no clips; expected {_MANIFEST_LAYOUT}.", [path])
    columns = _columns(rows, path, title)
    has = {role: columns[role] is not None for role in columns}
    if protocol is None:
        if has["fold"] and has["split"]:
            raise DatasetError(
                f"{title}: {path!r} has both a fold and a split column; choose protocol='fold' or protocol='split'.",
                [path],
            )
        protocol = "fold" if has["fold"] else "split" if has["split"] else "kfold"
    protocol = str(protocol).lower()
    if protocol not in ("fold", "split", "kfold"):
        raise DatasetError(f"{title}: unknown protocol {protocol!r}; choose 'fold', 'split' or 'kfold'.")
    if protocol in ("fold", "split") and not has[protocol]:
        raise DatasetError(f"{title}: protocol {protocol!r} needs a {protocol} column in {path!r}.", [path])

    records, blank, unmatched, bad_split = [], [], [], []
    for number, row in rows:
        clip, label = _cell(row, columns["path"]), _cell(row, columns["label"])
        speaker = _cell(row, columns["speaker"])
        group = _cell(row, columns[protocol]) if protocol in ("fold", "split") else ""
        if not clip or not label or (has["speaker"] and not speaker) or (protocol in ("fold", "split") and not group):
            blank.append(number)
            continue
        full = remap_path(clip, prefix, base)
        if full is None:
            unmatched.append(clip)
            continue
        if check_files:
            full = resolve_audio(full) or full
        if protocol == "split":
            if group.lower() not in _SPLIT_VALUES:
                bad_split.append(f"row {number}: {group!r}")
                continue
            group = _SPLIT_VALUES[group.lower()]
        records.append({"path": full, "code": label, "speaker": speaker or os.path.relpath(full, base), "group": group})
    row_word = "line" if path.lower().endswith((".jsonl", ".json")) else "row"
    if blank:
        needed = (
            ["path", "label"]
            + (["speaker"] if has["speaker"] else [])
            + ([protocol] if protocol in ("fold", "split") else [])
        )
        raise DatasetError(
            f"{title}: {path!r} {row_word}(s) {blank[:10]}{' ...' if len(blank) > 10 else ''} "
            f"leave a cell empty (needed: {', '.join(needed)}).",
            [path],
        )
    if unmatched:
        raise DatasetError(
            f"{title}: {len(unmatched)} path(s) start with none of the prefixes: {format_paths(unmatched)}.", unmatched
        )
    if bad_split:
        raise DatasetError(
            f"{title}: {path!r} has split values other than train, valid (dev) and test: {format_paths(bad_split)}.",
            [path],
        )

    notes = []
    if not has["speaker"]:
        warnings.warn(f"{title}: {path!r} has no speaker column; {_NO_SPEAKER}.", UserWarning, stacklevel=3)
        notes.append(_NO_SPEAKER + ".")

    def make_folds(kept):
        if protocol == "kfold":
            return _kfold_folds(title, kept, n_folds, has["speaker"], notes)
        if protocol == "split":
            parts = {p: [i for i, r in enumerate(kept) if r["group"] == p] for p in ("train", "valid", "test")}
            if not parts["train"] or not parts["test"]:
                raise DatasetError(f"{title}: the split column of {path!r} needs both train and test rows.", [path])
            return [Fold("split", parts["train"], parts["test"], parts["valid"])]
        values = sorted({r["group"] for r in kept}, key=natural_key)
        if len(values) < 2:
            raise DatasetError(
                f"{title}: the fold column of {path!r} has one value ({values}); folds need at least two.", [path]
            )
        return folds_from_test_groups(kept, "group", [(_fold_name(v), {v}) for v in values])

    info = {
        "manifest": path,
        "columns": {role: (None if c is None else str(c)) for role, c in columns.items()},
        "speaker_source": "speaker column" if has["speaker"] else "none (each clip its own speaker)",
        "protocol_description": {
            "fold": "one fold per value of the fold column",
            "split": "the split column (train / valid / test)",
            "kfold": f"{n_folds} folds, speakers dealt round-robin"
            if has["speaker"]
            else f"{n_folds} folds by file, stratified by label",
        }[protocol],
        "notes": notes,
    }
    return build_dataset(
        "manifest",
        f"manifest {os.path.basename(path)}",
        path,
        protocol,
        records,
        default_map={r["code"]: r["code"] for r in records},
        class_map=class_map,
        classes=classes,
        check_files=check_files,
        make_folds=make_folds,
        info=info,
        missing_hint=f"Relative paths are relative to {base!r}; pass prefix=(old, new) to rewrite them, or "
        f"check_files=False.",
        speaker_independent=has["speaker"],
    )


def _speaker_from_name(regex, name):
    m = regex.search(name)
    if not m:
        return None
    if "speaker" in regex.groupindex:
        return m.group("speaker")
    return m.group(1) if regex.groups else m.group(0)


@listed_from_disk()
def load_folders(root, *, protocol=None, n_folds=5, speaker_regex=None, class_map=None, classes=None, check_files=True):
    """Load a tree with one folder per label: ``root/<label>/*.wav``.

    Parameters
    ----------
    root : str or path-like
        Folder whose subfolders are the labels. Audio files (``.wav``,
        ``.flac``) may sit at any depth below a label folder; audio files
        directly in ``root`` are an error (they have no label).
    protocol : {"kfold"}, default "kfold"
        ``n_folds`` folds. With speakers, speaker-independent (sorted speakers
        dealt round-robin); without, by file, stratified by label, with a
        warning that they are not speaker-independent.
    n_folds : int, default 5
        Number of folds (fewer, with a warning, if there are fewer speakers).
    speaker_regex : str, optional
        Regular expression searched in each file *name*; the speaker is its
        group ``speaker`` if it has one, else its first group, else the
        whole match; a file it does not match is an error. E.g.
        ``r"^(spk\\d+)_"`` for ``spk3_001.wav``. Without it, the speaker is the
        subfolder of the label folder the file is in
        (``root/<label>/<speaker>/x.wav``); without subfolders there is no
        speaker information (each clip is its own speaker).
    class_map : dict, optional
        Folder name -> class overrides (default: the folder names), e.g.
        ``{"excited": "happy"}``; None excludes a folder.
    """
    title = "folders"
    protocol = "kfold" if protocol is None else str(protocol).lower()
    if protocol != "kfold":
        raise DatasetError(f"{title}: unknown protocol {protocol!r}; the only one is 'kfold' (set n_folds=).")
    n_folds = check_n_folds(n_folds, title)
    regex = None
    if speaker_regex is not None:
        try:
            regex = re.compile(speaker_regex)
        except (re.error, TypeError) as exc:
            raise DatasetError(
                f"{title}: speaker_regex {speaker_regex!r} is not a valid regular expression ({exc})."
            ) from None
    root = check_root(root, title, _FOLDERS_LAYOUT)
    entries = sorted(os.listdir(root))
    loose = [os.path.join(root, n) for n in entries if is_audio(n) and os.path.isfile(os.path.join(root, n))]
    if loose:
        raise DatasetError(
            f"{title}: {len(loose)} audio file(s) directly in {root!r} have no label folder: "
            f"{format_paths(loose)}. Expected {_FOLDERS_LAYOUT}.",
            loose,
        )
    label_dirs = [n for n in entries if not is_hidden(n) and os.path.isdir(os.path.join(root, n))]
    records, unmatched, flat, nested, empty = [], [], [], [], []
    for label in label_dirs:
        folder = os.path.join(root, label)
        files = walk_audio(folder)
        if not files:
            empty.append(label)
        for path in files:
            parts = os.path.relpath(path, folder).split(os.sep)
            if regex is not None:
                speaker = _speaker_from_name(regex, parts[-1])
                if not speaker:
                    unmatched.append(path)
                    continue
            elif len(parts) > 1:
                speaker = parts[0]
                nested.append(path)
            else:
                speaker = None
                flat.append(path)
            records.append({"path": path, "code": label, "speaker": speaker})
    if unmatched:
        raise DatasetError(
            f"{title}: speaker_regex {speaker_regex!r} does not match {len(unmatched)} file "
            f"name(s): {format_paths(unmatched)}.",
            unmatched,
        )
    if not records:
        raise DatasetError(
            f"{title}: no audio files (.wav, .flac) in label folders under {root!r}; expected {_FOLDERS_LAYOUT}.",
            [root],
        )
    if flat and nested:
        raise DatasetError(
            f"{title}: {len(flat)} file(s) sit directly in their label folder while others are in "
            f"speaker subfolders: {format_paths(flat)}. Put every file in a speaker subfolder, or "
            f"pass speaker_regex=.",
            flat,
        )
    has_speakers = not flat
    notes = []
    if empty:
        notes.append(f"label folder(s) without audio, ignored: {', '.join(empty)}.")
    if not has_speakers:
        warnings.warn(
            f"{title}: no speaker_regex and no speaker subfolders under {root!r}; {_NO_SPEAKER}.",
            UserWarning,
            stacklevel=3,
        )
        notes.append(_NO_SPEAKER + ".")
        for r in records:
            r["speaker"] = os.path.relpath(r["path"], root)

    info = {
        "speaker_source": (
            f"speaker_regex {speaker_regex!r} on the file name"
            if regex is not None
            else "the subfolder of the label folder"
            if has_speakers
            else "none (each clip its own speaker)"
        ),
        "protocol_description": (
            f"{n_folds} folds, speakers dealt round-robin"
            if has_speakers
            else f"{n_folds} folds by file, stratified by label"
        ),
        "notes": notes,
    }
    return build_dataset(
        "folders",
        "folders",
        root,
        protocol,
        records,
        default_map={lab: lab for lab in label_dirs},
        class_map=class_map,
        classes=classes,
        check_files=check_files,
        info=info,
        make_folds=lambda kept: _kfold_folds(title, kept, n_folds, has_speakers, notes),
        speaker_independent=has_speakers,
    )
