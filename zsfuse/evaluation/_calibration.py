"""How confident is each system, and is its confidence deserved? Calibration metrics and a reliability diagram.

A classifier is *calibrated* when, among the clips it scores with
confidence ``c``, a fraction ``c`` is right. Audio-language models scoring
zero-shot are typically over-confident: a near one-hot softmax even when the
argmax is little better than chance. This module measures it on a system's
test probabilities (``predict_proba``, columns in ``classes`` order):

* :func:`calibration_metrics`: the expected calibration error (ECE) of the
  top-label confidence, its classwise variant, the negative log-likelihood
  (NLL), the multiclass Brier score, the mean confidence and the accuracy;
* :func:`reliability_curve`: accuracy against mean confidence per bin, the
  data of a reliability diagram;
* :func:`reliability_figure` and :func:`write_reliability_diagram`: the
  diagram of several systems on one figure (a matplotlib ``Figure``, or a
  PNG written atomically);
* :func:`pooled_calibration`: the metrics and the curve of the test clips of
  all the folds of a protocol, pooled.

**Binning.** ``n_bins`` equal-width bins on [0, 1] with edges
``b / n_bins`` (b = 0 .. n_bins): bin ``b`` holds the values ``v`` with
``b / n_bins <= v < (b + 1) / n_bins`` -- closed on the left, open on the
right -- except the last, which is closed on both sides so that 1.0 falls in
it; 0.0 falls in the first. Every value in [0, 1] is in exactly one bin.

All the functions return plain, JSON-serialisable values (Python ``float``,
``int``, lists of them).
"""

from __future__ import annotations

import io
import numbers
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..exceptions import MissingDependencyError
from ._atomic import atomic_write

__all__ = [
    "calibration_metrics",
    "pooled_calibration",
    "reliability_curve",
    "reliability_figure",
    "write_reliability_diagram",
]

#: Default number of equal-width confidence bins (the common choice since Guo et al. 2017).
N_BINS = 15

#: How far a row of ``proba`` may sum from 1.
SUM_TOLERANCE = 1e-6

#: Probabilities are clipped to ``[NLL_FLOOR, 1]`` before the NLL: a clip's loss is at most ``-log(1e-15)`` = 34.5.
NLL_FLOOR = 1e-15

_SHOWN_LABELS = 10  # at most this many offending labels are named in an error
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


# ---------------------------------------------------------------------------- validation
def _check_classes(classes):
    """``classes`` as a list of Python scalars: at least two, none repeated."""
    if classes is None:
        raise ValueError("classes is None: pass the classes in the order of the columns of proba.")
    values = np.asarray(classes, dtype=object) if isinstance(classes, (list, tuple)) else np.asarray(classes)
    if values.ndim != 1:
        raise ValueError(f"classes must be one-dimensional, got an array of shape {values.shape}.")
    values = values.tolist()
    if len(values) < 2:
        raise ValueError(f"classes must hold at least two classes (the columns of proba), got {values!r}.")
    if len(set(values)) != len(values):
        repeated = sorted({c for c in values if values.count(c) > 1}, key=repr)
        raise ValueError(f"classes repeats {', '.join(map(repr, repeated))}: each column of proba is one class.")
    return values


def _check_n_bins(n_bins):
    if isinstance(n_bins, bool) or not isinstance(n_bins, numbers.Integral) or n_bins < 1:
        raise ValueError(f"n_bins must be an integer of at least 1 (15 is usual), got {n_bins!r}.")
    return int(n_bins)


def _first_bad_row(bad):
    """Index of the first True row of ``bad`` and how many rows are True."""
    return int(np.argmax(bad)), int(np.count_nonzero(bad))


