"""Loaders of the acted corpora whose file names carry the labels: RAVDESS,
CREMA-D, Emo-DB and TESS.

Every audio file (``.wav``, ``.flac``; hidden files skipped) under the root must
follow the corpus's naming scheme: a file that does not is an error that names
it, never skipped. Classes use the three-letter codes shared by all zsfuse
loaders (``ang``, ``hap``, ``neu``, ``sad``, ``fea``, ``dis``, ``sur``, ``cal``,
``bor``), so that corpora can be combined.
"""

from __future__ import annotations

import os
import re
import warnings

from ._base import (
    DatasetError,
    build_dataset,
    check_root,
    folds_from_test_groups,
    format_paths,
    group_fold_name,
    kfold_by_group,
    listed_from_disk,
    natural_key,
    walk_audio,
)

__all__ = [
    "EMOBOX_RAVDESS_FOLDS",
    "emodb_speaker",
    "load_crema_d",
    "load_emo_db",
    "load_ravdess",
    "load_tess",
    "ravdess_speaker",
]

#: RAVDESS emotion code (third field) -> class.
RAVDESS_MAP = {"01": "neu", "02": "cal", "03": "hap", "04": "sad", "05": "ang", "06": "fea", "07": "dis", "08": "sur"}
#: CREMA-D emotion code (third field) -> class.
CREMAD_MAP = {"ANG": "ang", "DIS": "dis", "FEA": "fea", "HAP": "hap", "NEU": "neu", "SAD": "sad"}
#: Emo-DB emotion letter (sixth character, German initial) -> class.
EMODB_MAP = {"W": "ang", "L": "bor", "E": "dis", "A": "fea", "F": "hap", "T": "sad", "N": "neu"}
#: TESS emotion word (last part of the file name, lower case) -> class.
TESS_MAP = {
    "angry": "ang",
    "anger": "ang",
    "disgust": "dis",
    "disgusted": "dis",
    "fear": "fea",
    "fearful": "fea",
    "happy": "hap",
    "happiness": "hap",
    "neutral": "neu",
    "ps": "sur",
    "pleasant_surprise": "sur",
    "pleasant_surprised": "sur",
    "surprise": "sur",
    "surprised": "sur",
    "sad": "sad",
    "sadness": "sad",
}

#: The test actors of EmoBox's six RAVDESS folds (``data/ravdess/fold_<k>/ravdess_test_fold_<k>.jsonl``
#: of github.com/emo-box/EmoBox): fold ``k`` tests on ``EMOBOX_RAVDESS_FOLDS[k - 1]`` and trains on the
#: other 20 actors. RAVDESS protocol ``"emobox"``, the default.
EMOBOX_RAVDESS_FOLDS = (
    (1, 11, 20, 21),
    (4, 10, 12, 14),
    (8, 9, 19, 23),
    (3, 5, 7, 24),
    (2, 15, 16, 18),
    (6, 13, 17, 22),
)
#: RAVDESS protocols; ``"6fold"`` is the former name of ``"6fold-consecutive"`` (it warns).
RAVDESS_PROTOCOLS = ("emobox", "6fold-consecutive", "loso")

_RAVDESS_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
_ACTOR_DIR = re.compile(r"^actor_?(\d+)$", re.IGNORECASE)
_CREMAD_NAME = re.compile(r"^(\d{4})_([A-Za-z]{3})_([A-Za-z]{3})_([A-Za-z]{2})$")
_EMODB_NAME = re.compile(r"^(\d\d)([a-z]\d\d)([A-Za-z])([a-z])$")
_TESS_SPEAKER = re.compile(r"^[A-Za-z]+$")

_RAVDESS_LAYOUT = (
    "RAVDESS clips named MM-VV-EE-II-SS-RR-AA.wav (modality, vocal channel, emotion, intensity, "
    "statement, repetition, actor), usually in Actor_NN folders, e.g. "
    "Actor_01/03-01-05-01-01-01-01.wav"
)
_CREMAD_LAYOUT = (
    "CREMA-D clips named SSSS_TTT_EEE_LL.wav (speaker, sentence, emotion, level), in the root or "
    "its AudioWAV folder, e.g. AudioWAV/1001_DFA_ANG_XX.wav"
)
_EMODB_LAYOUT = (
    "Emo-DB clips named SSTTTEV.wav (speaker, text, emotion letter, version), in the root or its "
    "wav folder, e.g. wav/03a01Fa.wav"
)
_TESS_LAYOUT = (
    "TESS clips named <SPEAKER>_<word>_<emotion>.wav in <SPEAKER>_<emotion> folders, e.g. OAF_angry/OAF_back_angry.wav"
)


