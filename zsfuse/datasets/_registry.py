"""The datasets :func:`load_dataset` knows, in one table: names, spellings, loaders, descriptions.

:data:`REGISTRY` is the only list of datasets. :data:`DATASETS`, the
spellings :func:`load_dataset` accepts, the options it checks and the
``--dataset`` help of ``zsfuse evaluate`` are all read from it: adding a
corpus is one loader module and one :class:`DatasetEntry` here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from ..exceptions import DatasetError, DatasetOptionError
from ._corpora import load_crema_d, load_emo_db, load_ravdess, load_tess
from ._emobox import load_emobox
from ._iemocap import load_iemocap
from ._manifest import load_folders, load_manifest
from ._msp import load_msp_podcast

__all__ = ["DATASETS", "REGISTRY", "DatasetEntry", "dataset_entry", "load_dataset", "squash_name"]

#: Options load_dataset accepts for every dataset when they are None (None = the loader's default).
NEUTRAL_WHEN_NONE = ("protocol", "class_map", "classes", "prefix", "fold", "dataset")


def squash_name(name):
    """A dataset name as it is looked up: lower case, letters and digits only.

    Parameters
    ----------
    name : str
        A dataset name in any spelling.

    Returns
    -------
    str
        The name without case, punctuation or spaces.

    Examples
    --------
    >>> squash_name("MSP_Podcast")
    'msppodcast'
    """
    return "".join(ch for ch in name.lower() if ch.isalnum())


@dataclass(frozen=True)
class DatasetEntry:
    """One dataset of :data:`REGISTRY`.

    Parameters
    ----------
    name : str
        The canonical name (``"crema-d"``), a key of :data:`DATASETS`.
    loader : callable
        ``loader(root, **options) -> Dataset``; its keyword-only parameters
        are the dataset's options.
    description : str
        One line: the layout it reads and its folds.
    aliases : tuple of str, default=()
        Other spellings, squashed (:func:`squash_name`); the squashed
        canonical name is always accepted.
    """

    name: str
    loader: Callable
    description: str
    aliases: tuple = ()

    @property
    def spellings(self):
        """tuple of str: the squashed names that select this dataset, the canonical one first."""
        return (squash_name(self.name), *self.aliases)

    @property
    def options(self):
        """list of str: the loader's keyword options, in its signature's order."""
        return [
            p.name
            for p in inspect.signature(self.loader).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]


#: Every dataset load_dataset knows, in display order.
REGISTRY = (
    DatasetEntry(
        "emobox", load_emobox, "EmoBox metadata folders (<dataset>/fold_<k>/*.jsonl + label_map.json), EmoBox's folds"
    ),
    DatasetEntry(
        "ravdess", load_ravdess, "RAVDESS speech (Actor_NN/MM-VV-EE-II-SS-RR-AA.wav), EmoBox's 6 folds of 4 actors"
    ),
    DatasetEntry(
        "crema-d", load_crema_d, "CREMA-D (SSSS_TTT_EEE_LL.wav), 5 speaker-independent folds", aliases=("crema",)
    ),
    DatasetEntry("iemocap", load_iemocap, "IEMOCAP (SessionN/...), 4 classes (exc -> hap), leave one session out"),
    DatasetEntry(
        "emo-db", load_emo_db, "Emo-DB (wav/SSTTTEV.wav), leave one speaker out (10 folds)", aliases=("berlin",)
    ),
    DatasetEntry("tess", load_tess, "TESS (<SPEAKER>_<emotion>/*.wav), leave one speaker out (2 folds)"),
    DatasetEntry(
        "msp-podcast",
        load_msp_podcast,
        "MSP-Podcast (Labels/labels_consensus.csv + Audios/), the official split",
        aliases=("msp",),
    ),
    DatasetEntry(
        "manifest",
        load_manifest,
        "your CSV/TSV/JSONL manifest (path, label, speaker, optional split or fold)",
        aliases=("csv", "jsonl"),
    ),
    DatasetEntry(
        "folders",
        load_folders,
        "one folder per label (root/<label>/*.wav), speaker-independent k folds",
        aliases=("folder",),
    ),
)

#: Canonical dataset name -> what it loads (the names :func:`load_dataset` takes).
DATASETS = {entry.name: entry.description for entry in REGISTRY}

_BY_SPELLING = {spelling: entry for entry in REGISTRY for spelling in entry.spellings}


def dataset_entry(name):
    """The :class:`DatasetEntry` of a dataset name, in any accepted spelling.

    Parameters
    ----------
    name : str
        A canonical name or another spelling, case-insensitive: ``"EmoDB"``,
        ``"emo_db"`` and ``"berlin"`` all name ``"emo-db"``.

    Returns
    -------
    DatasetEntry

    Raises
    ------
    DatasetError
        For a name that is not a string or names no dataset (the message
        lists the known ones).

    Examples
    --------
    >>> dataset_entry("CremaD").name
    'crema-d'
    """
    if not isinstance(name, str):
        raise DatasetError(f"the dataset name must be a string, one of {', '.join(DATASETS)}; got {name!r}")
    entry = _BY_SPELLING.get(squash_name(name))
    if entry is None:
        squashed = [f"'{s}'" for s in (squash_name(e.name) for e in REGISTRY) if s not in DATASETS]
        raise DatasetError(
            f"unknown dataset {name!r}; the known datasets are {', '.join(DATASETS)} "
            f"(case-insensitive; {', '.join(squashed)} work too)."
        )
    return entry


def load_dataset(name, root, **options):
    """Load a dataset by name: dispatch to its loader (``load_ravdess``, ...).

    Parameters
    ----------
    name : str
        One of :data:`DATASETS` (``"emobox"``, ``"ravdess"``, ``"crema-d"``,
        ``"iemocap"``, ``"emo-db"``, ``"tess"``, ``"msp-podcast"``,
        ``"manifest"``, ``"folders"``), case-insensitive; spellings without
        ``-`` (``"cremad"``, ``"emodb"``, ``"msppodcast"``) work too.
    root : str or path-like
        Where the dataset is (see its loader).
    **options
        The loader's keyword options. All loaders take ``protocol``,
        ``class_map``, ``classes`` and ``check_files``; ``prefix`` is for
        ``emobox`` and ``manifest``; the others are dataset-specific (e.g.
        ``dataset`` and ``fold`` for ``emobox``, ``test_set`` for
        ``msp-podcast``). The common options are accepted with the value None
        by every loader (None means its default).

    Returns
    -------
    Dataset

    Raises
    ------
    DatasetError
        Unknown name, an option the loader does not take (also a
        ``TypeError``), or anything its loader raises.
    """
    entry = dataset_entry(name)
    accepted = entry.options
    if "allow_speaker_overlap" in options and "allow_speaker_overlap" not in accepted:
        if options["allow_speaker_overlap"]:
            raise DatasetOptionError(
                f"dataset {entry.name!r} takes no allow_speaker_overlap (--allow-speaker-overlap): the option is "
                "for EmoBox metadata (--dataset emobox), whose published splits may share speakers; this loader "
                "builds or checks its folds itself."
            )
        options = {k: v for k, v in options.items() if k != "allow_speaker_overlap"}
    unknown = [k for k, v in options.items() if k not in accepted and not (v is None and k in NEUTRAL_WHEN_NONE)]
    if unknown:
        raise DatasetOptionError(
            f"dataset {entry.name!r} takes no option(s) {', '.join(map(repr, unknown))}; its "
            f"options are {', '.join(accepted)} (see zsfuse.datasets.{entry.loader.__name__})."
        )
    return entry.loader(root, **{k: v for k, v in options.items() if k in accepted})
