"""Shared pytest fixtures."""

import pytest as _pytest

# --- tiny offline test models (zsfuse.testing); session-scoped, built once ---


@_pytest.fixture(scope="session")
def tiny_clap_dir(tmp_path_factory):
    """Folder of a tiny random transformers CLAP model + processor (str)."""
    from zsfuse.testing import make_tiny_clap

    return make_tiny_clap(tmp_path_factory.mktemp("tiny-laion-clap"))


@_pytest.fixture(scope="session")
def tiny_wavlm_dir(tmp_path_factory):
    """Folder of a tiny random WavLM ("large" layout) + feature extractor (str)."""
    from zsfuse.testing import make_tiny_wavlm

    return make_tiny_wavlm(tmp_path_factory.mktemp("tiny-wavlm"))


@_pytest.fixture(scope="session")
def tiny_hubert_dir(tmp_path_factory):
    """Folder of a tiny random HuBERT ("large" layout) + feature extractor (str)."""
    from zsfuse.testing import make_tiny_hubert

    return make_tiny_hubert(tmp_path_factory.mktemp("tiny-hubert"))


@_pytest.fixture(scope="session")
def tiny_wav2vec2_dir(tmp_path_factory):
    """Folder of a tiny random wav2vec 2.0 (group-norm "base" layout) (str)."""
    from zsfuse.testing import make_tiny_wav2vec2

    return make_tiny_wav2vec2(tmp_path_factory.mktemp("tiny-wav2vec2"))


@_pytest.fixture(scope="session")
def tiny_msclap(tmp_path_factory):
    """A tiny msclap 2023 model (zsfuse.testing.TinyMSCLAP); skipped without msclap."""
    _pytest.importorskip("msclap", reason="needs the msclap extra")
    from zsfuse.testing import make_tiny_msclap

    return make_tiny_msclap(tmp_path_factory.mktemp("tiny-msclap"))


@_pytest.fixture
def fresh_stores():
    """An empty in-memory embedding store before and after the test (disk stores are per tmp_path)."""
    from zsfuse.store import clear_stores

    clear_stores()
    yield
    clear_stores()


@_pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """The demo corpus (3 speakers, 2 clips per class and speaker, 1 s clips) and its manifest.csv."""
    from zsfuse.cli._demo import write_demo_corpus

    return write_demo_corpus(tmp_path_factory.mktemp("corpus"), n_speakers=3, clips_per_class=2, seconds=1.0)