def _check_inputs(y_true, proba, classes, where=""):
    """Class codes of ``y_true`` and ``proba`` as float64 rows divided by their sums.

    ``where`` prefixes every error message (``"fold 2: "``).
    """
    classes = _check_classes(classes)
    if y_true is None:
        raise ValueError(f"{where}y_true is None: pass the true class of each clip.")
    labels = np.asarray(y_true, dtype=object) if isinstance(y_true, (list, tuple)) else np.asarray(y_true)
    if labels.ndim != 1:
        raise ValueError(f"{where}y_true must be one-dimensional, got an array of shape {labels.shape}.")
    labels = labels.tolist()
    if not labels:
        raise ValueError(f"{where}y_true is empty: calibration needs at least one clip.")
    try:
        p = np.array(proba, dtype=np.float64)  # a copy: the caller's array is never modified
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}proba must be an array of numbers (predict_proba's output): {exc}") from exc
    if p.shape != (len(labels), len(classes)):
        raise ValueError(
            f"{where}proba must have shape (n_clips, n_classes) = ({len(labels)}, {len(classes)}) -- one row per "
            f"label of y_true, one column per class, in the order of classes -- got {p.shape}."
        )
    if not np.all(np.isfinite(p)):
        row, count = _first_bad_row(~np.all(np.isfinite(p), axis=1))
        raise ValueError(f"{where}row {row} of proba holds NaN or infinity ({count} rows do): {p[row].tolist()}.")
    if np.any(p < 0.0):
        row, count = _first_bad_row(np.any(p < 0.0, axis=1))
        raise ValueError(
            f"{where}row {row} of proba has a negative entry ({count} rows do): {p[row].tolist()}. "
            "Pass probabilities (predict_proba), not logits or scores."
        )
    sums = p.sum(axis=1)
    off = np.abs(sums - 1.0) > SUM_TOLERANCE
    if np.any(off):
        row, count = _first_bad_row(off)
        raise ValueError(
            f"{where}row {row} of proba sums to {float(sums[row])!r}, not 1 (tolerance {SUM_TOLERANCE:g}; "
            f"{count} rows are off). Pass probabilities (predict_proba), not logits or scores; a softmax of "
            "logits gives them."
        )
    index = {label: k for k, label in enumerate(classes)}
    unknown = sorted({label for label in labels if label not in index}, key=repr)
    if unknown:
        shown = ", ".join(repr(label) for label in unknown[:_SHOWN_LABELS])
        more = f" and {len(unknown) - _SHOWN_LABELS} more" if len(unknown) > _SHOWN_LABELS else ""
        raise ValueError(f"{where}y_true has labels that are not in classes {classes!r}: {shown}{more}.")
    codes = np.fromiter((index[label] for label in labels), dtype=np.int64, count=len(labels))
    return codes, p / sums[:, None]


# ---------------------------------------------------------------------------- binning
def _bin_index(values, n_bins):
    """Bin of each value in [0, 1]: ``b / n_bins <= v < (b + 1) / n_bins``; 1.0 in the last bin."""
    edges = np.arange(n_bins + 1) / n_bins  # exactly b / n_bins (one correctly rounded division each)
    return np.clip(np.searchsorted(edges, values, side="right") - 1, 0, n_bins - 1)


def _bin_sums(values, hits, n_bins):
    """Per bin: the number of values, their sum and the sum of the hits (0/1)."""
    index = _bin_index(values, n_bins)
    counts = np.bincount(index, minlength=n_bins)
    value_sums = np.bincount(index, weights=values, minlength=n_bins)
    hit_sums = np.bincount(index, weights=hits.astype(np.float64), minlength=n_bins)
    return counts, value_sums, hit_sums


def _ece(values, hits, n_bins):
    """``sum_b |B_b| / n * |mean hit(B_b) - mean value(B_b)|`` = ``sum_b |sum hits - sum values| / n``."""
    _, value_sums, hit_sums = _bin_sums(values, hits, n_bins)
    return float(np.sum(np.abs(hit_sums - value_sums)) / len(values))


def _top_label(codes, p):
    """Top-label confidence of each clip, and whether its argmax (the first on ties) is right."""
    predicted = np.argmax(p, axis=1)
    return p[np.arange(len(p)), predicted], predicted == codes


def _metrics(codes, p, n_bins):
    n, k = p.shape
    confidence, correct = _top_label(codes, p)
    onehot = np.zeros_like(p)
    onehot[np.arange(n), codes] = 1.0
    return {
        "ece": _ece(confidence, correct, n_bins),
        "classwise_ece": float(np.mean([_ece(p[:, c], codes == c, n_bins) for c in range(k)])),
        "nll": _nll(codes, p),
        "brier": float(np.mean(np.sum((p - onehot) ** 2, axis=1))),
        "n": int(n),
        "n_bins": int(n_bins),
        "mean_confidence": float(np.mean(confidence)),
        "accuracy": float(np.mean(correct)),
    }


def _nll(codes, p):
    """:func:`sklearn.metrics.log_loss` of ``p`` clipped to ``[NLL_FLOOR, 1]``, on class codes 0 .. k - 1."""
    from sklearn.metrics import log_loss

    # Positional y_proba (named y_pred before scikit-learn 1.9); labels = the column indices, which
    # every version orders as the columns (it sorts labels: class names in another order would be
    # matched to the wrong columns).
    return float(log_loss(codes, np.clip(p, NLL_FLOOR, 1.0), labels=np.arange(p.shape[1])))


def _curve(codes, p, n_bins):
    confidence, correct = _top_label(codes, p)
    counts, value_sums, hit_sums = _bin_sums(confidence, correct, n_bins)
    kept = np.flatnonzero(counts)
    return {
        "confidence": (value_sums[kept] / counts[kept]).tolist(),
        "accuracy": (hit_sums[kept] / counts[kept]).tolist(),
        "count": counts[kept].astype(int).tolist(),
        "bin_lower": (kept / n_bins).tolist(),
        "bin_upper": ((kept + 1) / n_bins).tolist(),
        "n": int(len(codes)),
        "n_bins": int(n_bins),
        "ece": float(np.sum(np.abs(hit_sums - value_sums)) / len(codes)),
    }


# ---------------------------------------------------------------------------- public: metrics
def calibration_metrics(y_true, proba, classes, *, n_bins=N_BINS):
    """Calibration of predicted probabilities: ECE, classwise ECE, NLL, Brier score, confidence, accuracy.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True class of each clip, each one of ``classes``.
    proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities (``predict_proba``), column ``k`` for
        ``classes[k]``; each row sums to 1 within 1e-6.
    classes : sequence
        The classes, in the order of the columns of ``proba`` (at least two).
    n_bins : int, default=15
        Number of equal-width bins on [0, 1] of the two ECEs.

    Returns
    -------
    dict
        Python floats and ints:

        * ``"ece"``: expected calibration error of the top-label confidence
          ``c_i = max_k p_ik``: ``sum_b |B_b| / n * |acc(B_b) - conf(B_b)|``
          over the bins ``B_b`` of ``c`` (module docstring), where ``acc`` is
          the fraction of the bin's clips whose argmax is the true class and
          ``conf`` their mean confidence (Guo et al., 2017). 0 is perfect,
          at most 1.
        * ``"classwise_ece"``: for each class ``k``, the same binning of
          ``p_k`` against the indicator ``y == k``, averaged over the classes
          (all of them, a class absent from ``y_true`` included: then it
          measures the probability put on it): the classwise-ECE of Kull et al.
          (2019), the static calibration error (SCE) of Nixon et al. (2019).
        * ``"nll"``: the mean negative log-likelihood of the true class,
          natural logarithm: :func:`sklearn.metrics.log_loss` of the
          probabilities clipped to ``[1e-15, 1]`` (Notes).
        * ``"brier"``: the multiclass Brier score
          ``mean_i sum_k (p_ik - 1[y_i = k]) ** 2``, between 0 and 2.
        * ``"n"``: the number of clips; ``"n_bins"``: the bins used.
        * ``"mean_confidence"``: the mean top-label confidence.
        * ``"accuracy"``: the fraction of clips whose argmax is the true class;
          ``mean_confidence - accuracy > 0`` is over-confidence.

    Raises
    ------
    ValueError
        When ``classes`` has fewer than two classes or repeats one, ``y_true``
        is empty or has a label not in ``classes``, ``proba`` is not of shape
        ``(len(y_true), len(classes))``, has a NaN, infinite or negative
        entry, or a row that does not sum to 1 within 1e-6 (the message names
        the first such row), or ``n_bins`` is not a positive integer.

    Notes
    -----
    Rows of ``proba`` are divided by their sums (float64) before anything is
    computed, so the metrics are those of exact distributions; the input is
    not modified. The predicted class is the argmax of a row, the first
    column on ties (``numpy.argmax``), as a classifier's ``predict``.

    **NLL and zero probabilities.** A true class given probability 0 has an
    infinite log-loss. scikit-learn clips probabilities to ``[eps, 1 - eps]``
    with ``eps`` the machine epsilon of the dtype (2.2e-16 in float64; the
    same in 1.7, the last release for Python 3.10, and in 1.9). The
    probabilities are float64 here and are first clipped to ``[1e-15, 1]``
    (the default floor of ``log_loss`` before 1.2), which caps a clip's loss
    at ``-log(1e-15)`` = 34.5 whatever the version and input dtype; the
    clipped rows sum to 1 within ``n_classes * 1e-15``, far inside the
    tolerance of ``log_loss``'s sum check. The labels are
    passed to ``log_loss`` as column indices: ``log_loss`` takes the columns
    in *sorted* label order, so class names passed in another order would be
    matched to the wrong columns.

    **Brier score.** Computed here, not with
    :func:`sklearn.metrics.brier_score_loss`: that is binary-only in
    scikit-learn 1.6, and from 1.7 its default ``scale_by_half="auto"``
    halves the score of two-column input. The value is that of
    ``brier_score_loss(..., scale_by_half=False)`` in 1.7 and later (the
    original definition of Brier, 1950).

    ECE depends on the binning (the number of bins, equal width here) and is
    biased upwards on few clips: with ``n`` clips per bin the accuracy of a
    bin is itself uncertain by about ``sqrt(acc (1 - acc) / n)``. Compare
    systems on the same clips and bins.

    References
    ----------
    Brier, G. W. (1950). Verification of forecasts expressed in terms of
    probability. Monthly Weather Review, 78(1), 1-3.

    Guo, C., Pleiss, G., Sun, Y., & Weinberger, K. Q. (2017). On calibration
    of modern neural networks. ICML.

    Kull, M., Perello-Nieto, M., Kängsepp, M., Silva Filho, T., Song, H., &
    Flach, P. (2019). Beyond temperature scaling: obtaining well-calibrated
    multiclass probabilities with Dirichlet calibration. NeurIPS.

    Nixon, J., Dusenberry, M. W., Zhang, L., Jerfel, G., & Tran, D. (2019).
    Measuring calibration in deep learning. CVPR Workshops.

    Examples
    --------
    Always sure, right 3 times in 5: over-confident by 0.4.

    >>> from zsfuse.evaluation._calibration import calibration_metrics
    >>> proba = [[1.0, 0.0]] * 5
    >>> m = calibration_metrics(["a", "a", "a", "b", "b"], proba, ["a", "b"])
    >>> m["ece"], m["mean_confidence"], m["accuracy"], m["brier"]
    (0.4, 1.0, 0.6, 0.8)
    """
    n_bins = _check_n_bins(n_bins)
    codes, p = _check_inputs(y_true, proba, classes)
    return _metrics(codes, p, n_bins)


def reliability_curve(y_true, proba, classes, *, n_bins=N_BINS):
    """Accuracy against confidence per bin: the data of a reliability diagram.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True class of each clip, each one of ``classes``.
    proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, column ``k`` for ``classes[k]``.
    classes : sequence
        The classes, in the order of the columns of ``proba``.
    n_bins : int, default=15
        Number of equal-width bins of the top-label confidence on [0, 1].

    Returns
    -------
    dict
        Lists with one entry per **non-empty** bin, in increasing order (an
        empty bin is omitted, so no entry is NaN):

        * ``"confidence"``: the mean top-label confidence of the bin's clips;
        * ``"accuracy"``: the fraction of them whose argmax is right;
        * ``"count"``: how many clips (the counts sum to ``n``);
        * ``"bin_lower"``, ``"bin_upper"``: the bin's edges.

        And ``"n"`` (clips), ``"n_bins"`` and ``"ece"``, the ECE of these bins
        (``calibration_metrics(...)["ece"]``), which
        :func:`write_reliability_diagram` shows in its legend.

    Raises
    ------
    ValueError
        As :func:`calibration_metrics`.

    Notes
    -----
    A calibrated system's points lie on the diagonal; points below it are
    over-confidence (right less often than claimed), above it
    under-confidence. The bins are those of :func:`calibration_metrics`
    (module docstring).
    """
    n_bins = _check_n_bins(n_bins)
    codes, p = _check_inputs(y_true, proba, classes)
    return _curve(codes, p, n_bins)


def pooled_calibration(folds, classes, *, n_bins=N_BINS):
    """:func:`calibration_metrics` and :func:`reliability_curve` of the test clips of all the folds, pooled.

    Parameters
    ----------
    folds : sequence of tuple
        One ``(y_true, proba)`` per fold: the fold's test labels and the
        system's probabilities of them, columns in ``classes`` order.
    classes : sequence
        The dataset's classes, in the order of the columns of every fold's
        ``proba``.
    n_bins : int, default=15
        As in :func:`calibration_metrics`.

    Returns
    -------
    dict
        The :func:`calibration_metrics` of the pooled clips, plus
        ``"n_folds"`` and ``"reliability"``, their :func:`reliability_curve`
        (ready for :func:`write_reliability_diagram`).

    Raises
    ------
    ValueError
        When ``folds`` is empty, a fold is not a pair, or a fold's data is
        refused as by :func:`calibration_metrics` (the message names the fold).

    Notes
    -----
    Pooling weights the folds by their number of clips, and bins the clips of
    all folds together: fewer, fuller bins than per fold, hence a less biased
    ECE than the mean of the fold ECEs.
    """
    n_bins = _check_n_bins(n_bins)
    classes = _check_classes(classes)
    folds = list(folds)
    if not folds:
        raise ValueError("pooled_calibration needs at least one fold, got none.")
    codes, probas = [], []
    for k, fold in enumerate(folds):
        if not isinstance(fold, (tuple, list)) or len(fold) != 2:
            raise ValueError(f"fold {k} must be a pair (y_true, proba), got {type(fold).__name__}.")
        fold_codes, p = _check_inputs(fold[0], fold[1], classes, where=f"fold {k}: ")
        codes.append(fold_codes)
        probas.append(p)
    codes, p = np.concatenate(codes), np.concatenate(probas)
    result = _metrics(codes, p, n_bins)
    result["n_folds"] = len(folds)
    result["reliability"] = _curve(codes, p, n_bins)
    return result


# ---------------------------------------------------------------------------- public: figures
def _require_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "the reliability diagram needs matplotlib, which is not installed: pip install matplotlib."
        ) from exc


