"""The parser of the ``zsfuse`` command line (no heavy imports: the dataset names need numpy only).

It only builds the parser: each sub-command's ``run`` imports its module
(``_evaluate``, ``_score``, ``_demo``) when it runs, and those read the
values with the helpers of ``_args``.
"""

from __future__ import annotations

import argparse

from .._defaults import DEFAULT_CLAP_MODEL, DEFAULT_FM_MODEL
from .._version import __version__

__all__ = ["COMMANDS", "build_parser"]

#: The sub-commands, in the order of ``zsfuse --help``: name -> (its line in
#: ``zsfuse --help``, the description of ``zsfuse NAME --help``).
COMMANDS = {
    "evaluate": (
        "FM baseline vs zero-shot vs ZS-Fuse on a dataset's folds",
        "Fit and score the FM baseline, zero-shot CLAP and ZS-Fuse on every fold of a "
        "speaker-independent protocol; report UA, WA and macro-F1 per fold and mean +- std.",
    ),
    "amplify": (
        "zero-shot UA per prompt-amplification cell (audio x text)",
        "Score zero-shot CLAP on a dataset for every audio_repeats x text_repeats cell: UA, WA and "
        "macro-F1 per fold and pooled, the cell chosen per fold on the training speakers, and its gain "
        "over no amplification (1, 1) on the test speakers.",
    ),
    "report": (
        "rebuild reports and figures of earlier runs, or combine several (no model)",
        "Rebuild report.md, the CSV files and every figure of zsfuse evaluate and zsfuse amplify runs "
        "from their results.json / amplification.json, without touching a model; several runs also give "
        "summary.md (every dataset in one table) and their heat maps side by side.",
    ),
    "zero-shot": (
        "per-class zero-shot scores for audio files",
        "Score clips against emotion prompts with a CLAP model (no training).",
    ),
    "predict": (
        "labels and probabilities from a saved pipeline",
        "Predict with a pipeline saved by zsfuse.save (skops). A file that asks for "
        "trust_remote_code is refused unless --trust-remote-code is given; --show prints what "
        "a file holds (its types and the model ids/paths it would load) without loading it.",
    ),
    "demo": (
        "evaluate end to end on generated audio and tiny models (offline)",
        "A smoke check of the machinery on a fresh machine: generates speech-like clips "
        "whose classes differ in prosody, builds tiny random models, and runs evaluate. "
        "Its numbers are not emotion recognition.",
    ),
}


def _evaluate(args):
    from ._evaluate import run_evaluate

    return run_evaluate(args)


def _amplify(args):
    from ._amplify import run_amplify

    return run_amplify(args)


def _report(args):
    from ._rebuild import run_report

    return run_report(args)


def _zero_shot(args):
    from ._score import run_zero_shot

    return run_zero_shot(args)


def _predict(args):
    from ._score import run_predict

    return run_predict(args)


def _demo(args):
    from ._demo import run_demo

    return run_demo(args)


def _command(sub, name, common, run):
    """Add the sub-parser of command ``name`` (see :data:`COMMANDS`), which calls ``run(args)``."""
    help_line, description = COMMANDS[name]
    parser = sub.add_parser(name, parents=[common], help=help_line, description=description)
    parser.set_defaults(run=run)
    return parser


def _runtime_options(parser, batch_size=16):
    group = parser.add_argument_group("running the models")
    group.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N, mps")
    group.add_argument(
        "--dtype", default="auto", help="auto (float16 on CUDA, float32 on CPU), float32, float16, bfloat16"
    )
    group.add_argument(
        "--batch-size",
        type=int,
        default=batch_size,
        help="clips (zero-shot: model windows) per forward pass (default: %(default)s)",
    )
    group.add_argument(
        "--cache-dir",
        default=None,
        help="on-disk embedding store (default: $ZSFUSE_CACHE_DIR, else $XDG_CACHE_HOME/zsfuse, else ~/.cache/zsfuse)",
    )
    group.add_argument("--no-cache", action="store_true", help="keep embeddings in memory only")
    return group


def _clap_help(flag_default):
    from ..backends import backends_help

    return (
        f"audio-language model (default: {flag_default}). Released: {backends_help('zero-shot')}. Or a hub id, "
        "folder or checkpoint file (recognised by content), or FAMILY:MODEL to force a family"
    )


