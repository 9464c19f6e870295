"""Zero-shot emotion scores with prompt ensembles and prompt amplification, offline.

A tiny random LAION-style CLAP model is built locally (real use: a hub id such
as ``"laion/clap-htsat-unfused"`` or ``"msclap-2023"``), generated speech-like
clips are scored zero-shot, and GridSearchCV picks the audio and text
repetition counts for a logistic regression on the scores. Every clip is
encoded once per audio-repeat value, whatever the folds and grid points.

Random weights and synthetic audio: the numbers show the machinery, not SER.

Run: python examples/zero_shot_offline.py
"""

import tempfile

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline

from zsfuse import CLAPZeroShotTransformer
from zsfuse.testing import make_audio_tree, make_tiny_clap


def main():
    workdir = tempfile.mkdtemp(prefix="zsfuse-zero-shot-")
    records = make_audio_tree(f"{workdir}/audio", n_speakers=3, n_per_class=3, seconds=2.0)
    X = [r["path"] for r in records]  # 16 kHz files: resampled to the model's 48 kHz on the fly
    y = np.array([r["label"] for r in records])
    groups = np.array([r["speaker"] for r in records])
    model = make_tiny_clap(f"{workdir}/tiny-clap")

    zs = CLAPZeroShotTransformer(
        model=model,
        label_words={
            "angry": ("angry", "furious"),
            "happy": ("happy", "joyful"),
            "neutral": ("neutral", "calm"),
            "sad": ("sad", "unhappy"),
        },
        templates=("this person is feeling {}.", "a person speaking in a {} voice."),
        audio_repeats=2,
        pad_mode="zero",
        output="proba",
        cache_dir=f"{workdir}/cache",
    ).set_output(transform="pandas")
    scores = zs.fit_transform(X[:4])
    print("zero-shot probabilities (first 4 clips):")
    print(scores.round(3).assign(true=y[:4]).to_string())
    print("\nprompts of 'sad':", zs.prompts_[list(zs.classes_).index("sad")])

    pipe = Pipeline([("zs", zs.set_params(output="logit")), ("clf", LogisticRegression(max_iter=1000))])
    grid = {"zs__audio_repeats": [1, 2, 3], "zs__text_repeats": [1, 2], "zs__ensemble": ["embedding", "logit"]}
    search = GridSearchCV(pipe, grid, cv=GroupKFold(3), scoring="balanced_accuracy")
    search.fit(X, y, groups=groups)
    print(
        f"\nbest of {len(search.cv_results_['params'])} settings: {search.best_params_}, "
        f"UA {search.best_score_:.3f} (chance 0.25)"
    )


if __name__ == "__main__":
    main()
