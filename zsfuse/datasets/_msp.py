"""Loader of MSP-Podcast: consensus labels, the official split."""

from __future__ import annotations

import csv
import os
import re

from ._base import DatasetError, Fold, build_dataset, check_root, resolve_audio

__all__ = ["MSP_MAP", "load_msp_podcast"]

#: The 8 emotion classes of the consensus labels; O (other) and X (no agreement) are excluded.
MSP_MAP = {
    "A": "ang",
    "S": "sad",
    "H": "hap",
    "U": "sur",
    "F": "fea",
    "D": "dis",
    "C": "con",
    "N": "neu",
    "O": None,
    "X": None,
}

_COLUMNS = ("FileName", "EmoClass", "SpkrID", "Split_Set")
_UNKNOWN = {"", "unknown", "nan", "none", "-1"}
_PODCAST = re.compile(r"^MSP-PODCAST_(\d+)_", re.IGNORECASE)
_LAYOUT = (
    "the MSP-Podcast folder with Labels/labels_consensus.csv (columns FileName, EmoClass, SpkrID, "
    "Split_Set) and the clips in Audios/<FileName> (or Audio/)"
)


def _read_labels(csv_path, title):
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        lookup = {h.lower(): raw for h, raw in zip(header, reader.fieldnames or [])}
        missing = [c for c in _COLUMNS if c.lower() not in lookup]
        if missing:
            raise DatasetError(
                f"{title}: {csv_path!r} lacks column(s) {missing}; it has {header}. Expected {_LAYOUT}.", [csv_path]
            )
        columns = {c: lookup[c.lower()] for c in _COLUMNS}
        return [{c: (row.get(columns[c]) or "").strip() for c in _COLUMNS} for row in reader]


