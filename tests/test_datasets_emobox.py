"""EmoBox metadata as it is published (github.com/emo-box/EmoBox, data/): its quirks, on small trees
that follow the real layouts and records."""

import json
import os
import warnings

import numpy as np
import pytest
import soundfile as sf

from zsfuse.audio import Clips, Segment
from zsfuse.datasets import DatasetError, load_dataset, load_emobox, load_ravdess
from zsfuse.testing import speechlike, write_wav

RATE = 16000

#: EmoBox's RAVDESS test actors per fold, as in data/ravdess/fold_<k>/ravdess_test_fold_<k>.jsonl.
EMOBOX_RAVDESS = {
    1: (1, 11, 20, 21),
    2: (4, 10, 12, 14),
    3: (8, 9, 19, 23),
    4: (3, 5, 7, 24),
    5: (2, 15, 16, 18),
    6: (6, 13, 17, 22),
}


def clip(path, seconds=0.1, seed=0):
    return write_wav(path, speechlike(seconds, RATE, seed=seed), RATE)


def record(name, wav, emo, **extra):
    """A record as EmoBox writes it (data/<name>/fold_<k>/<name>_<part>_fold_<k>.jsonl)."""
    stem = os.path.splitext(os.path.basename(wav))[0]
    out = {
        "key": f"{name}-{stem}",
        "dataset": name,
        "wav": wav,
        "type": "raw",
        "sample_rate": RATE,
        "num_frame": 1600.0,
        "task": "category",
        "length": 0.1,
        "emo": emo,
        "channel": 1,
    }
    out.update(extra)
    return out


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def write_json_copy(path, records):
    """The .json twin EmoBox publishes beside each .jsonl: {key: record without key/type/...}."""
    keep = ("wav", "length", "emo", "dataset", "channel", "start_time", "end_time")
    path.write_text(json.dumps({r["key"]: {k: r[k] for k in keep if k in r} for r in records}, indent=4))


# ---------------------------------------------------------------------------
# Emo-DB: "neutral" vs label_map key "Neutral", stale files, every speaker on both sides
# ---------------------------------------------------------------------------

EMODB_SPEAKERS = ("03", "08", "09", "10", "11", "12", "13", "14", "15", "16")
EMODB_CODES = {"W": "anger", "L": "boredem", "E": "disgust", "A": "fear", "F": "happy", "T": "sad", "N": "neutral"}


def make_emobox_emodb(tmp_path, label_map=None):
    """Two folds; like the real ones, each holds clips of all ten speakers in train and in test."""
    data, audio = tmp_path / "EmoBox" / "data", tmp_path / "EmoBox" / "downloads" / "emodb" / "wav"
    records = []
    for i, s in enumerate(EMODB_SPEAKERS):
        for j, letter in enumerate(("N", "W", "T", "F")):
            name = f"{s}a0{j + 1}{letter}{'ab'[i % 2]}.wav"
            clip(audio / name, seed=i * 10 + j)
            records.append(record("emodb", f"downloads/emodb/wav/{name}", EMODB_CODES[letter]))
    folder = data / "emodb"
    for k in (1, 2):
        test = records[k - 1 :: 2]
        train = [r for r in records if r not in test]
        fold = folder / f"fold_{k}"
        write_jsonl(fold / f"emodb_train_fold_{k}.jsonl", train)
        write_jsonl(fold / f"emodb_test_fold_{k}.jsonl", test)
        for part, recs in (("train", train), ("test", test)):
            write_json_copy(fold / f"emodb_{part}_fold_{k}.json", recs)
            old = [{"key": r["key"], "dataset": "emodb", "audio": r["wav"], "label": r["emo"]} for r in recs]
            write_jsonl(fold / f"emodb_{part}_fold{k}.jsonl", old)  # the stale, older-schema file
            write_json_copy(fold / f"emodb_{part}_fold{k}.json", recs)
    label_map = label_map or {
        "anger": "Angry",
        "boredem": "Boredom",
        "disgust": "Disgust",
        "fear": "Fear",
        "happy": "Happy",
        "Neutral": "Neutral",
        "sad": "Sad",
    }
    (folder / "label_map.json").write_text(json.dumps(label_map, indent=4))
    return data, records


