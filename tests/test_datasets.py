"""Tests of zsfuse.datasets: loaders of SER corpora on small generated trees
that follow each corpus's real naming scheme."""

import csv
import dataclasses
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from zsfuse.datasets import (
    DATASETS,
    Dataset,
    DatasetError,
    Fold,
    load_crema_d,
    load_dataset,
    load_emo_db,
    load_emobox,
    load_folders,
    load_iemocap,
    load_manifest,
    load_msp_podcast,
    load_ravdess,
    load_tess,
)
from zsfuse.exceptions import ZsfuseError
from zsfuse.testing import make_audio_tree, speechlike, tone, write_wav

RATE = 16000
_counter = [0]


def clip(path, seconds=0.1):
    """Write a short generated clip (speech-like or a tone, alternately) and return its path."""
    _counter[0] += 1
    k = _counter[0]
    wave = speechlike(seconds, RATE, f0=100 + k % 7 * 20, seed=k) if k % 2 else tone(200 + k, seconds, RATE)
    return write_wav(path, wave, RATE)


def assert_speaker_independent(ds):
    for fold in ds.folds:
        train = set(ds.speakers[np.concatenate([fold.train, fold.valid])].tolist())
        test = set(ds.speakers[fold.test].tolist())
        assert not train & test, fold.name
        assert fold.test.size > 0 and fold.train.size > 0


def assert_well_formed(ds):
    assert isinstance(ds, Dataset)
    assert len(ds) == len(ds.paths) == len(ds.labels) == len(ds.speakers)
    assert list(ds.paths) == sorted(ds.paths)
    assert all(os.path.isabs(p) for p in ds.paths)
    assert ds.classes == tuple(sorted(set(ds.labels.tolist())))
    for fold in ds.folds:
        for part in (fold.train, fold.test, fold.valid):
            assert part.dtype == np.int64 and list(part) == sorted(set(part.tolist()))
    json.dumps(ds.info)
    text = ds.describe()
    assert str(len(ds)) in text and "\n" not in text
    assert_speaker_independent(ds)


# ---------------------------------------------------------------------------
# Trees with the real naming schemes
# ---------------------------------------------------------------------------


def make_ravdess(root, actors=range(1, 25), emotions=("01", "05"), song=False):
    for a in actors:
        for e in emotions:
            clip(root / f"Actor_{a:02d}" / f"03-01-{e}-01-01-01-{a:02d}.wav")
        if song:
            clip(root / f"Actor_{a:02d}" / f"03-02-03-01-01-01-{a:02d}.wav")
    return root


def make_cremad(root, speakers=range(1001, 1011), emotions=("ANG", "NEU")):
    for s in speakers:
        for e in emotions:
            clip(root / "AudioWAV" / f"{s}_DFA_{e}_XX.wav")
    return root


def make_emodb(root):
    speakers = ("03", "08", "09", "10", "11", "12", "13", "14", "15", "16")
    letters = "WLEAFTN"
    for i, s in enumerate(speakers):
        for j in range(2):
            clip(root / "wav" / f"{s}a0{j + 1}{letters[(i + j) % 7]}a.wav")
    return root


def make_tess(root):
    folders = {
        "OAF": ("OAF_angry", "OAF_Fear", "OAF_Pleasant_surprise", "OAF_neutral"),
        "YAF": ("YAF_angry", "YAF_fear", "YAF_pleasant_surprised", "YAF_neutral"),
    }
    for speaker, names in folders.items():
        for folder in names:
            emotion = folder.split("_", 1)[1].lower()
            word = "ps" if "surprise" in emotion else emotion
            for w in ("back", "bar"):
                clip(root / "TESS Toronto emotional speech set data" / folder / f"{speaker}_{w}_{word}.wav")
    return root


IEMOCAP_UTTERANCES = {  # dialog -> [(utterance suffix, code)]
    "impro01": [("F000", "neu"), ("M000", "exc"), ("F001", "fru"), ("M001", "ang")],
    "script01_1": [("F000", "sad"), ("M000", "hap"), ("F001", "xxx"), ("M001", "neu")],
}


def make_iemocap(root, sessions=range(1, 6), extra=None):
    for n in sessions:
        session = root / f"Session{n}"
        evaluation = session / "dialog" / "EmoEvaluation"
        evaluation.mkdir(parents=True, exist_ok=True)
        for dialog, utterances in IEMOCAP_UTTERANCES.items():
            name = f"Ses{n:02d}F_{dialog}"
            lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
            for t, (suffix, code) in enumerate(utterances):
                utterance = f"{name}_{suffix}"
                lines += [
                    f"[{t * 2.5:.4f} - {t * 2.5 + 2:.4f}]\t{utterance}\t{code}\t[2.5000, 2.5000, 2.5000]",
                    "C-E2:\tNeutral;\t()",
                    "A-E3:\tval 3; act 2; dom  2;\t()",
                    "",
                ]
                clip(session / "sentences" / "wav" / name / f"{utterance}.wav")
            (evaluation / f"{name}.txt").write_text("\n".join(lines))
        (evaluation / "Categorical").mkdir(exist_ok=True)
        (evaluation / "Categorical" / f"Ses{n:02d}F_impro01_e1_cat.txt").write_text("Ses01F_impro01_F000 :Neutral;\n")
    return root


