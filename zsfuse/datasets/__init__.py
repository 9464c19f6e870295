"""Speech emotion datasets: clips, labels, speakers and the protocol's folds,
read from files you already have.

The loaders only list and parse: nothing is downloaded and no audio is
decoded. Every loader returns a :class:`Dataset` whose folds are
speaker-independent (checked), with class maps as parameters; unknown emotion
codes, files that do not follow a corpus's naming scheme, and missing files
raise :class:`DatasetError` naming the files. Codes that a protocol leaves out
(e.g. IEMOCAP's frustration) are not errors: they are counted in
``Dataset.info["excluded"]``.

Importing this package is cheap: it needs numpy and the standard library only.

Examples
--------
>>> from zsfuse.datasets import load_dataset
>>> ds = load_dataset("ravdess", "/data/RAVDESS")                 # doctest: +SKIP
>>> print(ds.describe())                                          # doctest: +SKIP
>>> for fold in ds.folds:                                         # doctest: +SKIP
...     train_paths = [ds.paths[i] for i in fold.train]
...     y_train = ds.labels[fold.train]

See ``docs/datasets.md`` for each corpus's layout, class map and folds.
"""

from __future__ import annotations

import inspect

from ..exceptions import DatasetError, DatasetOptionError
from ._base import AUDIO_EXTENSIONS, Dataset, Fold
from ._corpora import load_crema_d, load_emo_db, load_ravdess, load_tess
from ._emobox import load_emobox
from ._iemocap import load_iemocap
from ._manifest import load_folders, load_manifest
from ._msp import load_msp_podcast

__all__ = [
    "AUDIO_EXTENSIONS",
    "DATASETS",
    "Dataset",
    "DatasetError",
    "Fold",
    "load_crema_d",
    "load_dataset",
    "load_emo_db",
    "load_emobox",
    "load_folders",
    "load_iemocap",
    "load_manifest",
    "load_msp_podcast",
    "load_ravdess",
    "load_tess",
]

#: Canonical dataset name -> what it loads (the names :func:`load_dataset` takes).
DATASETS = {
    "emobox": "EmoBox metadata folders (<dataset>/fold_<k>/*.jsonl + label_map.json), EmoBox's folds",
    "ravdess": "RAVDESS speech (Actor_NN/MM-VV-EE-II-SS-RR-AA.wav), 6 folds of 4 actors",
    "crema-d": "CREMA-D (SSSS_TTT_EEE_LL.wav), 5 speaker-independent folds",
    "iemocap": "IEMOCAP (SessionN/...), 4 classes (exc -> hap), leave one session out",
    "emo-db": "Emo-DB (wav/SSTTTEV.wav), leave one speaker out (10 folds)",
    "tess": "TESS (<SPEAKER>_<emotion>/*.wav), leave one speaker out (2 folds)",
    "msp-podcast": "MSP-Podcast (Labels/labels_consensus.csv + Audios/), the official split",
    "manifest": "your CSV/TSV/JSONL manifest (path, label, speaker, optional split or fold)",
    "folders": "one folder per label (root/<label>/*.wav), speaker-independent k folds",
}

_LOADERS = {
    "emobox": load_emobox,
    "ravdess": load_ravdess,
    "crema-d": load_crema_d,
    "iemocap": load_iemocap,
    "emo-db": load_emo_db,
    "tess": load_tess,
    "msp-podcast": load_msp_podcast,
    "manifest": load_manifest,
    "folders": load_folders,
}

# squashed name (lower case, letters and digits only) -> canonical name
_ALIASES = {
    "emobox": "emobox",
    "ravdess": "ravdess",
    "cremad": "crema-d", "crema": "crema-d",
    "iemocap": "iemocap",
    "emodb": "emo-db", "berlin": "emo-db",
    "tess": "tess",
    "msppodcast": "msp-podcast", "msp": "msp-podcast",
    "manifest": "manifest", "csv": "manifest", "jsonl": "manifest",
    "folders": "folders", "folder": "folders",
}

#: Options load_dataset accepts for every dataset when they are None (None = the loader's default).
_NEUTRAL_WHEN_NONE = ("protocol", "class_map", "classes", "prefix", "fold", "dataset")


def _canonical(name):
    if not isinstance(name, str):
        raise DatasetError(f"the dataset name must be a string, one of {', '.join(DATASETS)}; got {name!r}")
    squashed = "".join(ch for ch in name.lower() if ch.isalnum())
    if squashed not in _ALIASES:
        raise DatasetError(f"unknown dataset {name!r}; the known datasets are {', '.join(DATASETS)} "
                           f"(case-insensitive; 'cremad', 'emodb', 'msppodcast' work too).")
    return _ALIASES[squashed]


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
    canonical = _canonical(name)
    loader = _LOADERS[canonical]
    accepted = [p.name for p in inspect.signature(loader).parameters.values()
                if p.kind is inspect.Parameter.KEYWORD_ONLY]
    unknown = [k for k, v in options.items() if k not in accepted and not (v is None and k in _NEUTRAL_WHEN_NONE)]
    if unknown:
        raise DatasetOptionError(f"dataset {canonical!r} takes no option(s) {', '.join(map(repr, unknown))}; its options "
                           f"are {', '.join(accepted)} (see zsfuse.datasets.{loader.__name__}).")
    return loader(root, **{k: v for k, v in options.items() if k in accepted})