def test_emodb_case_of_neutral_stale_files_and_speaker_overlap(tmp_path):
    data, records = make_emobox_emodb(tmp_path)
    with pytest.raises(DatasetError) as err:
        load_emobox(data, dataset="emodb")
    message = str(err.value)
    assert "not speaker-independent" in message and "'03', '08', '09', '10', '11' (and 5 more)" in message
    assert "allow_speaker_overlap=True" in message and "speaker-dependent" in message
    assert "load_dataset('emo-db', ...)" in message
    ds = load_dataset("emobox", data, dataset="emodb", allow_speaker_overlap=True)
    assert not ds.speaker_independent and ds.info["speaker_independent"] is False
    assert ds.info["speaker_check"] == "overlap" and ds.info["overlapping_folds"] == {"fold_1": 10, "fold_2": 10}
    assert "NOT speaker-independent" in ds.describe()
    # "neutral" records, "Neutral" key: matched, and said so
    assert ds.classes == ("Angry", "Happy", "Neutral", "Sad") and len(ds) == len(records) == 40
    i = ds.paths.index(str(data.parent / "downloads" / "emodb" / "wav" / "03a01Na.wav"))
    assert ds.labels[i] == "Neutral"
    assert any("'neutral' (10 clips)" in n and "'Neutral'" in n for n in ds.info["notes"])
    assert load_emobox(data, allow_speaker_overlap=True, class_map={"Neutral": None}).info["excluded"] == {
        "Neutral": 10
    }
    # the stale older-schema files and the .json copies are not read, and listed
    ignored = ds.info["ignored_files"]
    assert "fold_1/emodb_test_fold1.jsonl" in ignored and "fold_2/emodb_train_fold2.json" in ignored
    assert "fold_1/emodb_test_fold_1.json" in ignored and len(ignored) == 2 * 6
    assert not any("emodb_test_fold_1.jsonl" == os.path.basename(f) for f in ignored)
    assert ds.info["files_read"]["fold_1"] == {"train": "emodb_train_fold_1.jsonl", "test": "emodb_test_fold_1.jsonl"}
    assert any("older schema" in n for n in ds.info["notes"])


def test_a_code_matching_two_keys_case_insensitively_is_ambiguous(tmp_path):
    label_map = {"anger": "Angry", "happy": "Happy", "sad": "Sad", "Neutral": "Neutral", "NEUTRAL": "Calm"}
    data, _ = make_emobox_emodb(tmp_path, label_map)
    with pytest.raises(DatasetError, match=r"'neutral' matches several keys .* \('Neutral', 'NEUTRAL'\)"):
        load_emobox(data, allow_speaker_overlap=True)
    ds = load_emobox(data, allow_speaker_overlap=True, class_map={"neutral": "Neutral"})
    assert "Neutral" in ds.classes and "Calm" not in ds.classes


# ---------------------------------------------------------------------------
# PAVOQUE: segments of long files
# ---------------------------------------------------------------------------


def test_pavoque_segments_are_read_as_segments(tmp_path):
    data, audio = tmp_path / "data", tmp_path / "downloads" / "pavoque"
    audio.mkdir(parents=True)
    waves = {}
    for style in ("angry", "sad"):  # long single-speaker recordings, one per style (mono FLAC, as published)
        wave = speechlike(3.0, RATE, seed=len(style))
        sf.write(audio / f"pavoque-{style}.flac", wave, RATE, subtype="PCM_16")
        waves[style] = sf.read(audio / f"pavoque-{style}.flac", dtype="float32")[0]
    bounds = [(0.0, 0.5), (0.5, 1.25), (1.25, 2.0), (2.0, 3.0)]
    records = [
        record("pavoque", f"downloads/pavoque/pavoque-{style}.flac", style, start_time=a, end_time=b)
        | {"key": f"pavoque-m{n:04d}-{style}"}
        for style in waves
        for n, (a, b) in enumerate(bounds)
    ]
    # the published metadata lists some outtake segments twice, with two different emotions
    twice = record("pavoque", "downloads/pavoque/pavoque-sad.flac", "angry", start_time=0.0, end_time=0.5)
    write_jsonl(data / "pavoque" / "fold_1" / "pavoque_train_fold_1.jsonl", records[0::2] + [twice])
    write_jsonl(data / "pavoque" / "fold_1" / "pavoque_test_fold_1.jsonl", records[1::2])
    (data / "pavoque" / "label_map.json").write_text(json.dumps({"angry": "Angry", "sad": "Sad"}))
    with pytest.warns(UserWarning, match="1 clip.* listed more than once with different emotions"):
        ds = load_emobox(tmp_path)
    assert len(ds) == 7 and ds.info["segments"] == 7 and ds.info["conflicting_labels"] == 1
    assert all(isinstance(p, Segment) for p in ds.paths) and list(ds.paths) == sorted(ds.paths)
    assert Segment(str(audio / "pavoque-sad.flac"), 0.0, 0.5, 1) not in ds.paths  # the conflicting one
    i = ds.paths.index(Segment(str(audio / "pavoque-sad.flac"), 1.25, 2.0, channel=1))
    assert ds.labels[i] == "Sad" and i in ds.folds[0].train
    clips = Clips(list(ds.paths))
    np.testing.assert_array_equal(clips[i].wave, waves["sad"][20000:32000])
    j = ds.paths.index(Segment(str(audio / "pavoque-angry.flac"), 0.5, 1.25, channel=1))
    np.testing.assert_array_equal(clips[j].wave, waves["angry"][8000:20000])
    assert j in ds.folds[0].test and clips[i].digest != clips[j].digest
    # no speaker ids in the records: not checked, and said so
    assert not ds.speaker_independent and ds.info["speaker_check"] == "unchecked"
    assert "NOT known to be speaker-independent" in ds.describe()


