"""Generated test audio (numpy only): tones, sweeps, noise bursts, speech-like signals, and a file writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _n_samples(seconds, rate):
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate!r}")
    if seconds < 0:
        raise ValueError(f"seconds must be non-negative, got {seconds!r}")
    return int(round(seconds * rate))


def tone(freq, seconds, rate, amplitude=0.5):
    """A pure sine tone.

    Parameters
    ----------
    freq : float
        Frequency in Hz.
    seconds : float
        Duration; the length is ``round(seconds * rate)`` samples.
    rate : int
        Sampling rate in Hz.
    amplitude : float, default=0.5
        Peak amplitude.

    Returns
    -------
    numpy.ndarray
        1-D float32 array, ``amplitude * sin(2 pi freq t)`` with ``t = n / rate``.
    """
    t = np.arange(_n_samples(seconds, rate), dtype=np.float64) / rate
    return (amplitude * np.sin(2.0 * np.pi * freq * t)).astype(np.float32)


def chirp(f0, f1, seconds, rate, amplitude=0.5):
    """A linear sine sweep from ``f0`` to ``f1`` Hz.

    Parameters
    ----------
    f0, f1 : float
        Start and end frequency in Hz.
    seconds : float
        Duration ``T``; the length is ``round(T * rate)`` samples.
    rate : int
        Sampling rate in Hz.
    amplitude : float, default=0.5
        Peak amplitude, the same over the whole sweep.

    Returns
    -------
    numpy.ndarray
        1-D float32 array, ``amplitude * sin(2 pi (f0 t + (f1 - f0) t^2 / (2 T)))``.
    """
    t = np.arange(_n_samples(seconds, rate), dtype=np.float64) / rate
    duration = max(float(seconds), 1e-12)
    phase = 2.0 * np.pi * (f0 * t + 0.5 * (f1 - f0) * t**2 / duration)
    return (amplitude * np.sin(phase)).astype(np.float32)


def noise_burst(seconds, rate, seed=0, amplitude=0.5):
    """White noise, uniform in ``[-amplitude, amplitude)``, with 5 ms fades.

    Parameters
    ----------
    seconds : float
        Duration, fades included; the length is ``round(seconds * rate)`` samples.
    rate : int
        Sampling rate in Hz.
    seed : int, default=0
        Seed of ``numpy.random.default_rng``.
    amplitude : float, default=0.5
        Bound of the absolute value.

    Returns
    -------
    numpy.ndarray
        1-D float32 array; the first and last 5 ms fade in and out (half-Hann).
    """
    n = _n_samples(seconds, rate)
    rng = np.random.default_rng(seed)
    x = amplitude * rng.uniform(-1.0, 1.0, n)
    fade = min(int(0.005 * rate), n // 2)
    if fade > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
        x[:fade] *= ramp
        x[n - fade :] *= ramp[::-1]
    return x.astype(np.float32)


def speechlike(seconds, rate, f0=120.0, contour="rise", energy=0.5, tempo=4.0, seed=0):
    """A harmonic, voice-like signal with a pitch contour and syllable rhythm.

    The pitch moves linearly from ``f0`` to ``1.5 * f0`` (``"rise"``), to
    ``f0 / 1.5`` (``"fall"``) or stays at ``f0`` (``"flat"``), with a small
    seeded jitter (under 2 %). The signal is the sum of the harmonics below
    ``min(rate / 2, 5 kHz)`` (at most 12) with amplitudes ``1 / k`` and seeded
    phases, times a syllable envelope ``sin^2(pi tempo t)`` (``tempo``
    syllables per second) whose syllables have seeded strengths in
    ``[0.6, 1]``, plus faint seeded breath noise. It is scaled so its peak
    absolute value is ``energy``.

    Parameters
    ----------
    seconds : float
        Duration; the length is ``round(seconds * rate)`` samples.
    rate : int
        Sampling rate in Hz.
    f0 : float, default=120.0
        Starting fundamental frequency in Hz.
    contour : {"rise", "fall", "flat"}, default="rise"
        Pitch contour.
    energy : float, default=0.5
        Peak absolute value of the output (a loudness knob).
    tempo : float, default=4.0
        Syllables per second.
    seed : int, default=0
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    numpy.ndarray
        1-D float32 array.
    """
    if contour not in ("rise", "fall", "flat"):
        raise ValueError(f"contour must be 'rise', 'fall' or 'flat', got {contour!r}")
    n = _n_samples(seconds, rate)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float64) / rate
    u = t / max(float(seconds), 1e-12)
    end = {"rise": 1.5 * f0, "fall": f0 / 1.5, "flat": f0}[contour]
    pitch = f0 + (end - f0) * u
    # slow jitter: a smooth random curve through a few control points
    knots = rng.uniform(-1.0, 1.0, 8)
    jitter = 0.015 * np.interp(u, np.linspace(0.0, 1.0, knots.size), knots)
    pitch = pitch * (1.0 + jitter)
    phase = 2.0 * np.pi * np.cumsum(pitch) / rate
    top = min(rate / 2.0, 5000.0)
    n_harm = int(max(1, min(12, top // max(pitch.max(), 1e-6))))
    offsets = rng.uniform(0.0, 2.0 * np.pi, n_harm)
    voiced = np.zeros(n)
    for k in range(1, n_harm + 1):
        voiced += np.sin(k * phase + offsets[k - 1]) / k
    n_syll = int(np.ceil(tempo * seconds)) + 1
    strengths = rng.uniform(0.6, 1.0, n_syll)
    index = np.minimum((t * tempo).astype(int), n_syll - 1)
    envelope = np.sin(np.pi * tempo * t) ** 2 * strengths[index]
    breath = 0.03 * rng.standard_normal(n)
    x = envelope * (voiced + breath)
    peak = np.max(np.abs(x))
    if peak > 0:
        x *= energy / peak
    return x.astype(np.float32)


def write_wav(path, wave, rate, subtype="PCM_16", channels=1):
    """Write a 1-D signal to an audio file with soundfile.

    With ``channels > 1`` the file holds ``channels`` scaled copies: channel
    ``c`` (0-based) is ``wave / (c + 1)``, so channel 0 is ``wave`` itself and
    the channel mean is ``wave * H / channels`` with ``H = 1 + 1/2 + ... +
    1/channels``. The format follows the file extension (``.wav``, ``.flac``,
    ``.ogg``, ...); parent folders are created.

    Parameters
    ----------
    path : str or path-like
        File to write.
    wave : array-like
        1-D signal, float in [-1, 1] (values outside are clipped by PCM
        subtypes).
    rate : int
        Sampling rate in Hz.
    subtype : str, default="PCM_16"
        A soundfile subtype: ``"PCM_16"``, ``"PCM_24"``, ``"PCM_32"``,
        ``"FLOAT"``, ``"DOUBLE"``, ...
    channels : int, default=1
        Number of channels.

    Returns
    -------
    str
        ``path``, as a string.
    """
    import soundfile as sf

    wave = np.asarray(wave, dtype=np.float64)
    if wave.ndim != 1:
        raise ValueError(f"wave must be 1-D, got shape {wave.shape}")
    if int(channels) < 1:
        raise ValueError(f"channels must be >= 1, got {channels!r}")
    data = np.stack([wave / (c + 1) for c in range(int(channels))], axis=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, int(rate), subtype=subtype)
    return str(path)
