"""Loader of IEMOCAP: labels from the EmoEvaluation files, clips from
``sentences/wav``, leave-one-session-out folds."""

from __future__ import annotations

import os
import re

from ._base import (
    DatasetError,
    build_dataset,
    check_root,
    folds_from_test_groups,
    format_paths,
    is_hidden,
    natural_key,
    resolve_audio,
)

__all__ = ["IEMOCAP_MAP", "iemocap_speaker", "load_iemocap"]

#: The 4-class protocol: excited merged into happy; the other codes are excluded.
IEMOCAP_MAP = {
    "neu": "neu",
    "hap": "hap",
    "exc": "hap",
    "ang": "ang",
    "sad": "sad",
    "fru": None,
    "sur": None,
    "fea": None,
    "oth": None,
    "xxx": None,
    "dis": None,
}

_SESSION_DIR = re.compile(r"^Session(\d+)$", re.IGNORECASE)
_LINE = re.compile(r"^\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\s+(\S+)\s+(\S+)")
_UTTERANCE = re.compile(r"^(Ses\d+)[FM]_.*_([FM])\d+$", re.IGNORECASE)

_LAYOUT = (
    "the IEMOCAP folder with Session1 ... Session5, each holding dialog/EmoEvaluation/*.txt (lines like "
    "'[6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000, 2.5000, 2.5000]') and "
    "sentences/wav/<dialog>/<utterance>.wav"
)


def iemocap_speaker(utterance):
    """Speaker of an IEMOCAP utterance id: its session and the gender letter of the utterance.

    The letter after ``SesNN`` names who wore the motion capture markers in
    the dialog; the speaker of the *utterance* is the letter before its last
    digits: ``Ses01F_impro01_M000`` is spoken by the male actor of session 1.

    Parameters
    ----------
    utterance : str
        An utterance id (or a file name without extension).

    Returns
    -------
    str or None
        ``"Ses01M"`` for ``"Ses01F_impro01_M000"``; None if the id does not
        follow the scheme.

    Examples
    --------
    >>> iemocap_speaker("Ses01F_impro01_M000"), iemocap_speaker("Ses05M_script02_2_F014")
    ('Ses01M', 'Ses05F')
    """
    m = _UTTERANCE.match(str(utterance))
    if not m:
        return None
    return m.group(1)[:3].capitalize() + m.group(1)[3:] + m.group(2).upper()


def _find_sessions(root):
    """``{session number: folder}`` under root (or under its one subfolder, e.g. IEMOCAP_full_release)."""

    def sessions_in(folder):
        out = {}
        for name in sorted(os.listdir(folder)):
            m = _SESSION_DIR.match(name)
            if m and os.path.isdir(os.path.join(folder, name)):
                out[int(m.group(1))] = os.path.join(folder, name)
        return out

    found = sessions_in(root)
    if not found:
        for name in sorted(os.listdir(root)):
            inner = os.path.join(root, name)
            if not is_hidden(name) and os.path.isdir(inner):
                found = sessions_in(inner)
                if found:
                    break
    return found