def test_a_malformed_segment_is_an_error(tmp_path):
    data = tmp_path / "data"
    bad = record("pavoque", "/x/pavoque-sad.flac", "sad", start_time=2.0, end_time=1.0)
    write_jsonl(data / "pavoque" / "fold_1" / "pavoque_train_fold_1.jsonl", [bad])
    write_jsonl(data / "pavoque" / "fold_1" / "pavoque_test_fold_1.jsonl", [record("pavoque", "/x/y.flac", "sad")])
    with pytest.raises(DatasetError, match="pavoque_train_fold_1.jsonl:1 .*do not make a segment"):
        load_emobox(data, check_files=False)


# ---------------------------------------------------------------------------
# CREMA-D and TESS: one split with every speaker on both sides
# ---------------------------------------------------------------------------


def test_cremad_split_with_all_speakers_on_both_sides(tmp_path):
    data, audio = tmp_path / "data", tmp_path / "AudioWAV"
    records = []
    for s in range(1001, 1005):
        for sentence, emo in (("DFA", "ANG"), ("IEO", "NEU"), ("TIE", "SAD")):
            name = f"{s}_{sentence}_{emo}_XX.wav"
            clip(audio / name, seed=s)
            records.append(record("cremad", f"/home/emobox/downloads/cremad/AudioWAV/{name}", emo))
    write_jsonl(data / "cremad" / "fold_1" / "cremad_train_fold_1.jsonl", records[0::3] + records[1::3])
    write_jsonl(data / "cremad" / "fold_1" / "cremad_test_fold_1.jsonl", records[2::3])
    prefix = ("/home/emobox/downloads/cremad/AudioWAV", str(audio))
    with pytest.raises(DatasetError, match="allow_speaker_overlap=True") as err:
        load_emobox(data, prefix=prefix)
    assert "'1001', '1002', '1003', '1004'" in str(err.value) and "load_dataset('crema-d', ...)" in str(err.value)
    ds = load_emobox(data, prefix=prefix, allow_speaker_overlap=True)
    assert ds.speaker_independent is False and ds.info["overlapping_folds"] == {"fold_1": 4}
    assert any("fold_1: 4 speaker(s)" in n and "speaker-dependent" in n for n in ds.info["notes"])


def test_allowing_overlap_where_there_is_none_keeps_the_folds_speaker_independent(tmp_path):
    """RAVDESS's EmoBox folds hold no speaker on both sides: allow_speaker_overlap changes nothing."""
    data, audio = tmp_path / "data", tmp_path / "RAVDESS"
    by_actor = {}
    for actor in range(1, 25):
        name = f"03-01-05-01-01-01-{actor:02d}.wav"
        clip(audio / f"Actor_{actor:02d}" / name, seed=actor)
        by_actor[actor] = record("ravdess", f"downloads/ravdess/Actor_{actor:02d}/{name}", "Angry")
    for k, actors in EMOBOX_RAVDESS.items():
        write_jsonl(data / "ravdess" / f"fold_{k}" / f"ravdess_test_fold_{k}.jsonl", [by_actor[a] for a in actors])
        train = [r for a, r in by_actor.items() if a not in actors]
        write_jsonl(data / "ravdess" / f"fold_{k}" / f"ravdess_train_fold_{k}.jsonl", train)
    emobox = load_emobox(data, prefix=("downloads/ravdess", str(audio)), allow_speaker_overlap=True)
    assert emobox.speaker_independent and emobox.info["speaker_check"] == "checked"
    # zsfuse's own RAVDESS protocol "emobox" gives the same folds, clip for clip
    native = load_ravdess(audio)
    assert native.paths == emobox.paths
    for a, b in zip(native.folds, emobox.folds):
        assert a.name == b.name and a.test.tolist() == b.test.tolist() and a.train.tolist() == b.train.tolist()


# ---------------------------------------------------------------------------
# The other quirks: no valid file, label_dict.json, extra files, MELD's channel, video files
# ---------------------------------------------------------------------------


def test_no_valid_file_label_dict_and_extra_files(tmp_path):
    data, audio = tmp_path / "data", tmp_path / "emovo"
    records = []
    for speaker in ("f1", "m1"):
        for code in ("neu", "rab"):
            clip(audio / speaker / f"{code}-{speaker}-b1.wav")
            records.append(record("emovo", f"downloads/emovo/{speaker}/{code}-{speaker}-b1.wav", code))
    fold = data / "emovo" / "fold_1"
    write_jsonl(fold / "emovo_train_fold_1.jsonl", records[:2])
    write_jsonl(fold / "emovo_test_fold_1.jsonl", records[2:])
    write_jsonl(fold / "emovo_test1_fold_1.jsonl", records[2:])  # like MER2023's test1/test2/test3 files
    (data / "emovo" / "label_dict.json").write_text(json.dumps({"neu": "Neutral", "rab": "Angry"}))
    ds = load_emobox(data, prefix=("downloads/emovo", str(audio)))
    assert ds.classes == ("Angry", "Neutral") and ds.info["label_map"].endswith("label_dict.json")
    assert ds.info["valid_split"] == {"fold_1": "none (no valid file; no random split)"}
    assert ds.folds[0].valid.size == 0 and ds.folds[0].train.size == 2
    assert any("no valid file" in n and "80/20" in n for n in ds.info["notes"])
    assert ds.info["ignored_files"] == ["fold_1/emovo_test1_fold_1.jsonl"]
    assert any("not a train/valid/test file" in n for n in ds.info["notes"])


def test_meld_channel_field_and_video_files_with_converted_twins(tmp_path):
    data, audio = tmp_path / "data", tmp_path / "meld"
    records = []
    for n, (emo, channel) in enumerate((("joy", 1), ("anger", 3), ("joy", 3), ("anger", 1))):
        (audio / f"dia{n}_utt0.mp4").parent.mkdir(parents=True, exist_ok=True)
        (audio / f"dia{n}_utt0.mp4").write_bytes(b"not audio")  # the video EmoBox lists
        clip(audio / f"dia{n}_utt0.wav", seed=n)  # converted beside it
        records.append(record("meld", f"downloads/meld/dia{n}_utt0.mp4", emo, channel=channel))
    write_jsonl(data / "meld" / "fold_1" / "meld_train_fold_1.jsonl", records[:2])
    write_jsonl(data / "meld" / "fold_1" / "meld_valid_fold_1.jsonl", records[2:3])
    write_jsonl(data / "meld" / "fold_1" / "meld_test_fold_1.jsonl", records[3:])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load_emobox(data, prefix=("downloads/meld", str(audio)))
    assert all(p.endswith(".wav") for p in ds.paths)  # the .wav twins, not the videos
    assert ds.info["valid_split"] == {"fold_1": "Fold.valid"} and ds.folds[0].valid.size == 1
    assert not any("no valid file" in n for n in ds.info["notes"])
    assert any("2 clips with channel 3" in n and "not a channel number" in n for n in ds.info["notes"])
    assert not any("libsndfile" in n for n in ds.info["notes"])
    unchecked = load_emobox(data, prefix=("downloads/meld", str(audio)), check_files=False)  # the videos as listed
    assert all(p.endswith(".mp4") for p in unchecked.paths)
    assert any("4 .mp4" in n and "libsndfile" in n for n in unchecked.info["notes"])
    assert len(Clips(list(ds.paths))[0].wave) == 1600  # whole files, decoded as usual


def test_json_metadata_keyed_by_clip(tmp_path):
    """A fold published only as .json ({key: record}): the dict keys are the records' keys."""
    data, audio = tmp_path / "data", tmp_path / "savee"
    records = []
    for speaker in ("DC", "JE"):
        clip(audio / f"{speaker}_a01.wav")
        records.append(record("savee", f"downloads/savee/{speaker}_a01.wav", "a"))
    fold = data / "savee" / "fold_1"
    fold.mkdir(parents=True)
    write_json_copy(fold / "savee_train_fold_1.json", records[:1])
    write_json_copy(fold / "savee_test_fold_1.json", records[1:])
    ds = load_emobox(data, prefix=("downloads/savee", str(audio)))
    assert ds.speakers.tolist() == ["savee-DC_a01", "savee-JE_a01"] and ds.info["speakers_from_key"] == 2
    assert ds.info["files_read"]["fold_1"] == {"train": "savee_train_fold_1.json", "test": "savee_test_fold_1.json"}