def _scan(root, title, layout, parse):
    """Parse every audio file under ``root``; raise on files that do not follow the naming scheme."""
    files = walk_audio(root)
    if not files:
        raise DatasetError(f"{title}: no audio files (.wav, .flac) under {root!r}; expected {layout}.", [root])
    records, bad = [], []
    for path in files:
        record = parse(path)
        if record is None:
            bad.append(path)
        else:
            records.append(record)
    if bad:
        raise DatasetError(
            f"{title}: {len(bad)} audio file(s) under {root!r} do not follow the naming scheme: "
            f"{format_paths(bad)}. Expected {layout}; point root at the corpus folder, or "
            f"move the other files out of it.",
            bad,
        )
    names = {}
    for r in records:
        names.setdefault(_stem(r["path"]).lower(), []).append(r["path"])
    twice = [p for ps in names.values() if len(ps) > 1 for p in ps]
    if twice:
        raise DatasetError(
            f"{title}: {len(twice)} files are copies of the same clip (same name in several "
            f"folders): {format_paths(twice)}. Point root at one copy of the corpus.",
            twice,
        )
    return records


def _subfolder(root, name):
    """``root/name`` if it is a folder (the corpus's own layout), else ``root``."""
    inner = os.path.join(root, name)
    return inner if os.path.isdir(inner) else root


def _unknown_protocol(title, protocol, known):
    return DatasetError(f"{title}: unknown protocol {protocol!r}; choose one of {', '.join(map(repr, known))}.")


def _check_protocol(title, protocol, known):
    """The protocol asked for, in lower case (``known[0]`` for None); one not in ``known`` raises."""
    protocol = known[0] if protocol is None else str(protocol).lower()
    if protocol not in known:
        raise _unknown_protocol(title, protocol, known)
    return protocol


def _stem(path):
    """The file name without its extension."""
    return os.path.splitext(os.path.basename(path))[0]


def _parse_by_name(pattern):
    """A ``parse`` for clips whose name gives the speaker (group 1) and the emotion code (group 3)."""

    def parse(path):
        m = pattern.match(_stem(path))
        if not m:
            return None
        return {"path": path, "code": m.group(3).upper(), "speaker": m.group(1)}

    return parse


def ravdess_speaker(stem):
    """The speaker of a RAVDESS clip, from its file name.

    Parameters
    ----------
    stem : str
        The file name without extension, ``MM-VV-EE-II-SS-RR-AA``.

    Returns
    -------
    str or None
        ``Actor_NN`` from the actor field ``AA``; None for a name that is not
        a RAVDESS name.

    Examples
    --------
    >>> ravdess_speaker("03-01-05-01-01-01-07")
    'Actor_07'
    """
    m = _RAVDESS_NAME.match(stem)
    return f"Actor_{int(m.group(7)):02d}" if m else None


def emodb_speaker(stem):
    """The speaker of an Emo-DB clip, from its file name.

    Parameters
    ----------
    stem : str
        The file name without extension, ``SSTTTEV``.

    Returns
    -------
    str or None
        The two-digit speaker id ``SS``; None for a name that is not an
        Emo-DB name.

    Examples
    --------
    >>> emodb_speaker("03a01Fa")
    '03'
    """
    m = _EMODB_NAME.match(stem)
    return m.group(1) if m else None


# ---------------------------------------------------------------------------
# RAVDESS
# ---------------------------------------------------------------------------


