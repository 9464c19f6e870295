"""Small labelled corpora of speech-like clips: a folder tree, and the demo's corpus with its manifest."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from ._audio import speechlike, write_wav

#: Per-class voice settings of :func:`make_audio_tree` (cycled for more labels).
_TREE_STYLES = (
    dict(f0=180.0, contour="rise", energy=0.9, tempo=6.0),
    dict(f0=220.0, contour="rise", energy=0.6, tempo=5.0),
    dict(f0=130.0, contour="flat", energy=0.4, tempo=4.0),
    dict(f0=110.0, contour="fall", energy=0.25, tempo=2.5),
)


def make_audio_tree(
    root, labels=("angry", "happy", "neutral", "sad"), n_speakers=2, n_per_class=2, seconds=1.0, rate=16000, seed=0
):
    """Write a small labelled set of speech-like clips, one folder per label.

    Files are ``root/<label>/spk<s>_<i>.wav`` (PCM_16, mono). Each label has
    its own voice style (pitch, contour, loudness, tempo: label ``j`` uses
    style ``j % 4``, from high, rising, loud and fast to low, falling, soft and
    slow); speakers shift the pitch (speaker ``s`` by a factor ``1 + 0.1 s``)
    and every clip has its own seed, so a classifier can learn the labels.

    Parameters
    ----------
    root : str or path-like
        Folder to write to (created if missing).
    labels : sequence of str, default=("angry", "happy", "neutral", "sad")
        Class names.
    n_speakers : int, default=2
        Number of speakers.
    n_per_class : int, default=2
        Clips per label and speaker.
    seconds : float, default=1.0
        Duration of each clip.
    rate : int, default=16000
        Sampling rate in Hz.
    seed : int, default=0
        Base seed; clip seeds derive from it.

    Returns
    -------
    list of dict
        One record per clip, in label, speaker, index order, with keys
        ``"path"`` (str), ``"label"`` (str) and ``"speaker"`` (str, ``"spk<s>"``).
    """
    root = Path(root)
    records = []
    k = 0
    for j, label in enumerate(labels):
        style = _TREE_STYLES[j % len(_TREE_STYLES)]
        for s in range(int(n_speakers)):
            for i in range(int(n_per_class)):
                wave = speechlike(
                    seconds,
                    rate,
                    f0=style["f0"] * (1 + 0.1 * s),
                    contour=style["contour"],
                    energy=style["energy"],
                    tempo=style["tempo"],
                    seed=int(seed) * 100003 + k,
                )
                k += 1
                path = write_wav(root / str(label) / f"spk{s}_{i}.wav", wave, rate)
                records.append({"path": path, "label": str(label), "speaker": f"spk{s}"})
    return records


def write_demo_corpus(folder, n_speakers=6, clips_per_class=4, seconds=1.5, n_folds=3):
    """Write the demo's clips and a manifest (``manifest.csv``: path, label, speaker, fold).

    The corpus of ``zsfuse demo``: :func:`make_audio_tree` with the four
    classes angry, happy, neutral and sad at 16 kHz, and a manifest whose
    paths are relative to ``folder``.

    Parameters
    ----------
    folder : str or path-like
        Where to write (``<folder>/<label>/spk<s>_<i>.wav``).
    n_speakers : int, default=6
        Generated speakers; speaker ``s`` is in test fold ``s % n_folds + 1``.
    clips_per_class : int, default=4
        Clips per class and speaker.
    seconds : float, default=1.5
        Clip length.
    n_folds : int, default=3
        Speaker-independent folds.

    Returns
    -------
    pathlib.Path
        The manifest.
    """
    folder = Path(folder)
    records = make_audio_tree(
        folder,
        labels=("angry", "happy", "neutral", "sad"),
        n_speakers=n_speakers,
        n_per_class=clips_per_class,
        seconds=seconds,
        rate=16000,
    )
    manifest = folder / "manifest.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "speaker", "fold"])
        for r in records:
            s = int(r["speaker"].removeprefix("spk"))
            writer.writerow([os.path.relpath(r["path"], folder), r["label"], r["speaker"], s % n_folds + 1])
    return manifest
