"""``load_sequences``: ``.npz``, ``.npy``, FASTA or BED + genome in, validated :class:`Sequences`
out; labels checked against the model's outputs."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..model import Model
from .peaks import load_peaks
from .sequences import (
    CodeRows,
    NpyRows,
    Sequences,
    _check_length,
    _check_values,
    blank_rows,
    _layout,
    read_fasta_codes,
    to_nl4,
)

logger = logging.getLogger(__name__)


X_KEYS = ("x", "X", "x_test", "X_test", "seqs", "sequences", "one_hot", "inputs")


Y_KEYS = ("y", "Y", "y_test", "Y_test", "labels")


BED_SUFFIXES = tuple(s + gz for s in (".bed", ".narrowpeak", ".broadpeak") for gz in ("", ".gz"))


def load_sequences(path, x_key: str | None = None, y_key: str | None = None,
                   seq_len: int | None = None, genome=None, width: int | None = None,
                   label_column: int | None = None) -> Sequences:
    """Read one-hot sequences from ``.npz``, ``.npy``, FASTA or BED + genome, validated, as ``(N, L, 4)`` float32.

    ``.npz`` arrays are converted in memory. ``.npy`` files are memory-mapped and FASTA is kept as
    one byte per base: both are checked in one streaming pass here, so a bad row anywhere (the
    last of a million included) is reported before any compute, and rows are converted to float32
    only when read (:class:`Sequences`).

    Parameters
    ----------
    path : str or Path
    x_key, y_key : str, optional
        Keys in an ``.npz``; auto-detected from :data:`X_KEYS` / :data:`Y_KEYS` otherwise.
    seq_len : int, optional
        Length the model takes; used to tell ``(N, 4, L)`` from ``(N, L, 4)`` and to check.
    genome : str or Path, optional
        Genome FASTA, for a BED ``path`` (see :func:`load_peaks`).
    width : int, optional
        BED input: window length (default ``seq_len``).
    label_column : int, optional
        BED input: 1-based column holding the labels (none by default).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"data file {path} does not exist; give a .npz, .npy, FASTA or BED file.")
    name = path.name.lower()
    if name.endswith(BED_SUFFIXES):
        if genome is None:
            raise InputError(f"{path} is a BED file: give the genome it refers to with --genome genome.fa.")
        if width is not None and seq_len is not None and int(width) != seq_len:
            raise InputError(f"--width {width} but the model takes {seq_len} bp; omit --width (windows take the "
                             "model's length).")
        return load_peaks(path, genome, width if width is not None else seq_len, label_column)
    if genome is not None or label_column is not None or width is not None:
        raise InputError(f"--genome, --width and --label-column go with BED input; {path} is not a BED file "
                         f"(.bed, .narrowPeak, .broadPeak, optionally .gz).")
    keys = {}
    y = None
    if name.endswith(".npz"):
        try:
            data = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise InputError(f"{path} is not a readable .npz file ({type(exc).__name__}); save it with numpy.savez.") from exc
        x_key = _pick_key(data.files, x_key, X_KEYS, "sequences", "--x-key", path)
        keys["x"] = x_key
        y_key_found = _pick_key(data.files, y_key, Y_KEYS, "labels", "--y-key", path, required=y_key is not None)
        if y_key_found is not None:
            y = np.asarray(data[y_key_found])
            keys["y"] = y_key_found
        x, layout = to_nl4(data[x_key], seq_len, str(path))
        if y is not None:
            y = _check_labels(y, len(x), path)
        return Sequences(x=x, y=y, path=str(path), source_layout=layout, keys=keys)
    if name.endswith(".npy"):
        rows, layout = _open_npy(path, seq_len)
        return Sequences(x=rows, path=str(path), source_layout=layout)
    if name.endswith((".fa", ".fasta", ".fna", ".fa.gz", ".fasta.gz", ".fna.gz")):
        names, codes = read_fasta_codes(path, seq_len)
        return Sequences(x=CodeRows(codes), path=str(path), names=names)
    raise InputError(f"{path}: unknown data format; use .npz, .npy, .fa/.fasta (optionally .gz).")