def _finite_list(curve, key, name):
    try:
        values = np.asarray(curve[key], dtype=np.float64)
    except KeyError:
        raise ValueError(f"the curve of {name!r} has no {key!r}: pass reliability_curve(...)'s dict.") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the curve of {name!r}: {key!r} must be a list of numbers ({exc}).") from exc
    if values.ndim != 1 or not np.all(np.isfinite(values)):
        raise ValueError(f"the curve of {name!r}: {key!r} must be a flat list of finite numbers.")
    return values


def _check_curves(curves):
    """``{name: (confidence, accuracy, count, lower, upper, ece)}``; ValueError on a malformed curve."""
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("curves must be a non-empty dict {system name: reliability_curve(...)}.")
    checked = {}
    for name, curve in curves.items():
        if not isinstance(curve, Mapping):
            raise ValueError(f"the curve of {name!r} must be a dict (reliability_curve's), got {type(curve).__name__}.")
        conf, acc, count = (_finite_list(curve, key, name) for key in ("confidence", "accuracy", "count"))
        if not len(conf) == len(acc) == len(count):
            raise ValueError(
                f"the curve of {name!r}: confidence, accuracy and count differ in length: "
                f"{len(conf)}, {len(acc)}, {len(count)}."
            )
        edges = None
        if "bin_lower" in curve and "bin_upper" in curve:
            edges = (_finite_list(curve, "bin_lower", name), _finite_list(curve, "bin_upper", name))
            if not len(edges[0]) == len(edges[1]) == len(conf):
                raise ValueError(f"the curve of {name!r}: bin_lower and bin_upper must have one entry per bin.")
        ece = curve.get("ece")
        if ece is not None and not (isinstance(ece, numbers.Real) and np.isfinite(ece)):
            raise ValueError(f"the curve of {name!r}: 'ece' must be a finite number or absent, got {ece!r}.")
        checked[str(name)] = (conf, acc, count, edges, ece)
    return checked


