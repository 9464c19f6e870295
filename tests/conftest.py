"""Shared pytest fixtures: the tiny offline test models, an empty embedding store, the demo corpus."""

import pytest as _pytest


def _tiny_model(kind, folder, what):
    """The session-scoped fixture ``tiny_<kind>_dir``: ``zsfuse.testing.make_tiny_<kind>`` run once in a temp folder."""

    def build(tmp_path_factory):
        import zsfuse.testing

        return getattr(zsfuse.testing, f"make_tiny_{kind}")(tmp_path_factory.mktemp(folder))

    build.__doc__ = f"Folder of {what} (str)."
    return _pytest.fixture(scope="session", name=f"tiny_{kind}_dir")(build)


# --- tiny offline test models (zsfuse.testing); session-scoped, built once ---

tiny_clap_dir = _tiny_model("clap", "tiny-laion-clap", "a tiny random transformers CLAP model + processor")
tiny_wavlm_dir = _tiny_model("wavlm", "tiny-wavlm", 'a tiny random WavLM ("large" layout) + feature extractor')
tiny_hubert_dir = _tiny_model("hubert", "tiny-hubert", 'a tiny random HuBERT ("large" layout) + feature extractor')
tiny_wav2vec2_dir = _tiny_model("wav2vec2", "tiny-wav2vec2", 'a tiny random wav2vec 2.0 (group-norm "base" layout)')
tiny_data2vec_dir = _tiny_model("data2vec", "tiny-data2vec", "a tiny random data2vec-audio + feature extractor")
tiny_whisper_dir = _tiny_model("whisper", "tiny-whisper", "a tiny random Whisper encoder-decoder + feature extractor")


@_pytest.fixture(scope="session")
def tiny_msclap(tmp_path_factory):
    """A tiny msclap 2023 model (zsfuse.testing.TinyMSCLAP); skipped without msclap."""
    _pytest.importorskip("msclap", reason="needs the msclap extra")
    from zsfuse.testing import make_tiny_msclap

    return make_tiny_msclap(tmp_path_factory.mktemp("tiny-msclap"))


# --- state and data ---


@_pytest.fixture
def fresh_store():
    """An empty in-memory embedding store before and after the test (disk stores are per tmp_path).

    Modules whose every test needs it say ``pytestmark = pytest.mark.usefixtures("fresh_store")``.
    """
    from zsfuse.store import clear_stores

    clear_stores()
    yield
    clear_stores()


@_pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """The demo corpus (3 speakers, one per fold; 3 clips per class and speaker, 1 s clips) and its manifest.csv."""
    from zsfuse.testing import write_demo_corpus

    return write_demo_corpus(tmp_path_factory.mktemp("corpus"), n_speakers=3, clips_per_class=3, seconds=1.0, n_folds=3)