def _open_npy(path: Path, seq_len: int | None) -> tuple[NpyRows, str]:
    """Memory-map ``path``, check its dtype, layout and length from the header, then every row."""
    try:
        mm = np.load(path, mmap_mode="r", allow_pickle=False)
        shape, dtype, offset = mm.shape, mm.dtype, mm.offset
        fortran = bool(mm.flags.f_contiguous and not mm.flags.c_contiguous)
        del mm
    except ValueError as exc:
        if "length is greater than file size" in str(exc) or "mmap" in str(exc):
            raise InputError(f"{path} is truncated (shorter than its header says); copy or save it again.") from exc
        raise InputError(f"{path} is not a readable .npy file ({type(exc).__name__}); save it with numpy.save.") from exc
    except Exception as exc:
        raise InputError(f"{path} is not a readable .npy file ({type(exc).__name__}); save it with numpy.save.") from exc
    layout, convert = _layout(shape, dtype, seq_len, str(path))
    rows = NpyRows(path, shape, dtype, offset, fortran, convert)
    _check_length(rows.shape[1], seq_len, str(path))
    blank = []
    for start, x in rows.chunks():
        _check_values(x, str(path), start)
        blank.append(blank_rows(x))
    rows._blank = np.concatenate(blank)  # kept: which rows are all N, from this one pass
    return rows, layout


def labels_for_model(seqs: Sequences, model: Model) -> Sequences:
    """``seqs`` with labels checked against the model's outputs (a new object; ``seqs`` is unchanged).

    ``(N, T)`` labels need ``T`` = the number of outputs. One label per sequence fits a
    one-output model; for a softmax model of ``C`` outputs, integer labels in ``0..C-1`` are
    class indices and become one-hot ``(N, C)``. Anything else raises :class:`InputError`
    naming the mismatch.
    """
    y = seqs.y
    if y is None:
        return seqs
    where = seqs.path or "labels"
    n_out = model.n_outputs
    if y.ndim > 2:
        raise InputError(f"{where}: labels have shape {y.shape}; give one row per sequence, (N,) or (N, outputs).")
    if y.ndim == 2 and y.shape[1] != n_out:
        raise InputError(
            f"{where}: labels have {y.shape[1]} columns but the model has {n_out} output(s); give one label "
            "column per output (or choose another array with --y-key)."
        )
    if y.ndim == 1 and n_out > 1:
        is_class = np.all(y == np.round(y)) and y.min() >= 0 and y.max() < n_out
        if model.output_activation != "softmax" or not is_class:
            raise InputError(
                f"{where}: labels are one column but the model has {n_out} outputs; give an "
                f"(N, {n_out}) label array, one column per output"
                f"{' (or class indices 0..' + str(n_out - 1) + ')' if model.output_activation == 'softmax' else ''}."
            )
        logger.info("%s: labels read as class indices of the %d-way softmax", where, n_out)
        y = np.eye(n_out, dtype=np.float32)[y.astype(np.int64)]
    if not np.isin(y, (0, 1)).all():
        # A label is positive or not: 1/2 coding, scores or soft labels would be read against 0.5 in silence.
        classes = f", or class indices 0..{n_out - 1} for this softmax" if model.output_activation == "softmax" else ""
        raise InputError(f"{where}: labels hold {_values(y)}, not 0/1; give 0/1 labels (1 = positive){classes}, "
                         "or choose another array with --y-key.")
    return seqs.with_labels(y)


def _values(y: np.ndarray) -> str:
    """The values in labels ``y``, for a message: each with its count when few, else the range."""
    values, counts = np.unique(y, return_counts=True)
    if len(values) <= 4:
        return " and ".join(f"{v:g} ({c} rows)" for v, c in zip(values.tolist(), counts.tolist()))
    return f"{len(values)} distinct values from {values[0]:g} to {values[-1]:g}"


def _pick_key(files, key, candidates, what, flag, path, required=True):
    if key is not None:
        if key not in files:
            raise InputError(f"{path} has no key {key!r} (it has {', '.join(files)}); pass the right {flag}.")
        return key
    found = [k for k in candidates if k in files]
    if len(found) > 1:
        raise InputError(f"{path} has several {what} keys ({', '.join(found)}); choose one with {flag}.")
    if not found:
        if required and what == "sequences":
            raise InputError(f"{path} has no sequences key (it has {', '.join(files) or 'nothing'}); name it with {flag}.")
        return None
    return found[0]


def _check_labels(y, n, path):
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise InputError(f"{path}: labels have dtype {y.dtype}; give numeric 0/1 labels.")
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y.reshape(len(y), -1)[:, 0]
    if len(y) != n:
        raise InputError(f"{path}: {len(y)} labels for {n} sequences; give one label row per sequence.")
    if not np.isfinite(y.astype(float)).all():
        raise InputError(f"{path}: labels contain NaN; fix or drop those rows.")
    return y