def make_msp(root, rows):
    labels = root / "Labels"
    labels.mkdir(parents=True, exist_ok=True)
    with open(labels / "labels_consensus.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Gender", "Split_Set"])
        for name, code, speaker, split in rows:
            w.writerow([name, code, 4.0, 4.0, 4.0, speaker, "Female", split])
            clip(root / "Audios" / name)
    return root


MSP_ROWS = [
    ("MSP-PODCAST_0001_0001.wav", "A", "10", "Train"),
    ("MSP-PODCAST_0001_0002.wav", "H", "10", "Train"),
    ("MSP-PODCAST_0002_0001.wav", "N", "11", "Train"),
    ("MSP-PODCAST_0002_0002.wav", "S", "Unknown", "Train"),
    ("MSP-PODCAST_0002_0003.wav", "S", "Unknown", "Train"),
    ("MSP-PODCAST_0003_0001.wav", "O", "12", "Train"),
    ("MSP-PODCAST_0004_0001.wav", "N", "13", "Development"),
    ("MSP-PODCAST_0005_0001.wav", "A", "20", "Test1"),
    ("MSP-PODCAST_0005_0002.wav", "X", "20", "Test1"),
    ("MSP-PODCAST_0006_0001.wav", "H", "21", "Test1"),
    ("MSP-PODCAST_0006_0002.wav", "N", "Unknown", "Test1"),
    ("MSP-PODCAST_0007_0001.wav", "S", "30", "Test2"),
    ("MSP-PODCAST_0007_0002.wav", "C", "31", "Test2"),
]


@pytest.fixture(scope="module")
def ravdess(tmp_path_factory):
    return make_ravdess(tmp_path_factory.mktemp("ravdess"), song=True)


@pytest.fixture(scope="module")
def iemocap(tmp_path_factory):
    return make_iemocap(tmp_path_factory.mktemp("iemocap") / "IEMOCAP_full_release")


# ---------------------------------------------------------------------------
# The package
# ---------------------------------------------------------------------------