def reliability_figure(curves, *, title=None):
    """A reliability diagram of several systems on one matplotlib figure.

    Parameters
    ----------
    curves : dict
        ``{system name: reliability_curve(...)}``, drawn in this order. A
        curve needs ``"confidence"``, ``"accuracy"`` and ``"count"``; its
        ``"ece"``, when present, is shown in the legend, and its
        ``"bin_lower"`` / ``"bin_upper"`` give the histogram below.
    title : str, optional
        Title of the figure. Default: ``"Reliability diagram"``.

    Returns
    -------
    matplotlib.figure.Figure
        On an Agg canvas (no pyplot, no display): ``axes[0]`` the diagram,
        ``axes[1]`` the histogram of the confidences.

    Raises
    ------
    ValueError
        When ``curves`` is empty or a curve lacks a list, has lists of
        different lengths or a non-finite value.
    MissingDependencyError
        When matplotlib is not installed.

    Notes
    -----
    Top: accuracy against mean confidence, one line with markers per system,
    and the diagonal of perfect calibration; a point below the diagonal is
    over-confidence. Bottom: the share of each system's clips in each bin
    (bars side by side): where the confidences lie, hence which points of the
    diagram rest on many clips.
    """
    checked = _check_curves(curves)
    _require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 7.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 1, height_ratios=(3, 1))
    ax = fig.add_subplot(grid[0])
    hist = fig.add_subplot(grid[1], sharex=ax)
    ax.plot([0.0, 1.0], [0.0, 1.0], linestyle="--", color="0.5", linewidth=1.0, label="perfect calibration")
    n_systems = len(checked)
    for j, (name, (conf, acc, count, edges, ece)) in enumerate(checked.items()):
        label = name if ece is None else f"{name} (ECE {float(ece):.3f})"
        marker = _MARKERS[j % len(_MARKERS)]
        # clip_on=False: a bin at accuracy 0 or 1 keeps its whole marker on the frame
        (line,) = ax.plot(conf, acc, marker=marker, markersize=5, linewidth=1.5, label=label, clip_on=False)
        if edges is not None and count.sum() > 0:
            lower, upper = edges
            width = (upper - lower) / n_systems
            hist.bar(lower + j * width, count / count.sum(), width=width, align="edge", color=line.get_color())
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_ylabel("accuracy")
    ax.set_title(title if title is not None else "Reliability diagram", fontsize=10)
    ax.grid(True, linewidth=0.4, alpha=0.5)
    ax.legend(loc="upper left", fontsize=8)
    ax.tick_params(labelbottom=False)
    hist.set_xlabel("confidence (probability of the predicted class)")
    hist.set_ylabel("share of clips")
    hist.set_ylim(bottom=0.0)
    hist.grid(True, axis="y", linewidth=0.4, alpha=0.5)
    return fig


def write_reliability_diagram(curves, path, *, title=None):
    """Write the reliability diagram of several systems as one PNG, atomically.

    Parameters
    ----------
    curves : dict
        ``{system name: reliability_curve(...)}``, as in
        :func:`reliability_figure`.
    path : str or path-like
        The PNG to write; its folder is created if needed, a file of that
        name replaced.
    title : str, optional
        Title of the figure. Default: ``"Reliability diagram"``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        As :func:`reliability_figure` (nothing is written).
    MissingDependencyError
        When matplotlib is not installed (nothing is written).

    Notes
    -----
    The figure is drawn on an Agg canvas without pyplot (no global state, no
    display), rendered to memory, then written to a temporary file renamed
    over ``path``: a run killed while writing leaves the previous complete
    file, or none.
    """
    fig = reliability_figure(curves, title=title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    data = buffer.getvalue()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda fh: fh.write(data), binary=True)