def load_msp_podcast(
    root,
    *,
    protocol=None,
    class_map=None,
    classes=None,
    check_files=True,
    test_set="Test1",
    merge_valid=False,
    unknown_speaker="clip",
):
    """Load MSP-Podcast with its official split.

    Parameters
    ----------
    root : str or path-like
        The MSP-Podcast folder: ``Labels/labels_consensus.csv`` and
        ``Audios/<FileName>`` (``Audio/`` is accepted too).
    protocol : {"official"}, default "official"
        One fold, named after ``test_set``: train on ``Train``, test on
        ``test_set``; ``Development`` is the fold's ``valid`` part (or merged
        into train with ``merge_valid=True``). Clips of other sets (e.g.
        ``Test2``) are left out and counted in ``info["split_counts"]``.
    class_map : dict, optional
        Overrides of the default map, keyed by code or class. Default: the 8
        classes A ``ang``, S ``sad``, H ``hap``, U ``sur``, F ``fea``, D
        ``dis``, C ``con``, N ``neu``; O (other) and X (no agreement) are
        excluded (counted in ``info["excluded"]``). For the 4-class task pass
        ``classes=("ang", "hap", "neu", "sad")``.
    classes : sequence of str, optional
        Keep only these classes (after the class map).
    check_files : bool, default True
        Check that every kept clip exists.
    test_set : str, default "Test1"
        The ``Split_Set`` value to test on (case-insensitive).
    merge_valid : bool, default False
        Train on ``Train`` + ``Development`` instead of keeping
        ``Development`` as the fold's ``valid`` part.
    unknown_speaker : {"clip", "podcast", "drop"}, default "clip"
        What to do with clips whose ``SpkrID`` is ``Unknown`` (they are never
        one shared speaker): ``"clip"`` gives each its own speaker id
        ``unknown:<file stem>``; ``"podcast"`` groups them by podcast
        (``unknown:podcast<NNNN>`` from ``MSP-PODCAST_<NNNN>_...``), more
        cautious for grouped cross-validation inside the training set, but a
        podcast with unknown speakers in both train and test then fails the
        speaker-independence check; ``"drop"`` leaves them out. Their count
        is ``info["unknown_speaker_clips"]``.

    Returns
    -------
    Dataset
        Speakers are ``SpkrID`` values (unknown ones as above).
    """
    title = "MSP-Podcast"
    protocol = "official" if protocol is None else str(protocol).lower()
    if protocol != "official":
        raise DatasetError(
            f"{title}: unknown protocol {protocol!r}; the only one is 'official' (choose the test set with test_set=)."
        )
    if unknown_speaker not in ("clip", "podcast", "drop"):
        raise DatasetError(f"{title}: unknown_speaker must be 'clip', 'podcast' or 'drop', got {unknown_speaker!r}.")
    root = check_root(root, title, _LAYOUT)
    csv_path = os.path.join(root, "Labels", "labels_consensus.csv")
    if not os.path.isfile(csv_path):
        raise DatasetError(f"{title}: {csv_path!r} is missing; expected {_LAYOUT}.", [csv_path])
    audio_dir = next((os.path.join(root, d) for d in ("Audios", "Audio") if os.path.isdir(os.path.join(root, d))), None)
    if audio_dir is None:
        raise DatasetError(f"{title}: no Audios/ folder in {root!r}; expected {_LAYOUT}.", [root])
    rows = _read_labels(csv_path, title)
    if not rows:
        raise DatasetError(f"{title}: {csv_path!r} has no rows.", [csv_path])

    split_counts = {}
    for row in rows:
        split_counts[row["Split_Set"]] = split_counts.get(row["Split_Set"], 0) + 1
    by_lower = {s.lower(): s for s in split_counts}
    wanted_test = by_lower.get(str(test_set).lower())
    if wanted_test is None:
        raise DatasetError(
            f"{title}: test_set {test_set!r} is not a Split_Set of {csv_path!r}; it has {sorted(split_counts)}.",
            [csv_path],
        )
    train_set, dev_set = by_lower.get("train"), by_lower.get("development")
    if train_set is None:
        raise DatasetError(
            f"{title}: {csv_path!r} has no Train rows (Split_Set values: {sorted(split_counts)}).", [csv_path]
        )
    part_of = {train_set: "train", wanted_test: "test"}
    if dev_set is not None:
        part_of[dev_set] = "train" if merge_valid else "valid"

    records, unknown, bad = [], 0, []
    for row in rows:
        part = part_of.get(row["Split_Set"])
        if part is None:
            continue
        name = row["FileName"]
        if not name:
            bad.append(row["Split_Set"])
            continue
        path = os.path.normpath(os.path.join(audio_dir, name))
        if check_files:
            path = resolve_audio(path) or path
        speaker = row["SpkrID"]
        if speaker.lower() in _UNKNOWN:
            unknown += 1
            if unknown_speaker == "drop":
                continue
            stem = os.path.splitext(os.path.basename(name))[0]
            m = _PODCAST.match(stem)
            speaker = f"unknown:podcast{m.group(1)}" if unknown_speaker == "podcast" and m else f"unknown:{stem}"
        records.append({"path": path, "code": row["EmoClass"].upper(), "speaker": speaker, "part": part})
    if bad:
        raise DatasetError(
            f"{title}: {csv_path!r} has {len(bad)} row(s) with an empty FileName (Split_Set "
            f"{sorted(set(bad))}); fix or remove them.",
            [csv_path],
        )

    def make_folds(kept):
        parts = {p: [i for i, r in enumerate(kept) if r["part"] == p] for p in ("train", "valid", "test")}
        return [Fold(wanted_test, parts["train"], parts["test"], parts["valid"])]

    info = {
        "test_set": wanted_test,
        "merge_valid": bool(merge_valid),
        "split_counts": split_counts,
        "unknown_speaker": unknown_speaker,
        "unknown_speaker_clips": unknown,
        "speaker_source": "SpkrID column; Unknown speakers: "
        + {
            "clip": "one id per clip (unknown:<file stem>)",
            "podcast": "one id per podcast (unknown:podcast<NNNN>)",
            "drop": "clips left out",
        }[unknown_speaker],
        "protocol_description": (
            f"official split: train on Train{' + Development' if merge_valid else ''}, test on {wanted_test}"
        ),
    }
    return build_dataset(
        "msp-podcast",
        title,
        root,
        protocol,
        records,
        default_map=MSP_MAP,
        class_map=class_map,
        classes=classes,
        check_files=check_files,
        make_folds=make_folds,
        info=info,
        code_hint="A, S, H, U, F, D, C, N, O, X",
        missing_hint=f"The clips must be in {audio_dir!r} under their FileName; pass check_files=False to skip "
        f"this check.",
        leak_hint=(
            "With unknown_speaker='podcast' a podcast whose Unknown-speaker clips are in both sets "
            "leaks; use unknown_speaker='clip' or 'drop'."
            if unknown_speaker == "podcast"
            else f"{csv_path!r} puts these speakers in both sets; check the labels file."
        ),
    )
