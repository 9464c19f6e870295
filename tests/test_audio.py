"""The audio front end: decoding, conversion, resampling, amplification, windowing, errors."""

import numpy as np
import pytest
import soundfile as sf

from zsfuse.audio import Clips, content_digest, pad, repeat, resample, window
from zsfuse.audio import _clips as clips_module
from zsfuse.exceptions import ClipError, ClipNotFoundError


def sine(freq, seconds, rate, amplitude=0.5):
    t = np.arange(int(round(seconds * rate))) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_frequency(wave, rate):
    """Frequency of the spectral peak, refined by parabolic interpolation (Hann window)."""
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    k = int(np.argmax(spectrum))
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / len(wave)


# -- resampling -------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [44100, 48000])
def test_resampling_keeps_frequency_and_amplitude(target):
    tone = sine(1000.0, 2.0, 16000, amplitude=0.5)
    out = resample(tone, 16000, target)
    assert out.dtype == np.float32
    assert len(out) == 2 * target
    assert peak_frequency(out, target) == pytest.approx(1000.0, abs=0.05)
    middle = out[target // 4 : -target // 4]
    assert np.sqrt(2) * np.sqrt(np.mean(middle.astype(np.float64) ** 2)) == pytest.approx(0.5, rel=1e-3)
    assert np.max(np.abs(middle)) == pytest.approx(0.5, rel=2e-3)


def test_resampling_is_band_limited():
    # a 15 kHz tone cannot exist at 16 kHz: it must be filtered out, not aliased to 1 kHz
    tone = sine(15000.0, 1.0, 44100, amplitude=0.5)
    out = resample(tone, 44100, 16000)
    rms = np.sqrt(np.mean(out[2000:-2000].astype(np.float64) ** 2))
    assert rms < 0.5 / np.sqrt(2) * 1e-3  # below -60 dB
    naive = tone[:: 44100 // 16000]  # what decimation without a filter would keep
    assert np.sqrt(np.mean(naive.astype(np.float64) ** 2)) > 0.3


def test_resampling_same_rate_is_identity_and_deterministic():
    wave = np.random.default_rng(0).standard_normal(12345).astype(np.float32)
    assert resample(wave, 16000, 16000) is wave
    np.testing.assert_array_equal(resample(wave, 16000, 48000), resample(wave, 16000, 48000))


# -- channels and sample formats ----------------------------------------------------------------


def test_stereo_file_is_averaged(tmp_path):
    left, right = sine(440, 0.5, 16000), sine(660, 0.5, 16000, amplitude=0.25)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    clip = Clips([path])[0]
    assert clip.rate == 16000 and clip.wave.shape == left.shape
    np.testing.assert_allclose(clip.wave, (left + right) / 2, atol=1e-7)


@pytest.mark.parametrize("layout", ["samples_channels", "channels_samples"])
def test_multichannel_arrays_are_averaged(layout):
    left, right = sine(440, 0.1, 16000), sine(880, 0.1, 16000)
    stereo = np.stack([left, right], axis=1 if layout == "samples_channels" else 0)
    clip = Clips([stereo], sampling_rate=16000)[0]
    np.testing.assert_allclose(clip.wave, (left + right) / 2, atol=1e-7)


def test_integer_pcm_arrays_are_scaled():
    pcm16 = np.array([-32768, -16384, 0, 16384, 32767], dtype=np.int16)
    expected = np.array([-1.0, -0.5, 0.0, 0.5, 32767 / 32768], dtype=np.float32)
    np.testing.assert_array_equal(Clips([pcm16], sampling_rate=8000)[0].wave, expected)
    pcm32 = pcm16.astype(np.int32) << 16
    np.testing.assert_array_equal(Clips([pcm32], sampling_rate=8000)[0].wave, expected)
    pcm8 = np.array([0, 64, 128, 192, 255], dtype=np.uint8)
    np.testing.assert_array_equal(
        Clips([pcm8], sampling_rate=8000)[0].wave, np.array([-1, -0.5, 0, 0.5, 127 / 128], np.float32)
    )


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_pcm_files_are_scaled(tmp_path, subtype):
    pcm16 = np.array([-32768, -16384, 0, 16384, 32767] * 20, dtype=np.int16)
    path = tmp_path / f"{subtype}.wav"
    sf.write(path, pcm16.astype(np.float64) / 32768, 16000, subtype=subtype)
    clip = Clips([path])[0]
    assert clip.wave.dtype == np.float32
    np.testing.assert_allclose(clip.wave, pcm16 / 32768, atol=1e-7)


def test_flac_and_rates_are_read(tmp_path):
    tone = sine(1000, 0.5, 22050)
    sf.write(tmp_path / "a.flac", tone, 22050)
    clip = Clips([str(tmp_path / "a.flac")])[0]
    assert clip.rate == 22050 and clip.path.endswith("a.flac")
    np.testing.assert_allclose(clip.wave, tone, atol=1e-4)
    out = clip.at_rate(16000)
    assert len(out) == 8000 and peak_frequency(out, 16000) == pytest.approx(1000, abs=0.5)


# -- amplification and windowing --------------------------------------------------------------------


def test_repeat_tiles_exactly():
    wave = np.array([1, 2, 3], dtype=np.float32)
    np.testing.assert_array_equal(repeat(wave, 1), wave)
    np.testing.assert_array_equal(repeat(wave, 3), [1, 2, 3, 1, 2, 3, 1, 2, 3])
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            repeat(wave, bad)


def test_pad_modes_fill_exactly():
    wave = np.array([1, 2, 3], dtype=np.float32)
    np.testing.assert_array_equal(pad(wave, 8, "repeat"), [1, 2, 3, 1, 2, 3, 1, 2])
    np.testing.assert_array_equal(pad(wave, 8, "repeatpad"), [1, 2, 3, 1, 2, 3, 0, 0])
    np.testing.assert_array_equal(pad(wave, 8, "zero"), [1, 2, 3, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(pad(wave, 3, "zero"), wave)


def test_window_long_clips():
    wave = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(window(wave, 4, long_audio="start"), [[0, 1, 2, 3]])
    np.testing.assert_array_equal(window(wave, 4, long_audio="center"), [[3, 4, 5, 6]])
    np.testing.assert_array_equal(window(wave, 5, long_audio="windows"), [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]])
    np.testing.assert_array_equal(window(wave, 4, long_audio="windows"), [[0, 1, 2, 3], [4, 5, 6, 7], [6, 7, 8, 9]])
    np.testing.assert_array_equal(window(wave, 10), [wave])
    np.testing.assert_array_equal(window(wave[:3], 5, pad_mode="zero"), [[0, 1, 2, 0, 0]])
    np.testing.assert_array_equal(window(wave[1:4], 7, pad_mode="repeat"), [[1, 2, 3, 1, 2, 3, 1]])


def test_repeat_then_window_interacts_with_padding_as_documented():
    short = np.array([1, 2], dtype=np.float32)
    # loop-to-fill hides amplification; zero padding shows it
    np.testing.assert_array_equal(window(repeat(short, 2), 6, "repeat"), window(short, 6, "repeat"))
    assert not np.array_equal(window(repeat(short, 2), 6, "zero"), window(short, 6, "zero"))
    np.testing.assert_array_equal(window(repeat(short, 2), 6, "zero"), [[1, 2, 1, 2, 0, 0]])


def test_window_rejects_bad_settings():
    wave = np.ones(4, dtype=np.float32)
    with pytest.raises(ValueError, match="pad_mode"):
        window(wave, 8, pad_mode="reflect")
    with pytest.raises(ValueError, match="long_audio"):
        window(wave, 2, long_audio="random")
    with pytest.raises(ValueError, match="length"):
        window(wave, 0)


# -- the forms X may take ------------------------------------------------------------------------------


def test_x_forms(tmp_path):
    pd = pytest.importorskip("pandas")
    a, b = sine(440, 0.2, 16000), sine(880, 0.2, 16000)
    path = tmp_path / "a.wav"
    sf.write(path, a, 16000, subtype="FLOAT")
    forms = {
        "list": [a, b],
        "tuple": (a, b),
        "object array": np.array([a, b, None], dtype=object)[:2],
        "series": pd.Series([a, b]),
        "2-D array": np.stack([a, b]),
        "dataframe": pd.DataFrame({"clip": [a, b]}),
    }
    for name, X in forms.items():
        clips = Clips(X, sampling_rate=16000)
        assert len(clips) == 2, name
        np.testing.assert_array_equal(clips[1].wave, b, err_msg=name)
    mixed = Clips([str(path), {"array": b, "sampling_rate": 16000}, {"path": path}, a], sampling_rate=16000)
    assert [mixed.path(i) for i in range(4)] == [str(path), None, str(path), None]
    assert mixed[0].digest == mixed[3].digest == mixed[2].digest  # same samples, same rate
    assert mixed.seconds(0) == pytest.approx(0.2)


@pytest.mark.parametrize(
    "X, match",
    [
        ("clip.wav", "single path"),
        (np.zeros(100, np.float32), "single 1-D array"),
        (np.zeros((2, 3, 100), np.float32), "3-D array"),
        (42, "sequence of clips"),
    ],
)
def test_x_that_is_not_a_sequence_of_clips(X, match):
    with pytest.raises(ValueError, match=match):
        Clips(X, sampling_rate=16000)


# -- bad clips are named -------------------------------------------------------------------------------


def test_bad_clips_are_named(tmp_path):
    good = sine(440, 0.2, 16000)
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(np.random.default_rng(0).bytes(2000))
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0,), np.float32), 16000)
    nan_file = tmp_path / "nan.wav"
    sf.write(nan_file, np.array([0.1, np.nan, 0.2], np.float32), 16000, subtype="FLOAT")
    cube = np.zeros((2, 2, 2), np.float32)

    cases = [
        ([good, np.zeros(0, np.float32)], ClipError, r"clip 1: is empty"),
        ([good, good, np.array([0.0, np.nan, np.inf])], ClipError, r"clip 2: has 2 NaN or infinite"),
        ([good, tmp_path / "missing.wav"], ClipNotFoundError, r"clip 1 \('.*missing.wav'\): no such file"),
        ([good, cube], ClipError, r"clip 1: is a 3-D array of shape \(2, 2, 2\)"),
        ([good, np.zeros((100, 100))], ClipError, r"clip 1: is a 2-D array .* no recognisable channel"),
        ([good, "text"], ClipNotFoundError, r"clip 1 \('text'\)"),
        ([b"RIFF"], ClipError, r"clip 0: is raw bytes"),
        ([np.array(["a", "b"])], ClipError, r"clip 0: is a ndarray of dtype <U1"),
    ]
    for X, error, match in cases:
        with pytest.raises(error, match=match):
            Clips(X, sampling_rate=16000)

    decode_cases = [
        (text, r"clip 1 \('.*notes.wav'\): could not be decoded .*Convert it to WAV or FLAC"),
        (junk, r"clip 1 \('.*junk.mp3'\): could not be decoded"),
        (empty, r"clip 1 \('.*empty.wav'\): is empty"),
        (nan_file, r"clip 1 \('.*nan.wav'\): has NaN or infinite"),
    ]
    for path, match in decode_cases:
        clips = Clips([good, path], sampling_rate=16000)  # structure is fine until decoded
        with pytest.raises(ClipError, match=match) as info:
            clips[1]
        assert info.value.index == 1 and info.value.path == str(path)