def _fm_help():
    from ..backends import backends_help

    return f"speech foundation model hub id or folder (default: {DEFAULT_FM_MODEL}). Families: {backends_help('fm')}"


def _clap_options(group):
    group.add_argument(
        "--backend-option",
        dest="backend_options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option of the audio-language model's family (repeatable; JSON values allowed), e.g. "
        "--backend-option max_seconds=20; zsfuse.list_backends() lists each family's",
    )
    group.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="let a model that ships its own code (CLSP) run it; read that code first",
    )


def _data_options(command, folds=True):
    """The dataset options of ``evaluate`` and ``amplify`` (read by ``_evaluate.dataset_options``)."""
    from ..datasets import DATASETS

    data = command.add_argument_group("data")
    data.add_argument("--dataset", required=True, help=", ".join(DATASETS))
    data.add_argument("--root", required=True, help="the dataset's folder (or manifest file)")
    data.add_argument("--protocol", default=None, help="the dataset's protocol (default: its standard one)")
    data.add_argument("--classes", default=None, help="comma-separated classes to keep (after the class map)")
    data.add_argument(
        "--prefix",
        default=None,
        metavar="OLD=NEW",
        help="EmoBox: replace OLD at the start of the metadata's wav paths by NEW",
    )
    data.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="another dataset option (JSON values allowed), e.g. -o dataset=iemocap",
    )
    if folds:
        data.add_argument("--folds", default=None, help="comma-separated fold names or 1-based numbers to run")
    data.add_argument(
        "--allow-speaker-overlap",
        action="store_true",
        help="accept folds whose training and test parts share speakers (EmoBox's CREMA-D, Emo-DB, TESS "
        "splits); the reports are then marked speaker-dependent",
    )


