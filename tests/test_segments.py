"""Segments of audio files (zsfuse.audio.Segment) as clips: exact samples, one channel, seeks, digests, errors."""

import hashlib
import pickle

import numpy as np
import pytest
import soundfile as sf

from zsfuse.audio import Clips, Segment, decode_file, file_info
from zsfuse.exceptions import ClipError, ClipNotFoundError
from zsfuse.extraction import encode_clips
from zsfuse.store import EmbeddingStore

RATE = 16000


def stereo(seconds=1.0, rate=RATE):
    """Two different channels, no two windows alike: a ramp (left) and a square-ish wave (right)."""
    n = int(seconds * rate)
    left = ((np.arange(n) - n / 2) / n).astype(np.float32)
    right = np.where(np.arange(n) % 160 < 80, 0.25, -0.375).astype(np.float32)
    return np.stack([left, right], axis=1)


@pytest.fixture
def wav(tmp_path):
    data = stereo()
    path = tmp_path / "two.wav"
    sf.write(path, data, RATE, subtype="FLOAT")
    return str(path), data


def sha(wave, rate):
    """The content digest, written out independently: SHA-256 of 'rate:' + the float32 bytes."""
    h = hashlib.sha256(f"{rate}:".encode())
    h.update(np.ascontiguousarray(wave, dtype=np.float32).tobytes())
    return h.hexdigest()[:32]


def test_two_segments_decode_to_the_right_samples_of_the_right_channel(wav):
    path, data = wav
    a = Segment(path, 0.25, 0.5, channel=1)
    b = Segment(path, 0.5, 0.8125, channel=2)
    clips = Clips([a, b, path])
    ca, cb, whole = clips[0], clips[1], clips[2]
    np.testing.assert_array_equal(ca.wave, data[4000:8000, 0])
    np.testing.assert_array_equal(cb.wave, data[8000:13000, 1])
    assert ca.rate == cb.rate == RATE and ca.wave.dtype == np.float32
    np.testing.assert_allclose(whole.wave, data.mean(axis=1), atol=1e-7)  # a whole file: channels averaged
    assert ca.digest == sha(data[4000:8000, 0], RATE) and cb.digest == sha(data[8000:13000, 1], RATE)
    assert len({ca.digest, cb.digest, whole.digest}) == 3
    assert clips.seconds(0) == 0.25 and clips.seconds(1) == 0.3125
    assert file_info(b) == (5000, RATE) and file_info(path) == (16000, RATE)
    assert clips.path(0) == a and clips.path(2) == path
    assert ca.path == f"{path} [0.25-0.5 s, channel 1]"


def test_no_channel_averages_and_no_end_runs_to_the_end(wav):
    path, data = wav
    wave, rate = decode_file(Segment(path, 0.75))
    np.testing.assert_allclose(wave, data[12000:].mean(axis=1), atol=1e-7)
    assert rate == RATE and str(Segment(path, 0.75)) == f"{path} [0.75 s-end]"


def test_segments_of_one_file_never_share_a_known_digest(wav):
    path, data = wav
    a, b = Segment(path, 0.0, 0.5, channel=1), Segment(path, 0.0, 0.5, channel=2)
    clips = Clips([a, b, Segment(path, 0.0, 0.25, channel=1), path])
    first = clips[0].digest
    assert clips.known_digest(0) == first
    # the same file, other bounds or channel: not known until decoded
    assert clips.known_digest(1) is None and clips.known_digest(2) is None and clips.known_digest(3) is None
    assert clips[1].digest == sha(data[:8000, 1], RATE) != first
    assert clips.known_digest(1) == clips[1].digest


