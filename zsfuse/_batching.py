"""``batch_size="auto"``: how many pieces of audio share a forward pass, chosen by the device.

A CPU and a GPU want opposite things. On a CPU a forward pass costs about the
same per window whatever the batch (each matrix product already spreads over
the cores), and a large batch only adds memory and outgrows the caches:
measured on 2 cores, the full-size LAION-CLAP audio tower is no faster per
window in batches of 16 than of 2-8 (often slower), and needs 26 MB of
activations per window (float32), so 16 windows hold ~400 MB where 4 hold
~100 MB; WavLM-Large is no faster per second of audio in padded passes of
more than one or two clips (the FM transformer's ``batch_seconds`` caps its
passes at 8 s of audio on a CPU anyway). A GPU only fills its cores with
large batches, and then memory decides: a batch must fit beside the weights.

The rule is fixed per device type, never timed at run time, so that one
machine always runs the same passes (results do not depend on the batch --
the transformers' tests check it to 1e-5 -- but bit-for-bit determinism on a
CPU is only promised for the same passes).
"""

from __future__ import annotations

__all__ = ["AUTO_BATCH_SIZE", "AUTO_DECODE_GROUP", "decode_group", "resolve_batch_size"]

#: ``batch_size="auto"`` per torch device type: pieces of audio per forward pass.
#: ``cpu``: small batches are as fast and take less memory (see the module docstring;
#: ``benchmarks/bench_zero_shot.py`` and ``benchmarks/bench_fm.py`` print the raw forward at several
#: batch sizes). ``cuda``: 64 windows of 10 s of the CLAP audio tower need under 2 GB of activations
#: (26 MB per window in float32, less under float16 autocast), and the FM transformer's
#: ``batch_seconds`` (120 s of audio on CUDA) bounds its passes before 64 clips of more than 2 s do.
#: ``mps``: Apple GPUs share their memory with the system: a quarter of CUDA's.
AUTO_BATCH_SIZE = {"cpu": 4, "cuda": 64, "mps": 16}


def resolve_batch_size(batch_size, device):
    """The number of pieces per forward pass: ``batch_size`` itself, or ``"auto"`` resolved for ``device``.

    Parameters
    ----------
    batch_size : int or "auto"
        An estimator's ``batch_size`` parameter (already validated).
    device : str or torch.device
        The device the model runs on (``"cpu"``, ``"cuda:1"``, ``"mps"``, ...).
        A device type not in :data:`AUTO_BATCH_SIZE` gets the CPU's value.

    Returns
    -------
    int
        At least 1.

    Examples
    --------
    >>> resolve_batch_size("auto", "cpu")
    4
    >>> resolve_batch_size("auto", "cuda:1")
    64
    >>> resolve_batch_size(16, "cpu")
    16
    """
    if isinstance(batch_size, str):  # "auto": the only string the constraint lets through
        kind = str(device).split(":")[0]
        return AUTO_BATCH_SIZE.get(kind, AUTO_BATCH_SIZE["cpu"])
    return int(batch_size)


#: ``batch_size="auto"``: clips decoded and handed to the encoder at once, at least (forward passes
#: are cut to the resolved batch size inside). What is paid once per group -- store writes, handing
#: freed heap back to the system (:func:`zsfuse.extraction.encode_clips`) -- is spread over this many
#: clips, and the decoded clips and windows held at once are as many as with the former default, 16.
AUTO_DECODE_GROUP = 16


def decode_group(batch_size, device):
    """Clips the zero-shot transformer decodes and hands to its encoder at once.

    An explicit ``batch_size`` is also the group (as it always was);
    ``"auto"`` groups at least :data:`AUTO_DECODE_GROUP` clips.

    Parameters
    ----------
    batch_size : int or "auto"
        An estimator's ``batch_size`` parameter (already validated).
    device : str or torch.device
        The device the model runs on.

    Returns
    -------
    int

    Examples
    --------
    >>> decode_group("auto", "cpu"), decode_group("auto", "cuda"), decode_group(2, "cpu")
    (16, 64, 2)
    """
    size = resolve_batch_size(batch_size, device)
    return max(size, AUTO_DECODE_GROUP) if isinstance(batch_size, str) else size