def load_ravdess(root, *, protocol=None, class_map=None, classes=None, check_files=True, channel="speech"):
    """Load RAVDESS (the audio-only speech, or song, part).

    Parameters
    ----------
    root : str or path-like
        The RAVDESS folder: ``Actor_01/03-01-01-01-01-01-01.wav`` ... Every audio
        file under it must be named ``MM-VV-EE-II-SS-RR-AA`` (modality, vocal
        channel, emotion, intensity, statement, repetition, actor).
    protocol : {"emobox", "6fold-consecutive", "loso"}, default "emobox"
        ``"emobox"``: EmoBox's 6 folds of 4 actors (:data:`EMOBOX_RAVDESS_FOLDS`):
        ``fold_1`` tests on actors 1, 11, 20, 21; ``fold_2`` on 4, 10, 12, 14;
        ``fold_3`` on 8, 9, 19, 23; ``fold_4`` on 3, 5, 7, 24; ``fold_5`` on
        2, 15, 16, 18; ``fold_6`` on 6, 13, 17, 22; each trains on the other
        20. With the default ``channel="speech"`` these are EmoBox's RAVDESS
        folds clip for clip. ``"6fold-consecutive"``: 6 folds of 4 consecutive
        actors; fold ``k`` tests on actors ``4k-3 .. 4k`` (fold_1: actors 1-4,
        ..., fold_6: actors 21-24). ``"6fold"``, its former name, still selects
        it, with a ``FutureWarning``. ``"loso"``: leave one actor out (24 folds,
        named ``Actor_NN``).
    class_map : dict, optional
        Overrides of the default map (emotion code ``EE``: 01 ``neu``, 02
        ``cal``, 03 ``hap``, 04 ``sad``, 05 ``ang``, 06 ``fea``, 07 ``dis``, 08
        ``sur``), keyed by code or class, e.g. ``{"cal": "neu"}``; None
        excludes a code.
    classes : sequence of str, optional
        Keep only these classes (after the class map).
    check_files : bool, default True
        Unused (the files are listed from the disk); kept for a uniform API.
    channel : {"speech", "song", "both"}, default "speech"
        Vocal channel (``VV``: 01 speech, 02 song) to keep; clips of the other
        channel are left out and counted in ``info["other_channel"]``.

    Returns
    -------
    Dataset
        Speakers are ``Actor_NN`` (from ``AA``).
    """
    title = "RAVDESS"
    if protocol is not None and str(protocol).lower() == "6fold":
        warnings.warn(
            "RAVDESS protocol '6fold' is now called '6fold-consecutive' (folds of actors 1-4, 5-8, ..., 21-24); "
            "the default is now 'emobox', EmoBox's six folds. Pass protocol='6fold-consecutive' to keep the "
            "old folds without this warning, or protocol='emobox' to compare with EmoBox.",
            FutureWarning,
            stacklevel=2,
        )
        protocol = "6fold-consecutive"
    protocol = _check_protocol(title, protocol, RAVDESS_PROTOCOLS)
    channels = {"speech": {"01"}, "song": {"02"}, "both": {"01", "02"}}
    if channel not in channels:
        raise DatasetError(f"{title}: channel must be 'speech', 'song' or 'both', got {channel!r}.")
    root = check_root(root, title, _RAVDESS_LAYOUT)

    def parse(path):
        m = _RAVDESS_NAME.match(_stem(path))
        if not m:
            return None
        actor = int(m.group(7))
        folder = _ACTOR_DIR.match(os.path.basename(os.path.dirname(path)))
        if folder and int(folder.group(1)) != actor:
            return None  # Actor_03/..-05.wav: the name and the folder disagree
        return {"path": path, "code": m.group(3), "vocal": m.group(2), "actor": actor, "speaker": f"Actor_{actor:02d}"}

    records = _scan(root, title, _RAVDESS_LAYOUT + " (the actor AA matching the Actor_NN folder)", parse)
    wanted = channels[channel]
    other = sum(r["vocal"] not in wanted for r in records)
    bad_channel = sorted({r["vocal"] for r in records} - {"01", "02"})
    if bad_channel:
        files = [r["path"] for r in records if r["vocal"] in bad_channel]
        raise DatasetError(
            f"{title}: vocal channel code(s) {bad_channel} are neither 01 (speech) nor 02 "
            f"(song): {format_paths(files)}.",
            files,
        )
    records = [r for r in records if r["vocal"] in wanted]
    if not records:
        raise DatasetError(
            f"{title}: no {channel} clips under {root!r} (vocal channel VV = "
            f"{'/'.join(sorted(wanted))}); {other} clips of the other channel were found. "
            f"Use channel='song' or 'both'.",
            [root],
        )

    def make_folds(kept):
        if protocol == "emobox":
            tests = [(f"fold_{k}", set(actors)) for k, actors in enumerate(EMOBOX_RAVDESS_FOLDS, 1)]
        elif protocol == "6fold-consecutive":
            tests = [(f"fold_{k}", set(range(4 * k - 3, 4 * k + 1))) for k in range(1, 7)]
        else:
            tests = [(f"Actor_{a:02d}", {a}) for a in sorted({r["actor"] for r in kept})]
        return folds_from_test_groups(kept, "actor", tests)

    info = {
        "channel": channel,
        "other_channel": other,
        "speaker_source": "actor AA of the file name (Actor_NN)",
        "protocol_description": {
            "emobox": "EmoBox's 6 folds of 4 actors (fold_1 tests actors 1, 11, 20, 21; fold_2 4, 10, 12, 14; "
            "fold_3 8, 9, 19, 23; fold_4 3, 5, 7, 24; fold_5 2, 15, 16, 18; fold_6 6, 13, 17, 22)",
            "6fold-consecutive": "6 folds of 4 consecutive actors (fold k tests actors 4k-3..4k)",
            "loso": "leave one actor out",
        }[protocol],
    }
    return build_dataset(
        "ravdess",
        title,
        root,
        protocol,
        records,
        default_map=RAVDESS_MAP,
        class_map=class_map,
        classes=classes,
        check_files=check_files,
        make_folds=make_folds,
        info=info,
        code_hint="01-08 (neutral, calm, happy, sad, angry, fearful, disgust, surprised)",
    )