def test_the_embedding_cache_keeps_segments_apart(wav):
    path, data = wav
    segments = [Segment(path, 0.0, 0.5, channel=1), Segment(path, 0.5, 1.0, channel=1), Segment(path, 0, 0.5, 2)]
    store = EmbeddingStore()
    calls = []

    def encode(batch):
        calls.append(len(batch))
        return [np.array([c.wave.sum(), c.wave.shape[0]], dtype=np.float64) for c in batch]

    out = encode_clips(Clips(segments), store, "test-ns", encode)
    expected = [data[:8000, 0], data[8000:, 0], data[:8000, 1]]
    for got, wave in zip(out, expected):
        np.testing.assert_allclose(got, [wave.astype(np.float64).sum(), wave.shape[0]], rtol=1e-6)
    again = encode_clips(Clips(segments), store, "test-ns", encode)  # all known now: nothing encoded
    assert sum(calls) == 3 and all(np.array_equal(x, y) for x, y in zip(out, again))


def test_a_segment_is_read_with_a_seek_not_the_whole_file(tmp_path, monkeypatch):
    data = stereo(seconds=4.0)
    path = str(tmp_path / "long.flac")
    sf.write(path, data, RATE, subtype="PCM_16")
    reference = sf.read(path, dtype="float32", always_2d=True)[0][48000:56000, 1]  # the whole file, then sliced
    read, seeks = [], []
    original_read, original_seek = sf.SoundFile.read, sf.SoundFile.seek
    monkeypatch.setattr(
        sf.SoundFile, "read", lambda self, frames=-1, **kw: read.append(frames) or original_read(self, frames, **kw)
    )
    monkeypatch.setattr(
        sf.SoundFile, "seek", lambda self, frames, *a: seeks.append(frames) or original_seek(self, frames, *a)
    )
    wave, rate = decode_file(Segment(path, 3.0, 3.5, channel=2))
    assert read == [8000] and seeks[0] == 48000  # one seek to the start, one read of the segment's frames
    np.testing.assert_array_equal(wave, reference)
    np.testing.assert_allclose(wave, data[48000:56000, 1], atol=1e-4)  # 16-bit quantisation


def test_a_segment_past_the_end_of_the_file_is_a_clear_error(wav):
    path, _ = wav
    past = Segment(path, 0.75, 1.25, channel=1)
    clips = Clips([past, Segment(path, 1.0, 2.0), Segment(path, 0, 0.5, channel=3)])  # cheap checks pass
    with pytest.raises(ClipError) as err:
        clips[0]
    message = str(err.value)
    assert f"clip 0 ('{path} [0.75-1.25 s, channel 1]')" in message
    assert "ends at 1.25 s, after the end of the file (1 s)" in message
    with pytest.raises(ClipError, match="starts at 1 s, at or after the end of the file"):
        clips[1]
    with pytest.raises(ClipError, match="asks for channel 3, but the file has 2 channel"):
        clips[2]
    with pytest.raises(ClipError, match="after the end of the file"):
        clips.seconds(0)


def test_missing_file_and_malformed_segments(tmp_path, wav):
    path, _ = wav
    with pytest.raises(ClipNotFoundError, match=r"clip 1 \('.*nope.wav \[0-1 s\]'\): no such file"):
        Clips([path, Segment(str(tmp_path / "nope.wav"), 0, 1)])
    with pytest.raises(ValueError, match="wrap it in a list"):
        Clips(Segment(path, 0, 1))
    for kwargs, match in [
        ({"start": -0.5}, "start must be >= 0"),
        ({"start": 0.5, "end": 0.5}, "must be after start"),
        ({"start": float("inf")}, "finite number"),
        ({"channel": 0}, "positive integer"),
        ({"channel": 1.5}, "positive integer"),
    ]:
        with pytest.raises(ValueError, match=match):
            Segment(path, **kwargs)


def test_segments_are_values(wav):
    path, _ = wav
    a = Segment(path, 0.5, 1, channel=1)
    assert a == Segment(path, 0.5, 1.0, 1) and hash(a) == hash(Segment(path, 0.5, 1.0, 1))
    assert a != Segment(path, 0.5, 1.0, 2) and pickle.loads(pickle.dumps(a)) == a
    assert sorted([Segment(path, 0.5), a, Segment(path, 0.25, 2)]) == [Segment(path, 0.25, 2), a, Segment(path, 0.5)]
    assert np.asarray([a, path], dtype=object).shape == (2,)  # an object array of clips, not a table