@pytest.mark.parametrize("rate", [0, -16000, float("nan"), 16000.5, "16k", True])
def test_non_positive_or_odd_sampling_rate(rate):
    with pytest.raises(ValueError, match="sampling_rate must be a positive whole number"):
        Clips([np.zeros(10)], sampling_rate=rate)


def test_arrays_need_a_sampling_rate():
    with pytest.raises(ValueError, match="Pass the rate of the arrays"):
        Clips([np.zeros(10)])
    with pytest.raises(ClipError, match="clip 0: has an 'array' but no 'sampling_rate'"):
        Clips([{"array": np.zeros(10)}])


def test_minimum_length_names_the_clip_and_the_reason(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, sine(440, 0.01, 16000), 16000)
    clips = Clips(
        [sine(440, 1.0, 16000), path],
        sampling_rate=16000,
        min_seconds=0.025,
        min_reason="the receptive field of the model",
    )
    assert clips[0].seconds == 1.0
    with pytest.raises(
        ClipError,
        match=r"clip 1 \('.*short.wav'\): is 0.010 s long, shorter than the "
        r"minimum of 0.025 s \(the receptive field of the model\)",
    ):
        clips[1]


def test_clip_errors_pickle():
    import pickle

    err = ClipNotFoundError(3, "a.wav", "no such file.", "Check it.")
    again = pickle.loads(pickle.dumps(err))
    assert (type(again), again.index, again.path, str(again)) == (type(err), 3, "a.wav", str(err))