# ---------------------------------------------------------------------------
# CREMA-D
# ---------------------------------------------------------------------------


def _kfold_protocol(title, protocol, default):
    protocol = default if protocol is None else str(protocol).lower()
    if protocol in ("split", "loso"):
        return protocol, None
    m = re.fullmatch(r"(\d+)fold", protocol)
    if m and int(m.group(1)) >= 2:
        return protocol, int(m.group(1))
    raise _unknown_protocol(title, protocol, (default, "<k>fold", "split", "loso"))


@listed_from_disk("Speakers are the four-digit ids ``SSSS``.")
def load_crema_d(root, *, protocol=None, class_map=None, classes=None, check_files=True):
    """Load CREMA-D.

    Parameters
    ----------
    root : str or path-like
        The CREMA-D folder (its ``AudioWAV`` subfolder is used when present)
        with clips ``SSSS_TTT_EEE_LL.wav``: speaker (1001-1091), sentence,
        emotion (ANG, DIS, FEA, HAP, NEU, SAD), level.
    protocol : {"5fold", "<k>fold", "split", "loso"}, default "5fold"
        ``"<k>fold"``: k speaker-independent folds; the speaker ids, sorted,
        are dealt round-robin (the i-th speaker tests in fold ``i % k + 1``),
        so every run gives the same folds. ``"split"``: one speaker-independent
        split, fold 1 of ``"5fold"`` (test on 1 speaker in 5, train on the rest).
        ``"loso"``: leave one speaker out (91 folds).
    class_map : dict, optional
        Overrides of the default map (ANG ``ang``, DIS ``dis``, FEA ``fea``,
        HAP ``hap``, NEU ``neu``, SAD ``sad``), keyed by code or class.
    """
    title = "CREMA-D"
    protocol, k = _kfold_protocol(title, protocol, "5fold")
    root = check_root(root, title, _CREMAD_LAYOUT)

    records = _scan(_subfolder(root, "AudioWAV"), title, _CREMAD_LAYOUT, _parse_by_name(_CREMAD_NAME))

    def make_folds(kept):
        speakers = {r["speaker"] for r in kept}
        if protocol == "loso":
            tests = [(group_fold_name(s), {s}) for s in sorted(speakers, key=natural_key)]
        else:
            n = 5 if protocol == "split" else k
            if n > len(speakers):
                raise DatasetError(
                    f"{title}: protocol {protocol!r} needs at least {n} speakers; {len(speakers)} are under {root!r}."
                )
            assignment = kfold_by_group(speakers, n)
            tests = [(f"fold_{i}", {s for s, f in assignment.items() if f == i}) for i in range(1, n + 1)]
            if protocol == "split":
                tests = [("split", tests[0][1])]
        return folds_from_test_groups(kept, "speaker", tests)

    description = {
        "loso": "leave one speaker out",
        "split": "one speaker-independent split: fold 1 of 5 (speakers dealt round-robin)",
    }.get(protocol, f"{k} speaker-independent folds (sorted speaker ids dealt round-robin)")
    info = {"speaker_source": "speaker id SSSS of the file name", "protocol_description": description}
    return build_dataset(
        "crema-d",
        title,
        root,
        protocol,
        records,
        default_map=CREMAD_MAP,
        class_map=class_map,
        classes=classes,
        check_files=check_files,
        make_folds=make_folds,
        info=info,
    )


# ---------------------------------------------------------------------------
# Emo-DB
# ---------------------------------------------------------------------------