def load_iemocap(root, *, protocol=None, class_map=None, classes=None, check_files=True):
    """Load IEMOCAP with the usual 4-class protocol.

    Parameters
    ----------
    root : str or path-like
        The IEMOCAP folder (e.g. ``IEMOCAP_full_release``) holding ``Session1``
        ... ``Session5``. Labels are read from every
        ``SessionN/dialog/EmoEvaluation/*.txt`` (the lines starting with
        ``[start - end]``); the clip of utterance ``U`` of dialog ``D`` is
        ``SessionN/sentences/wav/D/U.wav`` (or ``.flac``).
    protocol : {"session", "loso"}, default "session"
        ``"session"``: leave one session out (5 folds, ``Session1`` ...).
        ``"loso"``: leave one speaker out (10 folds, ``Ses01F`` ...).
    class_map : dict, optional
        Overrides of the default map, keyed by code or class. The default is
        the 4-class protocol: ``neu``, ``hap``, ``ang``, ``sad``, with ``exc``
        (excited) merged into ``hap``; ``fru``, ``sur``, ``fea``, ``oth``,
        ``xxx`` (no agreement) and ``dis`` are excluded (not an error:
        counted per code in ``info["excluded"]``). E.g. ``{"exc": None}``
        keeps excited out, ``{"fru": "fru"}`` adds frustration.
    classes : sequence of str, optional
        Keep only these classes (after the class map).
    check_files : bool, default True
        Check that the clip of every kept utterance exists.

    Returns
    -------
    Dataset
        Speakers are session + gender of the utterance (``Ses01F``,
        ``Ses01M``, ...; see :func:`iemocap_speaker`).
    """
    title = "IEMOCAP"
    protocol = "session" if protocol is None else str(protocol).lower()
    if protocol not in ("session", "loso"):
        raise DatasetError(
            f"{title}: unknown protocol {protocol!r}; choose 'session' (leave one session out, "
            f"the default) or 'loso' (leave one speaker out)."
        )
    root = check_root(root, title, _LAYOUT)
    sessions = _find_sessions(root)
    if not sessions:
        raise DatasetError(f"{title}: no Session<N> folders under {root!r}; expected {_LAYOUT}.", [root])

    records, seen, bad_ids = [], {}, []
    label_files = 0
    for number, folder in sorted(sessions.items()):
        evaluation = os.path.join(folder, "dialog", "EmoEvaluation")
        if not os.path.isdir(evaluation):
            raise DatasetError(f"{title}: {evaluation!r} is missing; expected {_LAYOUT}.", [evaluation])
        txts = sorted(
            f
            for f in os.listdir(evaluation)
            if f.lower().endswith(".txt") and not is_hidden(f) and os.path.isfile(os.path.join(evaluation, f))
        )
        if not txts:
            raise DatasetError(f"{title}: no label files (*.txt) in {evaluation!r}; expected {_LAYOUT}.", [evaluation])
        for txt in txts:
            label_files += 1
            label_path = os.path.join(evaluation, txt)
            with open(label_path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    m = _LINE.match(line)
                    if not m:
                        continue
                    utterance, code = m.group(3), m.group(4).lower()
                    speaker = iemocap_speaker(utterance)
                    if speaker is None:
                        bad_ids.append(f"{label_path}: {utterance}")
                        continue
                    if utterance in seen:
                        raise DatasetError(
                            f"{title}: utterance {utterance!r} is labelled twice, in "
                            f"{seen[utterance]!r} and {label_path!r}.",
                            [label_path],
                        )
                    seen[utterance] = label_path
                    dialog = utterance.rsplit("_", 1)[0]
                    path = os.path.join(folder, "sentences", "wav", dialog, utterance + ".wav")
                    if check_files:
                        path = resolve_audio(path) or path
                    records.append(
                        {"path": path, "code": code, "speaker": speaker, "session": number, "utterance": utterance}
                    )
    if bad_ids:
        raise DatasetError(
            f"{title}: {len(bad_ids)} utterance id(s) do not follow the IEMOCAP scheme "
            f"SesNN<F|M>_<dialog>_<F|M>NNN: {format_paths(bad_ids)}.",
            [b.split(": ")[0] for b in bad_ids],
        )
    if not records:
        raise DatasetError(
            f"{title}: the {label_files} label file(s) under {root!r} hold no label lines; expected {_LAYOUT}.", [root]
        )

    def make_folds(kept):
        if protocol == "session":
            numbers = sorted({r["session"] for r in kept})
            return folds_from_test_groups(kept, "session", [(f"Session{n}", {n}) for n in numbers])
        speakers = sorted({r["speaker"] for r in kept}, key=natural_key)
        return folds_from_test_groups(kept, "speaker", [(s, {s}) for s in speakers])

    info = {
        "sessions": sorted(sessions),
        "label_files": label_files,
        "speaker_source": "session + gender letter of the utterance id (Ses01F_impro01_M000 -> Ses01M)",
        "protocol_description": ("leave one session out" if protocol == "session" else "leave one speaker out"),
    }
    return build_dataset(
        "iemocap",
        title,
        root,
        protocol,
        records,
        default_map=IEMOCAP_MAP,
        class_map=class_map,
        classes=classes,
        check_files=check_files,
        make_folds=make_folds,
        info=info,
        missing_hint=(
            "Every labelled utterance needs its clip in SessionN/sentences/wav/<dialog>/; check that "
            "root is the complete IEMOCAP folder, or pass check_files=False."
        ),
    )