# -- lazy, batch-wise decoding and content digests ---------------------------------------------------------


def test_files_are_decoded_lazily_one_batch_at_a_time(tmp_path, monkeypatch):
    paths = []
    for i in range(7):
        paths.append(tmp_path / f"{i}.wav")
        sf.write(paths[-1], sine(200 + 50 * i, 0.1, 16000), 16000)
    decoded = []
    real = clips_module.decode_file
    monkeypatch.setattr(clips_module, "decode_file", lambda p, index=None: decoded.append(index) or real(p, index))
    clips = Clips(paths)
    assert decoded == []  # construction reads no audio
    seen = []
    for batch in clips.iter_batches(batch_size=3):
        seen.append([c.index for c in batch])
        assert decoded == [i for b in seen for i in b]  # nothing decoded ahead of its batch
    assert seen == [[0, 1, 2], [3, 4, 5], [6]]


def test_content_digest_follows_content_not_origin(tmp_path):
    wave = sine(300, 0.3, 16000)
    path = tmp_path / "x.wav"
    sf.write(path, wave, 16000, subtype="FLOAT")
    clips = Clips([path, wave, wave * 0.5], sampling_rate=16000)
    assert clips.known_digest(0) is None or clips.known_digest(0) == clips[0].digest
    assert clips[0].digest == clips[1].digest == content_digest(wave, 16000)
    assert clips[2].digest != clips[1].digest
    assert content_digest(wave, 16000) != content_digest(wave, 8000)
    assert Clips([path]).known_digest(0) == clips[1].digest  # remembered after decoding
    sf.write(path, wave * 0.5, 16000, subtype="FLOAT")  # rewritten: no stale digest
    import os

    os.utime(path, ns=(1, 1))
    assert Clips([path]).known_digest(0) is None
    assert Clips([path])[0].digest == clips[2].digest