@listed_from_disk("Speakers are the two-digit ids ``SS``.")
def load_emo_db(root, *, protocol=None, class_map=None, classes=None, check_files=True):
    """Load Emo-DB (the Berlin Database of Emotional Speech).

    Parameters
    ----------
    root : str or path-like
        The Emo-DB folder (its ``wav`` subfolder is used when present) with
        clips ``SSTTTEV.wav``, e.g. ``03a01Fa.wav``: speaker ``SS``, text
        ``TTT``, emotion letter ``E``, version ``V``.
    protocol : {"loso"}, default "loso"
        Leave one speaker out: 10 folds, named ``speaker_SS``.
    class_map : dict, optional
        Overrides of the default map (W anger ``ang``, L boredom ``bor``, E
        disgust ``dis``, A fear ``fea``, F happiness ``hap``, T sadness
        ``sad``, N neutral ``neu``), keyed by letter or class.
    """
    title = "Emo-DB"
    protocol = _check_protocol(title, protocol, ("loso",))
    root = check_root(root, title, _EMODB_LAYOUT)

    records = _scan(_subfolder(root, "wav"), title, _EMODB_LAYOUT, _parse_by_name(_EMODB_NAME))

    def make_folds(kept):
        speakers = sorted({r["speaker"] for r in kept}, key=natural_key)
        return folds_from_test_groups(kept, "speaker", [(group_fold_name(s), {s}) for s in speakers])

    info = {"speaker_source": "speaker id SS of the file name", "protocol_description": "leave one speaker out"}
    return build_dataset(
        "emo-db",
        title,
        root,
        protocol,
        records,
        default_map=EMODB_MAP,
        class_map=class_map,
        classes=classes,
        check_files=check_files,
        make_folds=make_folds,
        info=info,
        code_hint="W, L, E, A, F, T, N (anger, boredom, disgust, fear, happiness, sadness, neutral)",
    )


# ---------------------------------------------------------------------------
# TESS
# ---------------------------------------------------------------------------


def _norm_word(text):
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


@listed_from_disk("Speakers are ``OAF`` and ``YAF`` (upper case).")
def load_tess(root, *, protocol=None, class_map=None, classes=None, check_files=True):
    """Load TESS (the Toronto Emotional Speech Set).

    Parameters
    ----------
    root : str or path-like
        The TESS folder, with clips ``<SPEAKER>_<word>_<emotion>.wav`` (e.g.
        ``OAF_angry/OAF_back_angry.wav``) at any depth. Labels and speakers are
        read from the *file name*, so the folder names, whose spelling varies
        between copies (``YAF_pleasant_surprised``, ``YAF_Pleasant_surprise``,
        ``OAF_Fear``), do not matter; a file named only ``<SPEAKER>_<word>``
        takes its emotion from its ``<SPEAKER>_<emotion>`` folder. Emotion words
        are matched case-insensitively, with spaces and hyphens read as ``_``.
    protocol : {"loso"}, default "loso"
        Leave one speaker out: 2 folds, ``OAF`` and ``YAF``.
    class_map : dict, optional
        Overrides of the default map (angry ``ang``, disgust ``dis``, fear
        ``fea``, happy ``hap``, neutral ``neu``, ps / pleasant_surprise(d)
        ``sur``, sad ``sad``), keyed by word or class.
    """
    title = "TESS"
    protocol = _check_protocol(title, protocol, ("loso",))
    root = check_root(root, title, _TESS_LAYOUT)

    def parse(path):
        parts = _stem(path).split("_")
        if len(parts) >= 3:
            emotion = "_".join(parts[2:])
        elif len(parts) == 2:
            folder = os.path.basename(os.path.dirname(path)).split("_", 1)
            if len(folder) != 2 or folder[0].upper() != parts[0].upper():
                return None
            emotion = folder[1]
        else:
            return None
        if not _TESS_SPEAKER.match(parts[0]) or not emotion:
            return None
        return {"path": path, "code": _norm_word(emotion), "speaker": parts[0].upper()}

    records = _scan(root, title, _TESS_LAYOUT, parse)

    def make_folds(kept):
        speakers = sorted({r["speaker"] for r in kept}, key=natural_key)
        if len(speakers) < 2:
            raise DatasetError(
                f"{title}: only speaker {speakers[0]!r} under {root!r}; leave-one-speaker-out needs both OAF and YAF.",
                [root],
            )
        return folds_from_test_groups(kept, "speaker", [(s, {s}) for s in speakers])

    info = {"speaker_source": "first part of the file name (OAF, YAF)", "protocol_description": "leave one speaker out"}
    return build_dataset(
        "tess",
        title,
        root,
        protocol,
        records,
        default_map=TESS_MAP,
        class_map=class_map,
        classes=classes,
        check_files=check_files,
        make_folds=make_folds,
        info=info,
        code_hint="angry, disgust, fear, happy, neutral, ps (pleasant surprise), sad",
    )