def test_import_loads_neither_torch_nor_transformers():
    code = (
        "import sys, zsfuse.datasets\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'msclap'))\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_datasets_names_and_unknown_name():
    assert set(DATASETS) == {
        "emobox",
        "ravdess",
        "crema-d",
        "iemocap",
        "emo-db",
        "tess",
        "msp-podcast",
        "manifest",
        "folders",
    }
    with pytest.raises(DatasetError) as err:
        load_dataset("savee", "/nowhere")
    for name in DATASETS:
        assert name in str(err.value)
    assert issubclass(DatasetError, ZsfuseError)


def test_one_registry_gives_the_names_the_spellings_and_the_options():
    import zsfuse.datasets
    from zsfuse.datasets._registry import REGISTRY, dataset_entry

    assert list(DATASETS) == [entry.name for entry in REGISTRY]
    for entry in REGISTRY:
        assert DATASETS[entry.name] == entry.description
        assert getattr(zsfuse.datasets, entry.loader.__name__) is entry.loader
        for spelling in (entry.name, entry.name.upper(), entry.name.replace("-", "_"), *entry.aliases):
            assert dataset_entry(spelling) is entry, spelling
        assert {"protocol", "class_map", "classes", "check_files"} <= set(entry.options)
    assert dataset_entry("Berlin").name == "emo-db" and dataset_entry("JSONL").name == "manifest"
    with pytest.raises(DatasetError, match="'cremad', 'emodb', 'msppodcast' work too"):
        dataset_entry("savee")


def test_aliases_dispatch_to_the_same_loader(tmp_path):
    make_emodb(tmp_path)
    a, b, c = (load_dataset(n, tmp_path) for n in ("emo-db", "EmoDB", "EMO_DB"))
    assert a.name == b.name == c.name == "emo-db"
    assert a.paths == b.paths == c.paths
    with pytest.raises(DatasetError, match="Emo-DB: root .* does not exist"):
        load_dataset("emodb", tmp_path / "missing")


def test_unknown_option_names_the_valid_ones(tmp_path):
    make_emodb(tmp_path)
    with pytest.raises(TypeError) as err:
        load_dataset("emo-db", tmp_path, speaker_regex="x")
    assert isinstance(err.value, DatasetError)
    assert "speaker_regex" in str(err.value) and "class_map" in str(err.value)
    with pytest.raises(DatasetError, match="prefix"):
        load_dataset("emodb", tmp_path, prefix=("/a", "/b"))
    # the common options are accepted as None by every loader
    ds = load_dataset("emodb", tmp_path, protocol=None, class_map=None, classes=None, prefix=None)
    assert len(ds) == 20


@pytest.mark.parametrize(
    "name", ["ravdess", "crema-d", "iemocap", "emo-db", "tess", "msp-podcast", "emobox", "manifest", "folders"]
)
def test_empty_root_says_what_layout_was_expected(tmp_path, name):
    with pytest.raises(DatasetError, match="expected") as err:
        load_dataset(name, tmp_path)
    assert str(tmp_path) in str(err.value)


def test_missing_root(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_ravdess(tmp_path / "nope")


def test_dataset_and_fold_containers():
    fold = Fold("f", [2, 1, 1], [0], [])
    assert fold.train.tolist() == [1, 2] and fold.valid.size == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        fold.name = "g"
    with pytest.raises(ValueError, match="both"):
        Fold("f", [0, 1], [1])
    ds = Dataset(
        "manifest", "/r", "kfold", ("/a.wav", "/b.wav", "/c.wav"), ["x", "y", "x"], ["s1", "s2", "s3"], (fold,), {}
    )
    assert len(ds) == 3 and ds.classes == ("x", "y")
    assert ds.labels.dtype == object and not ds.labels.flags.writeable
    sub = ds.subset([0, 2])
    assert sub.paths == ("/a.wav", "/c.wav") and sub.labels.tolist() == ["x", "x"]
    assert sub.folds[0].train.tolist() == [1] and sub.folds[0].test.tolist() == [0]
    assert ds.subset(np.array([False, True, False])).paths == ("/b.wav",)
    err = pickle.loads(pickle.dumps(DatasetError("bad file 'x.wav'", ["x.wav"])))
    assert str(err) == "bad file 'x.wav'" and err.paths == ("x.wav",)
    with pytest.raises(ValueError, match="refers to clip"):
        Dataset("m", "/r", "p", ("/a.wav",), ["x"], ["s"], (Fold("f", [0], [5]),), {})


# ---------------------------------------------------------------------------
# RAVDESS
# ---------------------------------------------------------------------------


#: EmoBox's RAVDESS folds, read off data/ravdess/fold_<k>/ravdess_test_fold_<k>.jsonl of
#: github.com/emo-box/EmoBox (written out here, independently of zsfuse's table).
EMOBOX_TEST_ACTORS = {
    "fold_1": {1, 11, 20, 21},
    "fold_2": {4, 10, 12, 14},
    "fold_3": {8, 9, 19, 23},
    "fold_4": {3, 5, 7, 24},
    "fold_5": {2, 15, 16, 18},
    "fold_6": {6, 13, 17, 22},
}


def test_ravdess_default_is_emobox_six_folds(ravdess):
    ds = load_dataset("RAVDESS", ravdess)
    assert_well_formed(ds)
    assert ds.protocol == "emobox" and ds.speaker_independent
    assert len(ds) == 48 and ds.info["other_channel"] == 24  # the song clips are left out, and counted
    assert ds.classes == ("ang", "neu")
    assert [f.name for f in ds.folds] == list(EMOBOX_TEST_ACTORS)
    for fold in ds.folds:
        expected = {f"Actor_{a:02d}" for a in EMOBOX_TEST_ACTORS[fold.name]}
        assert set(ds.speakers[fold.test].tolist()) == expected
        assert set(ds.speakers[fold.train].tolist()) == {f"Actor_{a:02d}" for a in range(1, 25)} - expected
        assert len(fold.test) == 8 and len(fold.train) == 40
    # every actor is tested exactly once
    tested = sorted(int(s[-2:]) for f in ds.folds for s in set(ds.speakers[f.test].tolist()))
    assert tested == list(range(1, 25))
    i = ds.paths.index(str(ravdess / "Actor_07" / "03-01-05-01-01-01-07.wav"))
    assert ds.labels[i] == "ang" and ds.speakers[i] == "Actor_07"
    assert load_ravdess(ravdess, protocol="EmoBox").paths == ds.paths


def test_ravdess_consecutive_folds_and_the_old_name(ravdess):
    ds = load_ravdess(ravdess, protocol="6fold-consecutive")
    assert_well_formed(ds)
    assert ds.protocol == "6fold-consecutive" and len(ds.folds) == 6
    for k, fold in enumerate(ds.folds, 1):
        assert fold.name == f"fold_{k}"
        expected = {f"Actor_{a:02d}" for a in range(4 * k - 3, 4 * k + 1)}
        assert set(ds.speakers[fold.test].tolist()) == expected
    with pytest.warns(FutureWarning, match="6fold-consecutive"):
        old = load_dataset("ravdess", ravdess, protocol="6fold")
    assert old.protocol == "6fold-consecutive"
    assert [f.test.tolist() for f in old.folds] == [f.test.tolist() for f in ds.folds]
    with pytest.raises(DatasetError, match="'emobox', '6fold-consecutive', 'loso'"):
        load_ravdess(ravdess, protocol="5fold")


def test_ravdess_loso_song_and_class_merge(ravdess):
    ds = load_ravdess(ravdess, protocol="loso", channel="both", class_map={"neu": "calmish", "03": "hap"})
    assert len(ds.folds) == 24 and ds.folds[0].name == "Actor_01"
    assert ds.classes == ("ang", "calmish", "hap") and len(ds) == 72
    kept = load_ravdess(ravdess, classes=["ang"])
    assert kept.classes == ("ang",) and kept.info["dropped_by_classes"] == {"neu": 24}


def test_ravdess_unknown_code_and_bad_names(tmp_path):
    make_ravdess(tmp_path, actors=range(1, 5))
    bad = clip(tmp_path / "Actor_02" / "03-01-09-01-01-01-02.wav")
    with pytest.raises(DatasetError, match="'09'") as err:
        load_ravdess(tmp_path)
    assert bad in str(err.value) and err.value.paths == (bad,)
    # mapped explicitly, it loads (folds whose actors are absent are left out, with a warning)
    with pytest.warns(UserWarning, match="no test clips"):
        ds = load_ravdess(tmp_path, class_map={"09": None})
    # actors 1-4 are tested in EmoBox's fold_1 (1), fold_2 (4), fold_4 (3) and fold_5 (2)
    assert ds.info["excluded"] == {"09": 1} and [f.name for f in ds.folds] == ["fold_1", "fold_2", "fold_4", "fold_5"]
    os.remove(bad)
    wrong = clip(tmp_path / "Actor_03" / "03-01-01-01-01-01-04.wav")  # actor 04 in Actor_03
    stray = clip(tmp_path / "Actor_03" / "notes.wav")
    with pytest.raises(DatasetError, match="naming scheme") as err:
        load_ravdess(tmp_path)
    assert wrong in str(err.value) and stray in str(err.value)


# ---------------------------------------------------------------------------
# CREMA-D, Emo-DB, TESS
# ---------------------------------------------------------------------------


def test_crema_d_speaker_folds(tmp_path):
    make_cremad(tmp_path)
    ds = load_dataset("crema-d", tmp_path)
    assert_well_formed(ds)
    assert ds.protocol == "5fold" and [f.name for f in ds.folds] == [f"fold_{k}" for k in range(1, 6)]
    assert ds.classes == ("ang", "neu") and len(ds) == 20
    tested = [s for f in ds.folds for s in set(ds.speakers[f.test].tolist())]
    assert sorted(tested) == [str(s) for s in range(1001, 1011)]  # every speaker tested exactly once
    assert set(ds.speakers[ds.folds[0].test].tolist()) == {"1001", "1006"}  # sorted ids dealt round-robin
    again = load_dataset("cremad", tmp_path)
    assert all(np.array_equal(a.test, b.test) for a, b in zip(ds.folds, again.folds))
    split = load_crema_d(tmp_path, protocol="split")
    assert len(split.folds) == 1 and np.array_equal(split.folds[0].test, ds.folds[0].test)
    assert len(load_crema_d(tmp_path, protocol="loso").folds) == 10
    assert len(load_crema_d(tmp_path, protocol="2fold").folds) == 2
    with pytest.raises(DatasetError, match="protocol"):
        load_crema_d(tmp_path, protocol="random")


def test_crema_d_unknown_code(tmp_path):
    make_cremad(tmp_path, speakers=range(1001, 1006))
    bad = clip(tmp_path / "AudioWAV" / "1003_DFA_BOR_XX.wav")
    with pytest.raises(DatasetError, match="BOR") as err:
        load_crema_d(tmp_path)
    assert bad in str(err.value)


def test_emo_db_leave_one_speaker_out(tmp_path):
    make_emodb(tmp_path)
    ds = load_dataset("emo-db", tmp_path)
    assert_well_formed(ds)
    assert len(ds.folds) == 10 and ds.folds[0].name == "speaker_03"
    assert set(ds.speakers.tolist()) == {"03", "08", "09", "10", "11", "12", "13", "14", "15", "16"}
    assert ds.classes == ("ang", "bor", "dis", "fea", "hap", "neu", "sad")
    i = ds.paths.index(str(tmp_path / "wav" / "03a01Wa.wav"))
    assert ds.labels[i] == "ang" and ds.speakers[i] == "03"
    i = ds.paths.index(str(tmp_path / "wav" / "08a01La.wav"))
    assert ds.labels[i] == "bor"


def test_tess_tolerates_folder_spellings(tmp_path):
    make_tess(tmp_path)
    ds = load_dataset("tess", tmp_path)
    assert_well_formed(ds)
    assert [f.name for f in ds.folds] == ["OAF", "YAF"]
    assert ds.classes == ("ang", "fea", "neu", "sur")
    assert dict(zip(*np.unique(ds.labels.astype(str), return_counts=True))) == {"ang": 4, "fea": 4, "neu": 4, "sur": 4}
    # a file named <SPEAKER>_<word> takes its emotion from its folder
    extra = clip(tmp_path / "YAF_Sad" / "YAF_dog.wav")
    ds = load_tess(tmp_path)
    assert ds.labels[ds.paths.index(extra)] == "sad"


def test_copies_of_a_corpus_are_refused(tmp_path):
    make_emodb(tmp_path)
    copy = clip(tmp_path / "wav" / "backup" / "03a01Wa.wav")
    with pytest.raises(DatasetError, match="copies") as err:
        load_emo_db(tmp_path)
    assert copy in str(err.value)


# ---------------------------------------------------------------------------
# IEMOCAP
# ---------------------------------------------------------------------------


def test_iemocap_four_classes_and_sessions(iemocap):
    ds = load_dataset("iemocap", iemocap.parent)  # found one level down (IEMOCAP_full_release)
    assert_well_formed(ds)
    assert [f.name for f in ds.folds] == [f"Session{n}" for n in range(1, 6)]
    assert ds.classes == ("ang", "hap", "neu", "sad")
    assert len(ds) == 30  # 8 labelled utterances per session, fru and xxx excluded
    assert ds.info["excluded"] == {"fru": 5, "xxx": 5}
    assert dict(zip(*np.unique(ds.labels.astype(str), return_counts=True)))["hap"] == 10  # exc merged into hap
    i = ds.paths.index(str(iemocap / "Session1" / "sentences" / "wav" / "Ses01F_impro01" / "Ses01F_impro01_M000.wav"))
    assert ds.labels[i] == "hap" and ds.speakers[i] == "Ses01M"  # the utterance's letter, not the dialog's
    assert set(ds.speakers.tolist()) == {f"Ses{n:02d}{g}" for n in range(1, 6) for g in "FM"}
    for n, fold in enumerate(ds.folds, 1):
        assert {s[:5] for s in ds.speakers[fold.test].tolist()} == {f"Ses{n:02d}"}
    assert ds.info["class_map"]["exc"] == "hap" and ds.info["class_map"]["fru"] is None


def test_iemocap_class_map_and_speaker_protocol(iemocap):
    ds = load_iemocap(iemocap, class_map={"exc": None, "fru": "fru"}, protocol="loso")
    assert ds.info["excluded"] == {"exc": 5, "xxx": 5}
    assert ds.classes == ("ang", "fru", "hap", "neu", "sad")
    assert len(ds.folds) == 10 and ds.folds[0].name == "Ses01F"
    assert_speaker_independent(ds)
    with pytest.raises(DatasetError, match="excited"):
        load_iemocap(iemocap, class_map={"excited": "hap"})  # matches no code or class


def test_iemocap_missing_clip_and_unknown_code(tmp_path):
    root = make_iemocap(tmp_path / "iemocap", sessions=(1, 2))
    gone = root / "Session2" / "sentences" / "wav" / "Ses02F_impro01" / "Ses02F_impro01_F000.wav"
    os.remove(gone)
    with pytest.raises(DatasetError, match="no audio file") as err:
        load_iemocap(root)
    assert str(gone) in str(err.value)
    assert len(load_iemocap(root, check_files=False)) == 12
    clip(gone)
    txt = root / "Session1" / "dialog" / "EmoEvaluation" / "Ses01F_impro01.txt"
    txt.write_text(txt.read_text().replace("\tneu\t", "\tzzz\t", 1))
    with pytest.raises(DatasetError, match="'zzz'") as err:
        load_iemocap(root)
    assert "Ses01F_impro01_F000.wav" in str(err.value)


# ---------------------------------------------------------------------------
# MSP-Podcast
# ---------------------------------------------------------------------------


def test_msp_podcast_official_split(tmp_path):
    make_msp(tmp_path, MSP_ROWS)
    ds = load_dataset("msp-podcast", tmp_path)
    assert_well_formed(ds)
    (fold,) = ds.folds
    assert fold.name == "Test1"
    assert len(fold.train) == 5 and len(fold.valid) == 1 and len(fold.test) == 3
    assert ds.info["excluded"] == {"O": 1, "X": 1}
    assert ds.info["split_counts"]["Test2"] == 2 and ds.info["unknown_speaker_clips"] == 3
    unknown = sorted(s for s in ds.speakers.tolist() if s.startswith("unknown"))
    assert unknown == [
        "unknown:MSP-PODCAST_0002_0002",
        "unknown:MSP-PODCAST_0002_0003",
        "unknown:MSP-PODCAST_0006_0002",
    ]  # never one shared "Unknown" speaker
    merged = load_msp_podcast(tmp_path, merge_valid=True, test_set="test2")
    assert merged.folds[0].name == "Test2" and len(merged.folds[0].train) == 6
    assert merged.folds[0].valid.size == 0 and "con" in merged.classes
    grouped = load_msp_podcast(tmp_path, unknown_speaker="podcast")
    assert "unknown:podcast0002" in grouped.speakers.tolist()
    dropped = load_msp_podcast(tmp_path, unknown_speaker="drop", classes=("ang", "hap", "neu"))
    assert not any(s.startswith("unknown") for s in dropped.speakers.tolist())
    with pytest.raises(DatasetError, match="Test9"):
        load_msp_podcast(tmp_path, test_set="Test9")


def test_msp_podcast_errors(tmp_path):
    make_msp(tmp_path, MSP_ROWS)
    gone = tmp_path / "Audios" / "MSP-PODCAST_0005_0001.wav"
    os.remove(gone)
    with pytest.raises(DatasetError, match="no audio file") as err:
        load_msp_podcast(tmp_path)
    assert str(gone) in str(err.value)
    clip(gone)
    make_msp(tmp_path, MSP_ROWS + [("MSP-PODCAST_0009_0001.wav", "Q", "40", "Train")])
    with pytest.raises(DatasetError, match="'Q'") as err:
        load_msp_podcast(tmp_path)
    assert "MSP-PODCAST_0009_0001.wav" in str(err.value)
    make_msp(tmp_path, MSP_ROWS + [("MSP-PODCAST_0009_0001.wav", "A", "20", "Train")])  # speaker 20 is in Test1
    with pytest.raises(DatasetError, match="speaker-independent"):
        load_msp_podcast(tmp_path)


# ---------------------------------------------------------------------------
# EmoBox
# ---------------------------------------------------------------------------


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def emobox_record(name, wav, emo):
    return {
        "key": f"{name}-{os.path.splitext(os.path.basename(wav))[0]}",
        "dataset": name,
        "wav": wav,
        "type": "raw",
        "sample_rate": 16000,
        "num_frame": 1600,
        "task": "category",
        "length": 0.1,
        "emo": emo,
        "channel": 1,
    }


def make_emobox_iemocap(data, audio_root, old="/home/emobox/downloads/iemocap", valid=False):
    """EmoBox metadata for IEMOCAP sessions 1-2 (2 folds), the wav paths written under ``old``."""
    by_session = {}
    for n in (1, 2):
        for dialog, utterances in IEMOCAP_UTTERANCES.items():
            for suffix, code in utterances:
                if code in ("fru", "xxx"):
                    continue
                utt = f"Ses{n:02d}F_{dialog}_{suffix}"
                rel = f"Session{n}/sentences/wav/Ses{n:02d}F_{dialog}/{utt}.wav"
                clip(audio_root / rel)
                by_session.setdefault(n, []).append(emobox_record("iemocap", f"{old}/{rel}", code))
    folder = data / "iemocap"
    for k, (test, train) in enumerate(((1, 2), (2, 1)), 1):
        train_records = by_session[train]
        if valid:
            write_jsonl(folder / f"fold_{k}" / f"iemocap_valid_fold_{k}.jsonl", train_records[:2])
            train_records = train_records[2:]
        write_jsonl(folder / f"fold_{k}" / f"iemocap_train_fold_{k}.jsonl", train_records)
        write_jsonl(folder / f"fold_{k}" / f"iemocap_test_fold_{k}.jsonl", by_session[test])
    (folder / "label_map.json").write_text(
        json.dumps({"neu": "Neutral", "hap": "Happy", "ang": "Angry", "sad": "Sad", "exc": "Happy"})
    )
    return folder


def test_emobox_prefix_remap_label_map_and_speakers(tmp_path):
    audio = tmp_path / "my" / "IEMOCAP"
    make_emobox_iemocap(tmp_path / "EmoBox" / "data", audio)
    ds = load_dataset(
        "emobox", tmp_path / "EmoBox" / "data", dataset="iemocap", prefix=("/home/emobox/downloads/iemocap", str(audio))
    )
    assert_well_formed(ds)
    assert ds.name == "emobox" and ds.info["emobox_dataset"] == "iemocap"
    assert all(p.startswith(str(audio) + os.sep) for p in ds.paths)
    assert [f.name for f in ds.folds] == ["fold_1", "fold_2"]
    assert ds.classes == ("Angry", "Happy", "Neutral", "Sad")  # label_map.json: exc -> Happy
    i = ds.paths.index(str(audio / "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M000.wav"))
    assert ds.labels[i] == "Happy" and ds.speakers[i] == "Ses01M"
    assert ds.info["speakers_from_key"] == 0
    assert set(ds.speakers[ds.folds[0].test].tolist()) == {"Ses01F", "Ses01M"}
    one = load_emobox(
        tmp_path / "EmoBox" / "data" / "iemocap", fold=2, prefix={"/home/emobox/downloads/iemocap/": str(audio)}
    )
    assert [f.name for f in one.folds] == ["fold_2"] and len(one) == len(ds)
    over = load_emobox(
        tmp_path / "EmoBox" / "data",
        prefix=("/home/emobox/downloads/iemocap", str(audio)),
        class_map={"Happy": "hap", "ang": None},
    )
    assert "hap" in over.classes and "Angry" not in over.classes and over.info["excluded"] == {"ang": 2}


def test_emobox_unremapped_and_unmatched_paths(tmp_path):
    audio = tmp_path / "IEMOCAP"
    make_emobox_iemocap(tmp_path / "data", audio)
    with pytest.raises(DatasetError, match="no audio file") as err:
        load_emobox(tmp_path / "data")
    assert "/home/emobox/downloads/iemocap/Session1" in str(err.value) and "prefix" in str(err.value)
    with pytest.raises(DatasetError, match="start with none") as err:
        load_emobox(tmp_path / "data", prefix=("/elsewhere", str(audio)))
    assert "/home/emobox/downloads/iemocap/Session" in str(err.value)


def test_emobox_relative_wav_paths_and_valid(tmp_path):
    checkout = tmp_path / "EmoBox"
    make_emobox_iemocap(checkout / "data", checkout / "downloads" / "iemocap", old="downloads/iemocap", valid=True)
    ds = load_emobox(checkout, dataset="IEMOCAP")  # relative wav: against the EmoBox checkout
    assert all(p.startswith(str(checkout / "downloads")) for p in ds.paths)
    assert all(len(f.valid) == 2 for f in ds.folds)
    merged = load_emobox(checkout / "data", merge_valid=True)
    assert all(len(f.valid) == 0 for f in merged.folds)
    assert len(merged.folds[0].train) == len(ds.folds[0].train) + 2
    moved = tmp_path / "audio"
    os.rename(checkout / "downloads" / "iemocap", moved)
    assert len(load_emobox(checkout / "data", prefix=("downloads/iemocap", str(moved)))) == len(ds)


def test_emobox_speaker_overlap_and_unknown_code(tmp_path):
    data = tmp_path / "data"
    audio = tmp_path / "tess"
    records = []
    for speaker in ("OAF", "YAF"):
        for word, emo in (("back", "angry"), ("bar", "sad")):
            name = f"{speaker}_{word}_{emo}.wav"
            clip(audio / name)
            records.append(emobox_record("tess", f"downloads/tess/{name}", emo))
    write_jsonl(data / "tess" / "fold_1" / "tess_train_fold_1.jsonl", records[0::2])
    write_jsonl(data / "tess" / "fold_1" / "tess_test_fold_1.jsonl", records[1::2])
    with pytest.raises(DatasetError, match="allow_speaker_overlap"):
        load_emobox(data, prefix=("downloads/tess", str(audio)))
    ds = load_emobox(data, prefix=("downloads/tess", str(audio)), allow_speaker_overlap=True)
    assert ds.info["speaker_independent"] is False and "NOT speaker-independent" in ds.describe()
    assert set(ds.speakers.tolist()) == {"OAF", "YAF"} and ds.classes == ("angry", "sad")  # no label_map.json
    (data / "tess" / "label_map.json").write_text(json.dumps({"angry": "Angry"}))
    with pytest.raises(DatasetError, match="'sad'") as err:
        load_emobox(data, prefix=("downloads/tess", str(audio)), allow_speaker_overlap=True)
    assert str(audio / "OAF_bar_sad.wav") in str(err.value)


# ---------------------------------------------------------------------------
# Manifests and folders
# ---------------------------------------------------------------------------


def write_manifest(path, rows, header=("path", "label", "speaker", "fold")):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    return root, make_audio_tree(
        root / "audio", labels=("angry", "happy", "sad"), n_speakers=3, n_per_class=1, seconds=0.1
    )


def test_manifest_folds_relative_paths(tree):
    root, records = tree
    rows = [(os.path.relpath(r["path"], root), r["label"], r["speaker"], int(r["speaker"][-1]) + 1) for r in records]
    ds = load_dataset("manifest", write_manifest(root / "manifest.csv", rows))
    assert_well_formed(ds)
    assert ds.protocol == "fold" and [f.name for f in ds.folds] == ["fold_1", "fold_2", "fold_3"]
    assert set(ds.paths) == {os.path.abspath(r["path"]) for r in records}
    assert set(ds.speakers[ds.folds[1].test].tolist()) == {"spk1"}
    assert len(load_manifest(root)) == 9  # the folder holding manifest.csv works too
    moved = load_manifest(root / "manifest.csv", prefix=("audio", str(root / "audio")), check_files=False)
    assert moved.paths == ds.paths
    with pytest.raises(DatasetError, match="start with none"):
        load_manifest(root / "manifest.csv", prefix=("/elsewhere", "/x"))
    kfold = load_manifest(root / "manifest.csv", protocol="kfold", n_folds=3, class_map={"sad": None})
    assert len(kfold.folds) == 3 and kfold.info["excluded"] == {"sad": 3}
    assert_speaker_independent(kfold)


def test_manifest_fold_that_leaks_a_speaker(tree, tmp_path):
    root, records = tree
    rows = [(r["path"], r["label"], r["speaker"], i % 2) for i, r in enumerate(records)]
    with pytest.raises(DatasetError, match="not speaker-independent") as err:
        load_manifest(write_manifest(tmp_path / "leaky.csv", rows))
    assert "spk0" in str(err.value) and records[0]["path"] in str(err.value)


def test_manifest_jsonl_split_and_missing_file(tree, tmp_path):
    root, records = tree
    lines = [
        {
            "file": r["path"],
            "emotion": r["label"],
            "speaker": r["speaker"],
            "split": "test" if r["speaker"] == "spk2" else "dev" if r["speaker"] == "spk1" else "train",
        }
        for r in records
    ]
    manifest = tmp_path / "m.jsonl"
    write_jsonl(manifest, lines)
    ds = load_dataset("manifest", manifest)
    (fold,) = ds.folds
    assert fold.name == "split" and len(fold.train) == len(fold.valid) == len(fold.test) == 3
    lines.append({"file": str(tmp_path / "gone.wav"), "emotion": "sad", "speaker": "spk2", "split": "test"})
    write_jsonl(manifest, lines)
    with pytest.raises(DatasetError, match="no audio file") as err:
        load_manifest(manifest)
    assert str(tmp_path / "gone.wav") in str(err.value)


def test_manifest_without_speakers_warns(tree, tmp_path):
    root, records = tree
    manifest = write_manifest(tmp_path / "m.csv", [(r["path"], r["label"]) for r in records], ("path", "label"))
    with pytest.warns(UserWarning, match="(?i)not speaker-independent"):
        ds = load_manifest(manifest, n_folds=3)
    assert len(ds.folds) == 3 and ds.info["speaker_independent"] is False
    for fold in ds.folds:
        assert sorted(ds.labels[fold.test].tolist()) == ["angry", "happy", "sad"]  # stratified by label


def test_folders_speakers_from_regex_or_subfolder(tree, tmp_path):
    root, records = tree
    ds = load_dataset("folders", root / "audio", speaker_regex=r"^(spk\d+)_", n_folds=3)
    assert_well_formed(ds)
    assert sorted(set(ds.speakers.tolist())) == ["spk0", "spk1", "spk2"] and len(ds.folds) == 3
    nested = tmp_path / "nested"
    for label in ("neu", "ang"):
        for speaker in ("alice", "bob"):
            clip(nested / label / speaker / "take1.flac")
    ds = load_folders(nested, n_folds=2)
    assert set(ds.speakers.tolist()) == {"alice", "bob"} and ds.classes == ("ang", "neu")
    assert all(p.endswith(".flac") for p in ds.paths)
    assert_speaker_independent(ds)
    with pytest.raises(DatasetError, match="does not match") as err:
        load_folders(root / "audio", speaker_regex=r"^(speaker\d+)_")
    assert "spk0_0.wav" in str(err.value)


def test_folders_without_speakers_warns(tree):
    root, records = tree
    with pytest.warns(UserWarning, match="(?i)not speaker-independent"):
        ds = load_folders(root / "audio", n_folds=3)
    assert len(ds) == 9 and len(ds.folds) == 3 and not ds.info["speaker_independent"]