def _amplify_parser(amp):
    """The options of ``zsfuse amplify`` (docs/commands/amplify.md)."""
    _data_options(amp, folds=False)
    grid = amp.add_argument_group("model and grid")
    grid.add_argument("--clap", default=DEFAULT_CLAP_MODEL, help=_clap_help(DEFAULT_CLAP_MODEL))
    _clap_options(grid)
    grid.add_argument(
        "--audio-repeats", default="1,2,3,4", metavar="K,...", help="audio_repeats values, rows (must hold 1)"
    )
    grid.add_argument(
        "--text-repeats", default="1,2,3,4", metavar="K,...", help="text_repeats values, columns (must hold 1)"
    )
    grid.add_argument(
        "--text-repeat-unit",
        default=None,
        metavar="UNIT,...",
        help="also vary text_repeat_unit: prompt, label (default: the fixed one, prompt)",
    )
    grid.add_argument(
        "--pad-mode",
        default=None,
        metavar="MODE,...",
        help="also vary pad_mode: model, repeat, repeatpad, zero (default: the fixed one, model)",
    )
    grid.add_argument(
        "--set",
        dest="params",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a fixed parameter of the zero-shot transformer (JSON values allowed), e.g. "
        "--set long_audio=mean --set ensemble=logit",
    )
    _runtime_options(amp)
    amp.add_argument("--out", default=None, help="output folder (default: zsfuse-results/<dataset>-amplify)")
    amp.add_argument("--no-progress", action="store_true", help="no cost note, no progress bars")
    return amp


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``zsfuse`` command and its sub-commands.

    Returns
    -------
    argparse.ArgumentParser
        Parsing gives the options of a sub-command, ``command`` (its name)
        and ``run`` (the function that runs it); no sub-command: ``run`` is
        absent.
    """

    parser = argparse.ArgumentParser(
        prog="zsfuse",
        description="Speech emotion recognition with ZS-Fuse: zero-shot CLAP scores late-fused with "
        "speech foundation model embeddings.",
    )
    parser.add_argument("--version", action="version", version=f"zsfuse {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks (or set ZSFUSE_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ev = _command(sub, "evaluate", common, _evaluate)
    _data_options(ev)
    models = ev.add_argument_group("models and search")
    models.add_argument("--clap", default=DEFAULT_CLAP_MODEL, help=_clap_help(DEFAULT_CLAP_MODEL))
    _clap_options(models)
    models.add_argument("--fm", default=DEFAULT_FM_MODEL, help=_fm_help())
    models.add_argument(
        "--grid",
        default=None,
        metavar="FILE",
        help="inner grid of ZS-Fuse as JSON or TOML (default: audio repeats 1-3 x text "
        "repeats 1-3 x zs_weight 0, .25, .5, 1, and the head's own entries); the FM baseline is tuned "
        "on the entries it has",
    )
    models.add_argument(
        "--head",
        choices=("logreg", "emobox", "superb"),
        default="logreg",
        help="the supervised head of the FM baseline and ZS-Fuse: logreg (LogisticRegression on the pooled "
        "embedding, normalisation and C tuned), emobox (EmoBox's recipe on the last layer's frames), superb "
        "(SUPERB's learned layer weighting)",
    )
    models.add_argument(
        "--set",
        dest="params",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a fixed pipeline parameter (JSON values allowed), e.g. --set layers=all --set zs__pad_mode=zero",
    )
    models.add_argument("--inner-folds", type=int, default=3, help="folds of the inner grid search")
    from ..parallel import ENGINES

    models.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="joblib workers for extraction and grid search (-1: all; default 1, or every worker with dask/ray)",
    )
    models.add_argument(
        "--joblib-backend",
        default="loky",
        choices=sorted(ENGINES),
        help="where the workers run: "
        + "; ".join(f"{name}: {what}" for name, what in ENGINES.items())
        + " (the workers return their vectors; only this process writes the cache)",
    )
    models.add_argument(
        "--address",
        default=None,
        help="the Dask scheduler (tcp://host:8786) or Ray cluster (ray://host:10001, auto) to run on",
    )
    _runtime_options(ev)
    ev.add_argument("--out", default=None, help="output folder (default: zsfuse-results/<dataset>)")
    ev.add_argument("--no-progress", action="store_true", help="no progress bars")

    _amplify_parser(_command(sub, "amplify", common, _amplify))

    rep = _command(sub, "report", common, _report)
    rep.add_argument("runs", nargs="+", metavar="RUN", help="a folder written by evaluate or amplify (or its JSON)")
    rep.add_argument(
        "--out",
        default=None,
        help="where to write (default for one run: its own folder; required for several: the combined summary)",
    )

    zs = _command(sub, "zero-shot", common, _zero_shot)
    zs.add_argument("files", nargs="+", help="audio files")
    zs.add_argument("--labels", required=True, help="comma-separated classes, e.g. angry,happy,neutral,sad")
    zs.add_argument("--model", default=DEFAULT_CLAP_MODEL, help=_clap_help(DEFAULT_CLAP_MODEL))
    _clap_options(zs)
    zs.add_argument(
        "--corpus",
        default=None,
        help="the corpus the files come from (e.g. iemocap): warns when the model was trained on it",
    )
    zs.add_argument(
        "--template",
        action="append",
        default=None,
        help="a prompt template with {} for the class word (repeatable; default: the one template "
        "'this person is feeling {}.')",
    )
    zs.add_argument("--audio-repeats", type=int, default=1, help="tile each clip K times (default: 1)")
    zs.add_argument("--text-repeats", type=int, default=1, help="repeat each prompt K times (default: 1)")
    zs.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _runtime_options(zs, batch_size=8)

    pr = _command(sub, "predict", common, _predict)
    pr.add_argument("model", help="a .skops file written by zsfuse.save")
    pr.add_argument("files", nargs="*", help="audio files (none needed with --show)")
    pr.add_argument("--device", default=None, help="run the models on this device instead of the saved one")
    pr.add_argument("--json", action="store_true", help="print JSON instead of a table (also with --show)")
    pr.add_argument(
        "--show",
        action="store_true",
        help="print what MODEL holds -- types, steps, model ids/paths, trust_remote_code, device, "
        "cache folder -- and exit, without loading it or any model",
    )
    pr.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="accept a file whose models may run Python code they ship (trust_remote_code); "
        "only for files and models you trust",
    )

    demo = _command(sub, "demo", common, _demo)
    demo.add_argument("--out", default="zsfuse-demo", help="folder for the corpus, models and results")
    demo.add_argument("--speakers", type=int, default=6, help="generated speakers, at least 3, dealt into the 3 folds")
    demo.add_argument("--clips-per-class", type=int, default=4, help="clips per class and speaker")
    demo.add_argument("--seconds", type=float, default=1.5, help="clip length in seconds")
    demo.add_argument("--n-jobs", type=int, default=1, help="joblib workers (default: 1)")
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser
