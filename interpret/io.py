"""Every file format the package reads or writes, and nothing else.

This is the loading boundary: models (``.h5``, ``.keras``, SavedModel), sequences (``.npz``,
``.npy``, FASTA, gzipped or not) and motif files (MEME) come in here and leave in the package's
conventions (one-hot ``(N, L, 4)`` float32, A C G T). Large inputs need not fit in memory as
float32: a ``.npy`` stays on disk (memory-mapped) and FASTA is kept as one byte per base; both
are validated in one streaming pass on loading and converted to float32 a block of rows at a
time when read (:class:`RowReader`).

Outputs are written here too: a run's directory in a staging directory that is renamed into
place only when complete, with a record of the stages it finished so an interrupted run can
resume (:class:`OutputDir`); attributions into a file that commits shard by shard and survives
a kill at any moment (:class:`AttributionStore`). An interrupted run never leaves anything that
looks finished.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import logging
import os
import copy
import pickle
import re
import shutil
import time
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import InputError
from .model import Model
from .regions import Peaks, Regions, peak_windows

logger = logging.getLogger(__name__)

ALPHABET = "ACGT"
X_KEYS = ("x", "X", "x_test", "X_test", "seqs", "sequences", "one_hot", "inputs")
Y_KEYS = ("y", "Y", "y_test", "Y_test", "labels")
BED_SUFFIXES = tuple(s + gz for s in (".bed", ".narrowpeak", ".broadpeak") for gz in ("", ".gz"))


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------
def load_model(path, custom_objects=None) -> Model:
    """Load a Keras model (``.h5``, ``.keras`` or SavedModel directory) without compiling it.

    Parameters
    ----------
    path : str, Path or keras.Model
        A model file, or a model already loaded in Python (wrapped as it is).
    custom_objects : str, Path or dict, optional
        The model's custom layers and functions: a Python file that defines them (and
        registers them with ``@keras.saving.register_keras_serializable()``), or a dict
        ``{name: class or function}`` as ``keras.models.load_model`` takes.

    Returns
    -------
    Model
        With its input layout, length, outputs and final activation detected.
    """
    import keras

    if isinstance(path, keras.Model):
        return Model.from_keras(path)
    path = Path(path)
    if not path.exists():
        raise InputError(f"model file {path} does not exist; give the path of a .h5, .keras or SavedModel directory.")
    objects = load_custom_objects(custom_objects)
    try:
        if path.is_dir():
            keras_model = _load_savedmodel(path)
        else:
            keras_model = keras.models.load_model(path, compile=False, custom_objects=objects)
    except InputError:
        raise
    except Exception as exc:  # Keras raises many types for corrupt or foreign files
        unknown = _unknown_object(str(exc))
        if unknown:
            given = f" ({custom_objects} does not define it)" if custom_objects is not None else ""
            raise InputError(
                f"{path} uses {unknown!r}, which Keras does not know{given}: a custom layer or function? Pass "
                "--custom-objects FILE.py, a Python file that defines it with "
                "@keras.saving.register_keras_serializable() (Python: load_model(path, custom_objects=...))."
            ) from exc
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"{path} is not a Keras model this Keras can load ({first}); save it with "
            "model.save('model.keras') or model.save('model.h5'), and pass --custom-objects FILE.py if it "
            "has custom layers."
        ) from exc
    return Model.from_keras(keras_model, str(path))


# What Keras 3 says when a saved model names a class or function it has no registration for.
_UNKNOWN_PATTERNS = (
    re.compile(r"Could not locate (?:class|function) '([^']+)'"),
    re.compile(r"Unknown (?:layer|object|activation|function|class)[^']*'([^']+)'"),
)


def _unknown_object(message: str) -> str | None:
    for pattern in _UNKNOWN_PATTERNS:
        m = pattern.search(message)
        if m:
            return m.group(1)
    return None


def load_custom_objects(source) -> dict | None:
    """Custom Keras objects from a Python file (imported, so its registrations run) or a dict.

    Parameters
    ----------
    source : str, Path, dict or None

    Returns
    -------
    dict or None
        ``{name: object}`` for every class and function the file defines (Keras also finds the
        ones it registered), or the dict given.
    """
    if source is None or isinstance(source, dict):
        return source
    import importlib.util
    import sys

    path = Path(source)
    if not path.is_file() or path.suffix != ".py":
        raise InputError(f"--custom-objects {path}: give an existing Python file (.py) that defines the model's "
                         "custom layers.")
    name = f"interpret_custom_objects_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # Keras and pickling (Dask workers) look classes up by module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise InputError(f"--custom-objects {path} fails on import ({type(exc).__name__}: {exc}); fix that file.") from exc
    return {k: v for k, v in vars(module).items()
            if callable(v) and getattr(v, "__module__", None) == name and not k.startswith("_")}


def _load_savedmodel(path: Path):
    import keras

    if not (path / "saved_model.pb").exists():
        raise InputError(f"{path} is a directory but not a SavedModel (no saved_model.pb); give a .h5 or .keras file.")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception:
        # Keras 3 no longer loads SavedModels as models; wrap the serving function instead.
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))
        fn = loaded.signatures.get("serving_default")
        if fn is None:
            raise InputError(f"SavedModel {path} has no serving_default signature; re-export it with model.export().")
        (name, spec), = fn.structured_input_signature[1].items()
        inp = keras.Input(tuple(spec.shape[1:]), name=name)
        out = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")(inp)
        if isinstance(out, dict):
            out = list(out.values())[0]
        return keras.Model(inp, out)


# --------------------------------------------------------------------------------------
# Sequences
# --------------------------------------------------------------------------------------
#: Bytes of float32 one-hot converted per step when rows are streamed (validation, reads).
STREAM_BYTES = 1 << 25


class Sequences:
    """One-hot sequences and optional labels, in the package's layout.

    Attributes
    ----------
    x : ndarray, shape (N, L, 4), float32
        One-hot, A C G T; N rows (all zero or all 0.25) allowed. For ``.npy`` and FASTA input
        it is built on first access (N x L x 16 bytes); :attr:`source` and :meth:`take` read
        rows without building it.
    source : ndarray or RowReader
        The rows as loaded: ``source[i:j]`` or ``source[index]`` gives float32 ``(n, L, 4)``.
    y : ndarray, shape (N,) or (N, T), or None
        Labels, if the file had them.
    path : str or None
    names : list of str or None
        FASTA record names, or BED peak names.
    source_layout : str
        Layout the file held, e.g. ``"(N, 1, L, 4)"``, or ``"BED + genome"``.
    keys : dict
        ``.npz`` keys used (``{"x": ..., "y": ...}``).
    regions : Regions or None
        With BED input, the genome window behind each row (:mod:`interpret.regions`).
    genome : str or None
        The genome FASTA the windows were read from.
    """

    def __init__(self, x=None, y=None, path: str | None = None, names: list | None = None,
                 source_layout: str = "(N, L, 4)", keys: dict | None = None, regions: Regions | None = None,
                 genome: str | None = None):
        if x is None:
            raise InputError("Sequences need x: an (N, L, 4) array or a RowReader.")
        self.source = x
        self._x = x if isinstance(x, np.ndarray) else None
        self.y = y
        self.path = path
        self.names = names
        self.source_layout = source_layout
        self.keys = keys if keys is not None else {}
        self.regions = regions
        self.genome = genome

    @property
    def x(self) -> np.ndarray:
        if self._x is None:
            logger.debug("building the (N, L, 4) array of %s in memory", self.path)
            self._x = self.source[:]
        return self._x

    @property
    def length(self) -> int:
        """Sequence length ``L``."""
        return int(self.source.shape[1])

    def take(self, index) -> np.ndarray:
        """Rows ``index`` as float32 ``(n, L, 4)``, read without building :attr:`x`."""
        return self.source[np.asarray(index, dtype=np.int64)]

    def with_labels(self, y) -> "Sequences":
        """The same sequences with labels ``y`` (a new object sharing the rows)."""
        new = copy.copy(self)
        new.y = y
        return new

    def __len__(self) -> int:
        return len(self.source)


class RowReader:
    """Read-only ``(N, L, 4)`` float32 view of sequences kept on disk or compactly in memory.

    Indexing with an int, a slice or an array of rows returns a new float32 array; only the
    rows asked for are read and converted, so memory follows the request, not ``N``.
    ``np.asarray(reader)`` builds the whole array. Subclasses implement :meth:`_read`.
    """

    dtype = np.dtype(np.float32)
    ndim = 3

    def __init__(self, shape: tuple):
        self.shape = tuple(int(s) for s in shape)

    def __len__(self) -> int:
        return self.shape[0]

    def _read(self, start: int, stop: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getitem__(self, key) -> np.ndarray:
        n = len(self)
        if isinstance(key, (int, np.integer)):
            i = int(key) + n if key < 0 else int(key)
            if not 0 <= i < n:
                raise IndexError(f"row {key} is out of range for {n} sequences")
            return self._read(i, i + 1)[0]
        if isinstance(key, slice):
            start, stop, step = key.indices(n)
            if step == 1:
                return self._read(start, max(start, stop))
            key = np.arange(start, stop, step)
        idx = np.asarray(key)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64).ravel()
        idx = np.where(idx < 0, idx + n, idx)
        if len(idx) and (idx.min() < 0 or idx.max() >= n):
            raise IndexError(f"rows out of range for {n} sequences")
        return self._gather(idx)

    def _gather(self, idx: np.ndarray) -> np.ndarray:
        # Sorted rows are read in spans of at most `block` rows; each span is converted once.
        out = np.empty((len(idx),) + self.shape[1:], np.float32)
        order = np.argsort(idx, kind="stable")
        s = idx[order]
        block = max(1, STREAM_BYTES // (self.shape[1] * 16))
        i = 0
        while i < len(s):
            j = int(np.searchsorted(s, s[i] + block, side="left"))
            span = self._read(int(s[i]), int(s[j - 1]) + 1)
            out[order[i:j]] = span[s[i:j] - s[i]]
            i = j
        return out

    def __array__(self, dtype=None, copy=None):
        x = self._read(0, len(self))
        return x if dtype is None else x.astype(dtype)

    def chunks(self, rows: int | None = None):
        """Yield ``(start, x[start:start + rows])`` over all rows (``rows`` default: ~32 MB of float32)."""
        rows = rows or max(1, STREAM_BYTES // (self.shape[1] * 16))
        for a in range(0, len(self), rows):
            yield a, self._read(a, min(len(self), a + rows))


class NpyRows(RowReader):
    """Rows of a ``.npy`` file, memory-mapped one span at a time and converted to ``(n, L, 4)``.

    Each read maps only the bytes of its rows and unmaps them after conversion, so the resident
    memory stays at one span whatever the file's size and dtype.
    """

    def __init__(self, path, shape, dtype, offset: int, fortran: bool, convert):
        self.path = str(path)
        self.raw_shape = tuple(shape)
        self.raw_dtype = np.dtype(dtype)
        self.offset = int(offset)
        self.fortran = fortran
        self.convert = convert
        length = convert(np.zeros((1,) + self.raw_shape[1:], self.raw_dtype)).shape[1]
        super().__init__((self.raw_shape[0], length, 4))

    def _read(self, start: int, stop: int) -> np.ndarray:
        if stop <= start:
            return np.zeros((0,) + self.shape[1:], np.float32)
        if self.fortran:  # rows are not contiguous on disk: map the file, copy the slice
            mm = np.memmap(self.path, self.raw_dtype, "r", offset=self.offset, shape=self.raw_shape, order="F")
        else:
            row = int(np.prod(self.raw_shape[1:])) * self.raw_dtype.itemsize
            mm = np.memmap(self.path, self.raw_dtype, "r", offset=self.offset + start * row,
                           shape=(stop - start,) + self.raw_shape[1:])
            start, stop = 0, stop - start
        try:
            return self.convert(mm[start:stop])
        finally:
            del mm


class CodeRows(RowReader):
    """Rows held as base codes ``(N, L)`` uint8 (0-3 = A C G T, 4 = N), one-hot on reading."""

    _TABLE = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), np.float32)])

    def __init__(self, codes: np.ndarray):
        self.codes = codes
        super().__init__(codes.shape + (4,))

    def _read(self, start: int, stop: int) -> np.ndarray:
        return self._TABLE[self.codes[start:stop]]


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
    for start, x in rows.chunks():
        _check_values(x, str(path), start)
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
                f"{where}: labels are one column but the model has {n_out} outputs; give an (N, {n_out}) label "
                f"array, one column per output{' (or class indices 0..' + str(n_out - 1) + ')' if model.output_activation == 'softmax' else ''}."
            )
        logger.info("%s: labels read as class indices of the %d-way softmax", where, n_out)
        y = np.eye(n_out, dtype=np.float32)[y.astype(np.int64)]
    return seqs.with_labels(y)


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


def to_nl4(raw, seq_len: int | None = None, where: str = "input") -> tuple[np.ndarray, str]:
    """Convert a one-hot array in any supported layout to ``(N, L, 4)`` float32 and validate it.

    Accepts ``(N, L, 4)``, ``(N, 1, L, 4)``, ``(N, L, 1, 4)`` and ``(N, 4, L)``. Returns the
    array and the layout it had.
    """
    arr = np.asarray(raw)
    layout, convert = _layout(arr.shape, arr.dtype, seq_len, where)
    x = convert(arr)
    _check_values(x, where)
    _check_length(x.shape[1], seq_len, where)
    return x, layout


def _layout(shape: tuple, dtype, seq_len: int | None, where: str):
    """``(layout name, convert)`` for raw one-hot arrays of ``shape``; ``convert(raw rows)``
    returns contiguous float32 ``(n, L, 4)``. Raises :class:`InputError` for what no rows can fix."""
    dtype = np.dtype(dtype)
    if dtype == object or dtype.kind in "US":
        raise InputError(f"{where}: sequences are strings; give one-hot arrays, or a FASTA file.")
    if dtype.kind not in "biuf":
        raise InputError(f"{where}: sequences have dtype {dtype}; one-hot must be numeric (uint8, bool or float).")
    nd = len(shape)
    if nd == 4 and shape[1] == 1 and shape[3] == 4:
        layout, pick = "(N, 1, L, 4)", lambda a: a[:, 0]
    elif nd == 4 and shape[2] == 1 and shape[3] == 4:
        layout, pick = "(N, L, 1, 4)", lambda a: a[:, :, 0]
    elif nd == 3 and shape[2] == 4 and not (shape[1] == 4 and seq_len == 4):
        layout, pick = "(N, L, 4)", lambda a: a
        if shape[1] == 4 and seq_len not in (None, 4):
            layout, pick = "(N, 4, L)", lambda a: np.transpose(a, (0, 2, 1))
    elif nd == 3 and shape[1] == 4:
        layout, pick = "(N, 4, L)", lambda a: np.transpose(a, (0, 2, 1))
    else:
        raise InputError(
            f"{where}: sequences have shape {tuple(shape)}; expected one-hot (N, L, 4), (N, 1, L, 4) "
            "or (N, 4, L)."
        )
    if shape[0] == 0:
        raise InputError(f"{where}: there are no sequences (N = 0); give at least one.")
    return layout, lambda a: np.ascontiguousarray(pick(a), dtype=np.float32)


def _check_values(x: np.ndarray, where: str, offset: int = 0) -> None:
    """Every row finite and one-hot (one 1, or all zeros / all 0.25 for N); ``offset`` numbers rows."""
    finite = np.isfinite(x).all(axis=(1, 2))
    if not finite.all():
        bad = int(np.argmin(finite))
        raise InputError(f"{where}: sequence {bad + offset} contains NaN or inf; remove or re-encode it.")
    # Exactly one base at 1 and the rest 0; all zeros or all 0.25 encode N.
    is01 = ((x == 0) | (x == 1)).all(axis=2)
    ok_rows = (is01 & (x.sum(axis=2) <= 1)) | np.isclose(x, 0.25, atol=1e-3).all(axis=2)
    if not ok_rows.all():
        n, pos = (int(v) for v in np.argwhere(~ok_rows)[0])
        raise InputError(
            f"{where}: sequence {n + offset} position {pos} is not one-hot (values {np.round(x[n, pos], 3).tolist()}); "
            "each position must hold one 1 (A, C, G, T), all zeros or all 0.25 for N."
        )


def _check_length(length: int, seq_len: int | None, where: str) -> None:
    if seq_len is not None and length != seq_len:
        raise InputError(
            f"{where}: sequences are {length} bp but the model takes {seq_len} bp; "
            "give sequences of the model's length."
        )


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


# --------------------------------------------------------------------------------------
# Peaks: BED + genome
# --------------------------------------------------------------------------------------
def read_bed(path, label_column: int | None = None) -> tuple[Peaks, np.ndarray | None]:
    """Peaks of a BED file (BED3 to BED6, narrowPeak, broadPeak; gzipped or not).

    ``track``, ``browser`` and ``#`` lines are skipped. Column 6 gives the strand, column 10
    (narrowPeak) the summit offset; ``label_column`` (1-based) a numeric label per peak.

    Returns
    -------
    peaks : Peaks
    labels : ndarray, shape (N,), float32, or None
    """
    path = Path(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    if label_column is not None and label_column < 1:
        raise InputError(f"--label-column counts BED columns from 1, not {label_column}.")
    cols = {k: [] for k in ("chrom", "start", "end", "strand", "summit", "name", "line", "label")}
    try:
        with opener(path, "rt") as fh:
            for n, raw in enumerate(fh, 1):
                line = raw.rstrip("\r\n")
                if not line.strip() or line.startswith(("#", "track", "browser")):
                    continue
                f = line.split("\t") if "\t" in line else line.split()
                if len(f) < 3:
                    raise InputError(f"{path} line {n}: {len(f)} column(s); a BED line needs chrom, start and end.")
                try:
                    start, end = int(f[1]), int(f[2])
                except ValueError:
                    hint = "a header line? start it with '#'" if not cols["chrom"] else "is this a BED file?"
                    raise InputError(f"{path} line {n}: start and end ({f[1]!r}, {f[2]!r}) are not integers; "
                                     f"{hint}") from None
                if not 0 <= start < end:
                    raise InputError(f"{path} line {n}: start {start} and end {end} do not make an interval "
                                     "(0 <= start < end).")
                strand = f[5] if len(f) > 5 else "."
                if strand not in ("+", "-", "."):
                    raise InputError(f"{path} line {n}: strand {strand!r} is not +, - or . (column 6).")
                summit = -1
                if len(f) > 9:
                    try:
                        summit = int(f[9])
                    except ValueError:
                        raise InputError(f"{path} line {n}: summit {f[9]!r} (column 10) is not an integer.") from None
                    if summit >= end - start:
                        raise InputError(f"{path} line {n}: summit offset {summit} (column 10) lies outside the "
                                         f"{end - start}-bp peak.")
                if label_column is not None:
                    if len(f) < label_column:
                        raise InputError(f"{path} line {n}: no column {label_column} for --label-column "
                                         f"(the line has {len(f)}).")
                    try:
                        cols["label"].append(float(f[label_column - 1]))
                    except ValueError:
                        raise InputError(f"{path} line {n}: label {f[label_column - 1]!r} (column {label_column}) "
                                         "is not a number.") from None
                cols["chrom"].append(f[0])
                cols["start"].append(start)
                cols["end"].append(end)
                cols["strand"].append(strand)
                cols["summit"].append(summit)
                cols["name"].append(f[3] if len(f) > 3 and f[3] not in ("", ".") else f"{f[0]}:{start}-{end}")
                cols["line"].append(n)
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise InputError(f"{path} cannot be read as BED ({type(exc).__name__}); check the file.") from exc
    if not cols["chrom"]:
        raise InputError(f"{path} holds no peaks; give a BED file with at least one line.")
    peaks = Peaks(chrom=np.array(cols["chrom"]), start=np.array(cols["start"], np.int64),
                  end=np.array(cols["end"], np.int64), strand=np.array(cols["strand"]),
                  summit=np.array(cols["summit"], np.int64), name=np.array(cols["name"]),
                  line=np.array(cols["line"], np.int64))
    labels = np.array(cols["label"], np.float32) if label_column is not None else None
    return peaks, labels


def load_peaks(bed, genome, width: int | None, label_column: int | None = None) -> Sequences:
    """One-hot windows of ``width`` bp around each peak of ``bed``, read from ``genome``.

    Windows are placed by :func:`interpret.regions.peak_windows` (summit or midpoint, strand
    respected, windows off a chromosome refused) and encoded as any FASTA input is (lower case
    read as upper case; N and other IUPAC codes as all-zero rows).

    The genome is read through its ``.fai`` index (pyfaidx): an existing ``genome.fa.fai`` is
    used, a missing one is built beside the genome, or in a temporary directory when that one
    is read-only. Plain FASTA; bgzip-compressed FASTA needs Biopython (pyfaidx's reader), plain
    gzip cannot be indexed.

    Parameters
    ----------
    bed, genome : str or Path
    width : int
        Window length (the model's input length).
    label_column : int, optional
        1-based BED column with one numeric label per peak.

    Returns
    -------
    Sequences
        ``x`` (N, width, 4), ``y`` (N,) or None, ``regions`` and ``names`` (the peaks').
    """
    import tempfile

    bed, genome = Path(bed), Path(genome)
    if width is None:
        raise InputError(f"{bed}: give the window width (the model's input length) to read peaks.")
    if not genome.is_file():
        raise InputError(f"genome file {genome} does not exist; give the FASTA the BED coordinates refer to.")
    peaks, labels = read_bed(bed, label_column)
    fai = Path(str(genome) + ".fai")
    tmp = None
    if not fai.exists() and not os.access(genome.parent, os.W_OK):
        tmp = tempfile.TemporaryDirectory(prefix="interpret-fai-")
        fai = Path(tmp.name) / (genome.name + ".fai")
        logger.info("%s has no .fai index and its directory is read-only; indexing into %s", genome, tmp.name)
    try:
        fasta = _open_genome(genome, fai)
        with fasta:
            sizes = {k: len(v) for k, v in fasta.records.items()}
            regions = peak_windows(peaks, width, sizes, str(bed))
            strings = [fasta.records[c][int(a):int(b)] for c, a, b in zip(regions.chrom, regions.start, regions.end)]
    finally:
        if tmp is not None:
            tmp.cleanup()
    # one-hot by construction (N and IUPAC codes as zero rows) and width long: to_nl4's checks are not needed
    x = one_hot_encode([str(s) for s in strings], str(genome))
    minus = regions.strand == "-"
    x[minus] = x[minus, ::-1, ::-1]  # reverse complement: A C G T reversed is T G C A
    return Sequences(x=x, y=labels, path=str(bed), names=[str(n) for n in regions.name],
                     source_layout="BED + genome", regions=regions, genome=str(genome))


def _open_genome(genome: Path, fai: Path):
    import pyfaidx

    try:
        return pyfaidx.Fasta(str(genome), indexname=str(fai), as_raw=True, sequence_always_upper=True,
                             rebuild=os.access(fai.parent, os.W_OK))
    except (pyfaidx.UnsupportedCompressionFormat, ImportError) as exc:  # ImportError: bgzip without Biopython
        raise InputError(f"{genome} is compressed and cannot be read through a .fai index here; gunzip it (a "
                         "bgzip-compressed genome also works once biopython is installed).") from exc
    except (pyfaidx.FastaIndexingError, ValueError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{genome} cannot be indexed as FASTA ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:150] if str(exc) else ''}); check the file.") from exc


def write_bed(path, rows: list[dict]) -> None:
    """BED6 (``chrom, chromStart, chromEnd, name, score, strand``) of ``rows`` with those keys, sorted."""
    rows = sorted(rows, key=lambda r: (r["chrom"], int(r["chromStart"]), int(r["chromEnd"])))
    with open(path, "w") as fh:
        for r in rows:
            fh.write(f"{r['chrom']}\t{int(r['chromStart'])}\t{int(r['chromEnd'])}\t{r['name']}\t"
                     f"{int(r['score'])}\t{r['strand']}\n")


_DNA = b"ACGTNRYSWKMBDHVacgtnryswkmbdhv"
# Byte -> base code: A C G T (either case) -> 0-3, every other IUPAC letter -> 4 (N).
def _code_table() -> bytes:
    table = bytearray([255] * 256)  # never looked up: other bytes are refused first
    for b in _DNA:
        table[b] = 4
    for i, c in enumerate(ALPHABET):
        table[ord(c)] = table[ord(c.lower())] = i
    return bytes(table)


_CODES = _code_table()


def read_fasta_codes(path, seq_len: int | None = None) -> tuple[list[str], np.ndarray]:
    """Names and base codes ``(N, L)`` uint8 of a FASTA file (gzipped or not), in one streaming pass.

    Codes 0-3 are A C G T, 4 is N or another IUPAC letter. The first bad record (a character
    that is not DNA, a length that differs from the first record's or from ``seq_len``) stops
    the pass with its number and name, however far into the file it is.
    """
    path = Path(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    names: list[str] = []
    codes = bytearray()
    length = None
    cur: list[bytes] = []

    def close_record():
        nonlocal length
        seq = b"".join(cur)
        i, name = len(names) - 1, names[-1]
        if length is None:
            length = len(seq)
            _check_length(length, seq_len, str(path))
        elif len(seq) != length:
            raise InputError(
                f"{path}: sequence lengths differ: sequence {i} ({name}) is {len(seq)} bp, the ones before "
                f"{length} bp; all must have the model's length (trim or pad them, e.g. bedtools slop + getfasta)."
            )
        bad = seq.translate(None, _DNA)
        if bad:
            chars = "".join(sorted(set(bad.decode("latin-1"))))
            raise InputError(f"{path}: sequence {i} ({name}) has characters {chars!r} that are not DNA; clean the FASTA.")
        codes.extend(seq.translate(_CODES))

    try:
        with opener(path, "rb") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                if line[:1] == b">":
                    if names:
                        close_record()
                    head = line[1:].split()
                    names.append(head[0].decode("utf-8", "replace") if head else f"seq{len(names)}")
                    cur = []
                elif not names:
                    raise InputError(f"{path} does not start with a '>' header; is it FASTA?")
                else:
                    cur.append(line)
    except (OSError, EOFError) as exc:
        raise InputError(f"{path} cannot be read as FASTA ({type(exc).__name__}); check the file.") from exc
    if not names:
        raise InputError(f"{path} holds no FASTA records; give at least one sequence.")
    close_record()
    return names, np.frombuffer(bytes(codes), dtype=np.uint8).reshape(len(names), length)


def one_hot_encode(seqs: list[str], where: str = "input") -> np.ndarray:
    """Strings over ACGTN to one-hot ``(N, L, 4)`` float32 (N and other IUPAC codes → zeros)."""
    table = np.zeros((256, 4), dtype=np.float32)
    for i, b in enumerate(ALPHABET):
        table[ord(b)] = table[ord(b.lower())] = np.eye(4, dtype=np.float32)[i]
    valid = "ACGTNRYSWKMBDHVacgtnryswkmbdhv"
    is_dna = np.zeros(256, bool)
    is_dna[np.frombuffer(valid.encode(), np.uint8)] = True
    codes = np.frombuffer("".join(seqs).encode("utf-8"), dtype=np.uint8)
    if not is_dna[codes].all():  # one vectorised check; the loop only runs to name the culprit
        for i, s in enumerate(seqs):
            bad = set(s) - set(valid)
            if bad:
                raise InputError(f"{where}: sequence {i} has characters {''.join(sorted(bad))!r} that are not DNA; clean the FASTA.")
    return table[codes].reshape(len(seqs), -1, 4)


def decode(x: np.ndarray) -> list[str]:
    """One-hot ``(N, L, 4)`` back to strings (``N`` where a row is not one base)."""
    letters = np.array(list(ALPHABET + "N"))
    idx = np.where(x.max(axis=2) > 0.5, x.argmax(axis=2), 4)
    return ["".join(row) for row in letters[idx]]


# --------------------------------------------------------------------------------------
# Motifs (MEME format)
# --------------------------------------------------------------------------------------
@dataclass
class Motif:
    """A motif: ``ppm`` of shape ``(W, 4)`` (rows sum to 1), an id and a name."""

    id: str
    ppm: np.ndarray
    name: str = ""
    nsites: int = 20


def read_meme(path) -> list[Motif]:
    """All motifs of a MEME-format file, as :class:`Motif` with ``(W, 4)`` PPMs."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"motif file {path} does not exist; give a MEME-format file.")
    motifs: list[Motif] = []
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("MOTIF"):
            parts = line.split()
            mid = parts[1] if len(parts) > 1 else f"motif{len(motifs)}"
            name = " ".join(parts[2:])
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("letter-probability"):
                if lines[i].strip().startswith("MOTIF"):
                    break
                i += 1
            if i >= len(lines) or not lines[i].strip().startswith("letter-probability"):
                continue
            header = lines[i].split()
            width = int(header[header.index("w=") + 1]) if "w=" in header else None
            nsites = int(float(header[header.index("nsites=") + 1])) if "nsites=" in header else 20
            rows = []
            i += 1
            while i < len(lines) and (width is None or len(rows) < width):
                vals = lines[i].split()
                if len(vals) == 4:
                    try:
                        rows.append([float(v) for v in vals])
                    except ValueError:
                        break
                elif vals:
                    break
                i += 1
            if rows:
                ppm = np.array(rows, dtype=np.float64)
                motifs.append(Motif(mid, ppm / ppm.sum(axis=1, keepdims=True), name, nsites))
            continue
        i += 1
    if not motifs:
        raise InputError(f"{path} holds no MEME motifs (no 'MOTIF' with a letter-probability matrix).")
    return motifs


def format_meme(motifs: list[Motif]) -> str:
    """MEME minimal-format text for ``motifs`` (uniform background)."""
    out = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
           "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    for m in motifs:
        ppm = np.asarray(m.ppm, dtype=np.float64)
        out.append(f"MOTIF {m.id} {m.name}".rstrip())
        out.append(f"letter-probability matrix: alength= 4 w= {len(ppm)} nsites= {int(m.nsites)} E= 0")
        out.extend(" ".join(f"{v:.6f}" for v in row) for row in ppm)
        out.append("")
    return "\n".join(out)


def jaspar_path() -> Path:
    """Path of the bundled JASPAR CORE vertebrates (non-redundant) MEME file."""
    return Path(str(resources.files("interpret") / "data" / "JASPAR2026_CORE_vertebrates_nr.meme"))


def load_motif_db(path=None) -> list[Motif]:
    """Motif database: the bundled JASPAR file, or any MEME file the user gives."""
    return read_meme(path if path is not None else jaspar_path())


# --------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------
def partial_path(out) -> Path:
    """Where an unfinished ``out`` (a run's directory or an attributions file) is kept: ``.<name>.partial``
    beside it, hidden, so it is never taken for a finished output."""
    out = Path(out)
    return out.parent / f".{out.name}.partial"


def _lock(fd: int, what) -> None:
    """Exclusive lock on ``fd`` for this process's lifetime (released when it closes or the process dies)."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise InputError(f"another interpret process is writing {what}; wait for it to end or choose another --out.") from exc


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _digest_json(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=json_value).encode()).hexdigest()


class OutputDir:
    """Write a run's outputs into ``.<out>.partial`` and rename it to ``out`` when complete.

    ``summary.json`` is written last by :meth:`finish`, so a directory named ``out`` is always a
    finished run. The work is done in named stages (:meth:`stage`): the staging directory records in
    ``.stages/`` which stages finished, with which parameters, and their results. When a run stops
    (error, Ctrl-C, kill) after a stage has started, the staging directory is kept (still hidden, so
    never taken for a finished run), and ``OutputDir(out, resume=True)`` continues it: a stage that
    finished with the same parameters after the same upstream stages is not run again. A run that
    stops before any stage started leaves nothing.

    Parameters
    ----------
    out : str or Path
    force : bool
        Replace ``out`` if it exists; discard an unfinished run of ``out`` unless ``resume``.
    resume : bool
        Continue the unfinished run of ``out`` if there is one (else start afresh).
    identity : dict, optional
        What every stage depends on besides its parameters (model, sequences, version): resuming a
        run made with another identity is refused.
    """

    def __init__(self, out, force: bool = False, resume: bool = False, identity: dict | None = None):
        self.final = Path(out)
        if self.final.exists() and not force:
            raise InputError(f"output directory {self.final} exists; choose another --out or pass --force to replace it.")
        parent = self.final.parent if str(self.final.parent) else Path(".")
        if not parent.exists():
            try:
                parent.mkdir(parents=True)
            except OSError as exc:  # e.g. a path component is a file
                raise InputError(f"cannot create {parent} ({exc.strerror}); choose a writable --out.") from exc
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise InputError(f"cannot write to {parent}; choose a writable --out.")
        self.force, self.resume = force, resume
        self.identity = json.loads(json.dumps(identity or {}, default=json_value))
        self.path = partial_path(self.final)
        self.timings: dict[str, float] = {}
        self.resumed: list[str] = []
        self._order: list[str] = []
        self._stages: dict[str, dict] = {}
        existing = self.path.exists()
        if existing and not (resume or force):
            raise InputError(f"an unfinished run of {self.final} is kept in {self.path}; pass --resume to continue it "
                             "or --force to start over.")
        try:
            self.path.mkdir(exist_ok=True)
            self._fd = os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            raise InputError(f"cannot write to {parent} ({exc.strerror}); choose a writable --out.") from exc
        _lock(self._fd, self.final)
        if existing and resume:
            self._load(identity is not None)
        elif existing:  # --force: start over
            self._clear()

    def _clear(self) -> None:
        for child in self.path.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()

    @property
    def _dir(self) -> Path:
        return self.path / ".stages"

    def _load(self, check_identity: bool) -> None:
        journal = self._dir / "journal.json"
        if not journal.exists():
            return
        saved = read_json(journal)
        if check_identity and saved.get("identity") != self.identity:
            if self.force:  # --resume --force: continue a run of these inputs, else start over
                self._clear()
                return
            self._unlock()
            raise InputError(f"the unfinished run in {self.path} was made from another model, other sequences or "
                             "another interpret version; pass --force instead of --resume to start over.")
        self._stages = saved.get("stages", {})

    def _save(self) -> None:
        self._dir.mkdir(exist_ok=True)
        _atomic_write(self._dir / "journal.json",
                      json.dumps({"identity": self.identity, "stages": self._stages}, indent=1,
                                 default=json_value).encode())

    def stage(self, name: str, params: dict, fn, after=None):
        """Run ``fn()`` as stage ``name``, or, resuming, return its result from the interrupted run.

        Parameters
        ----------
        name : str
        params : dict
            JSON values the stage's result depends on (its options).
        fn : callable
            Runs the stage, writing its files into this directory, and returns its result
            (picklable; it is kept for a resumed run).
        after : iterable of str, optional
            Stages whose results ``fn`` uses; default: every stage entered before this one. A
            stage runs again when one of these ran with other parameters.

        Returns
        -------
        What ``fn`` returned. ``timings[name]`` holds its seconds (from the first run, if resumed).
        """
        deps = list(self._order) if after is None else list(after)
        key = _digest_json({"params": params, "after": [self._stages.get(d, {}).get("key") for d in deps]})
        self._order.append(name)
        rec = self._stages.get(name, {})
        saved = self._dir / f"{name}.pkl"
        if self.resume and rec.get("done") and rec.get("key") == key and saved.exists():
            logger.info("%s: finished in the interrupted run, reused", name)
            self.resumed.append(name)
            self.timings[name] = rec.get("seconds", 0.0)
            return pickle.loads(saved.read_bytes())
        if self.resume and rec:
            logger.info("%s: %s, running it again", name,
                        "unfinished" if rec.get("key") == key else "other parameters or inputs than the interrupted run")
        self._stages[name] = {"key": key, "params": params, "done": False}
        self._save()
        t = time.perf_counter()
        result = fn()
        self.timings[name] = time.perf_counter() - t
        _atomic_write(saved, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        self._stages[name] = {"key": key, "params": params, "done": True, "seconds": self.timings[name]}
        self._save()
        return result

    def __truediv__(self, name) -> Path:
        return self.path / name

    def finish(self, summary: dict) -> Path:
        """Drop the resume records, write ``summary.json`` last and move the directory into place."""
        shutil.rmtree(self._dir, ignore_errors=True)
        write_json(self.path / "summary.json", summary)
        if self.final.exists():
            if not self.force:
                raise InputError(f"output directory {self.final} appeared while running; pass --force to replace it.")
            shutil.rmtree(self.final)
        os.replace(self.path, self.final)
        self._unlock()
        return self.final

    def _unlock(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def abort(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self._unlock()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            # Keep what a resumed run can use: any stage started here or in a nested run.
            if any(self.path.rglob("journal.json")):
                logger.debug("unfinished run kept in %s", self.path)
                self._unlock()
            else:
                self.abort()
        return False


def json_value(o):
    """``json.dumps`` default: numpy scalars and arrays, and paths, as plain JSON values."""
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_json(path, obj) -> None:
    """JSON with numpy scalars and arrays converted; indented for humans."""
    Path(path).write_text(json.dumps(obj, indent=2, default=json_value) + "\n")


def read_json(path) -> dict:
    return json.loads(Path(path).read_text())


def write_tsv(path, rows: list[dict], columns: list[str]) -> None:
    """Tab-separated table with a header line; floats in ``%.6g``."""
    def fmt(v):
        if v is None:
            return ""
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else f"{v:.6g}"
        return str(v)

    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(columns)
        for row in rows:
            w.writerow([fmt(row.get(c)) for c in columns])


def read_tsv(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def add_tsv_columns(path, key: str, values: dict, columns: list[str]) -> None:
    """Add ``columns`` to the table at ``path``: the row whose ``key`` column is ``k`` gets
    ``values[k]`` (a dict by column; empty cells where a row or a value is missing).

    Existing columns keep their order and their text; a column that exists is overwritten.
    """
    with open(path, newline="") as fh:
        header = next(csv.reader(fh, delimiter="\t"), [])
    rows = read_tsv(path)
    for row in rows:
        row.update({c: None for c in columns})
        row.update(values.get(row.get(key), {}))
    write_tsv(path, rows, header + [c for c in columns if c not in header])


def write_meme(path, motifs: list[Motif]) -> None:
    Path(path).write_text(format_meme(motifs))


def write_text(path, text: str) -> None:
    Path(path).write_text(text, encoding="utf-8")


def copy_file(src, dst) -> None:
    """``dst`` becomes a copy of ``src``: a hard link when both are on one file system (outputs are
    never modified in place, so sharing the bytes is safe and a multi-GB file costs nothing)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


# --------------------------------------------------------------------------------------
# HDF5
# --------------------------------------------------------------------------------------
def write_h5(path, groups: dict, attrs: dict | None = None, mode: str = "w") -> None:
    """Write ``{group: {name: array}}`` (and file attributes) to an HDF5 file, gzip-compressed.

    ``mode="a"`` adds the groups to an existing file (created if absent) instead of replacing it.
    """
    import h5py

    with h5py.File(path, mode) as f:
        for k, v in (attrs or {}).items():
            f.attrs[k] = v
        for gname, arrays in groups.items():
            g = f.require_group(gname) if gname else f
            for name, arr in arrays.items():
                arr = np.asarray(arr)
                kw = {"compression": "gzip", "compression_opts": 4} if arr.size > 1024 and arr.dtype.kind != "U" else {}
                if arr.dtype.kind == "U":
                    arr = arr.astype("S")
                g.create_dataset(name, data=arr, **kw)


def read_h5(path) -> tuple[dict, dict]:
    """``({path: array}, attrs)`` of every dataset in an HDF5 file (bytes decoded to str)."""
    import h5py

    out = {}
    if not Path(path).exists():
        raise InputError(f"{path} does not exist; run `interpret run` first or give the right file.")
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                arr = obj[()]
                if isinstance(arr, np.ndarray) and arr.dtype.kind == "S":
                    arr = arr.astype(str)
                out[name] = arr
        f.visititems(visit)
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    return out, attrs


class NotResumable(InputError):
    """An unfinished attributions file that cannot be continued: other settings, or not a store."""


class AttributionStore:
    """``attributions.h5`` written shard by shard, so that an interrupted computation resumes.

    Layout: root ``index (N,)`` int64 (row of each explained sequence in the user's data) and
    ``x (N, L, 4)`` uint8 one-hot; one group per method with ``contrib`` and ``hypothetical``
    ``(N, L, 4)`` float32, ``delta (N,)`` (NaN where the method has none) and ``score (N,)`` (the
    explained scalar), float32; ``shards/done (S,)`` uint8 and ``shards/crc32 (S,)`` uint32 (CRC-32
    of each shard's float32 input rows). File attributes: ``explained`` (e.g. "logit (pre-sigmoid)
    of output 0"), ``target``, ``shard_size`` and ``params`` (JSON of everything the values depend on).
    Shard ``k`` is rows ``k * shard_size`` up to the next shard.

    Crash safety: the file's HDF5 structure is written, closed and renamed into place before any
    shard; every dataset is contiguous and allocated then, so committing a shard only writes its
    bytes at fixed offsets, syncs them to disk, and then sets ``shards/done[k]``. A process killed
    at any moment leaves a valid file whose ``done`` flags name exactly the shards written in full:
    a half-written shard is not done and is computed again. Shards finishing in any order give the
    same bytes. The datasets are not compressed (a compressed chunk moves when it is rewritten).

    Use :meth:`open`; :meth:`commit` each shard; :meth:`close`.
    """

    def __init__(self, path: Path, fd: int, n: int, length: int, methods: list, shard_size: int,
                 spec: dict, done: np.ndarray, crc: np.ndarray):
        self.path, self.fd = path, fd
        self.n, self.length, self.methods, self.shard_size = n, length, list(methods), shard_size
        self._spec = spec
        self.done = done.astype(bool)
        self.crc = crc

    @property
    def n_shards(self) -> int:
        return len(self.done)

    @property
    def n_done(self) -> int:
        return int(self.done.sum())

    def rows(self, k: int) -> tuple[int, int]:
        """Rows ``start, stop`` of shard ``k``."""
        return k * self.shard_size, min(self.n, (k + 1) * self.shard_size)

    def missing(self) -> list[int]:
        """Shards not committed yet."""
        return [int(k) for k in np.flatnonzero(~self.done)]

    @classmethod
    def open(cls, path, index: np.ndarray, length: int, methods, attrs: dict, shard_size: int,
             resume: bool = False) -> "AttributionStore":
        """Create the store at ``path``; with ``resume``, reopen the one there instead, if any.

        Parameters
        ----------
        path : str or Path
        index : ndarray, shape (N,)
            Row of each explained sequence in the user's data.
        length : int
            Sequence length ``L``.
        methods : list of str
        attrs : dict
            ``explained``, ``target`` and ``params`` (a JSON string): a file to resume must have
            been made with the same values, else :class:`InputError` names the difference.
        shard_size : int
        resume : bool

        Raises
        ------
        InputError
            The file to resume was made with other settings or is not a store; another process
            holds it; the disk cannot hold it.
        """
        path = Path(path)
        index = np.asarray(index, dtype=np.int64)
        if resume and path.exists():
            store = cls._reopen(path, index, length, methods, attrs, shard_size)
        else:
            store = cls._create(path, index, length, methods, attrs, shard_size)
        store._check_space()
        return store

    @classmethod
    def _create(cls, path, index, length, methods, attrs, shard_size):
        import h5py

        n = len(index)
        tmp = path.with_name(path.name + ".new")
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)   # offsets fixed now: shards never touch metadata
        dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)     # unwritten space stays a sparse hole
        dcpl.set_obj_track_times(False)                  # same inputs, same bytes
        try:
            with h5py.File(tmp, "w") as f:
                for k, v in attrs.items():
                    f.attrs[k] = v
                f.attrs["shard_size"] = shard_size
                f.create_dataset("index", data=index, track_times=False)
                for name, shape, dtype in _store_datasets(n, length, methods, shard_size):
                    f.create_dataset(name, shape=shape, dtype=dtype, dcpl=dcpl)
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise InputError(f"cannot write {path} ({exc.strerror or exc}); choose a writable --out.") from exc
        return cls._reopen(path, index, length, methods, attrs, shard_size)

    @classmethod
    def _reopen(cls, path, index, length, methods, attrs, shard_size):
        import h5py

        try:
            with h5py.File(path, "r", locking=False) as f:
                stored = {k: _attr(f.attrs.get(k)) for k in attrs}
                size = int(f.attrs.get("shard_size", -1))
                same_rows = f["index"].shape == index.shape and np.array_equal(f["index"][()], index)
                spec = {}
                for name, shape, dtype in _store_datasets(len(index), length, methods, shard_size):
                    ds = f[name]
                    if ds.shape != shape or ds.dtype != np.dtype(dtype) or ds.id.get_offset() is None:
                        raise KeyError(name)
                    spec[name] = (ds.id.get_offset(), np.dtype(dtype), int(np.prod(shape[1:], dtype=np.int64)) * ds.dtype.itemsize)
                done, crc = f["shards/done"][()], f["shards/crc32"][()]
        except (OSError, KeyError) as exc:
            raise NotResumable(f"{path} is not a resumable attributions file ({exc}); pass --force to start over.") from exc
        diff = _differences(stored, attrs)
        if size != shard_size:
            diff.append(f"shard size {size}, not {shard_size}")
        if not same_rows:
            diff.append("other explained sequences (index)")
        if diff:
            raise NotResumable(f"{path} was begun with other settings ({'; '.join(diff)}); rerun with the same options, "
                             "or pass --force to start over.")
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError as exc:
            raise InputError(f"cannot write {path} ({exc.strerror}); choose a writable --out.") from exc
        _lock(fd, path)
        return cls(path, fd, len(index), length, methods, shard_size, spec, done, crc)

    def _check_space(self) -> None:
        """Refuse to start when the disk cannot hold the shards still to write (the file is sparse)."""
        st = os.fstat(self.fd)
        need = st.st_size - st.st_blocks * 512
        free = shutil.disk_usage(self.path.parent).free
        if need > free:
            self.close()
            if not self.n_done:  # nothing saved yet: leave nothing behind
                self.path.unlink(missing_ok=True)
            raise InputError(f"{self.path} needs {_size(need)} more but {self.path.parent} has {_size(free)} free; "
                             "free some space or choose another --out.")

    @staticmethod
    def input_crc(x: np.ndarray) -> int:
        """CRC-32 of a shard's input rows as float32 ``(n, L, 4)``."""
        return zlib.crc32(np.ascontiguousarray(x, dtype=np.float32))

    def commit(self, k: int, x: np.ndarray, results: dict) -> None:
        """Write shard ``k`` and mark it done.

        Parameters
        ----------
        k : int
        x : ndarray, shape (n, L, 4)
            The shard's sequences (rows :meth:`rows` ``(k)``).
        results : dict
            ``{method: {"contrib", "hypothetical" (n, L, 4), "score" (n,), "delta" (n,) or None}}``.
        """
        a, b = self.rows(k)
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.shape != (b - a, self.length, 4):
            raise ValueError(f"shard {k} has shape {x.shape}, expected {(b - a, self.length, 4)}")
        crc = self.input_crc(x)
        try:
            self._put("x", a, (x > 0.5).astype(np.uint8))
            for m in self.methods:
                r = results[m]
                self._put(f"{m}/contrib", a, r["contrib"])
                self._put(f"{m}/hypothetical", a, r["hypothetical"])
                self._put(f"{m}/score", a, r["score"])
                self._put(f"{m}/delta", a, np.full(b - a, np.nan) if r.get("delta") is None else r["delta"])
            self._put("shards/crc32", k, np.array([crc]))
            os.fdatasync(self.fd)  # the shard's bytes are on disk before its flag says so
            self._put("shards/done", k, np.ones(1))
        except OSError as exc:
            raise InputError(f"cannot write {self.path} ({exc.strerror or exc}); {self.n_done} of {self.n_shards} "
                             "shards are saved in it.") from exc
        self.done[k] = True
        self.crc[k] = crc

    def _put(self, name: str, row: int, arr) -> None:
        offset, dtype, row_bytes = self._spec[name]
        data = memoryview(np.ascontiguousarray(arr, dtype=dtype)).cast("B")
        pos = offset + row * row_bytes
        while len(data):
            written = os.pwrite(self.fd, data, pos)
            data, pos = data[written:], pos + written

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _size(n_bytes: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes} bytes"


def _store_datasets(n: int, length: int, methods, shard_size: int) -> list:
    """``(name, shape, dtype)`` of every dataset an :class:`AttributionStore` writes shard by shard."""
    out = [("x", (n, length, 4), "u1")]
    for m in methods:
        out += [(f"{m}/contrib", (n, length, 4), "<f4"), (f"{m}/hypothetical", (n, length, 4), "<f4"),
                (f"{m}/delta", (n,), "<f4"), (f"{m}/score", (n,), "<f4")]
    n_shards = -(-n // shard_size)
    return out + [("shards/done", (n_shards,), "u1"), ("shards/crc32", (n_shards,), "<u4")]


def _attr(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _differences(stored: dict, wanted: dict) -> list[str]:
    """Human-readable differences between stored and wanted attributes (``params`` compared key by key)."""
    out = []
    for k, v in wanted.items():
        s = stored.get(k)
        if k == "params" and isinstance(s, str) and isinstance(v, str):
            a, b = json.loads(s), json.loads(v)
            out += [f"{p} {a.get(p)!r}, not {b.get(p)!r}" for p in sorted(set(a) | set(b)) if a.get(p) != b.get(p)]
        elif s != v:
            out.append(f"{k} {s!r}, not {v!r}")
    return out


def _read_rows(ds, rows: np.ndarray | None) -> np.ndarray:
    """Rows ``rows`` (sorted) of an HDF5 dataset, reading only those (all if ``rows`` is None)."""
    if rows is None:
        return ds[()]
    rows = np.asarray(rows, dtype=np.int64)
    offset = ds.id.get_offset()
    if offset is not None and ds.compression is None and ds.chunks is None:
        mm = np.memmap(ds.file.filename, ds.dtype, "r", offset=offset, shape=ds.shape)
        try:
            return np.array(mm[rows])
        finally:
            del mm
    out = np.empty((len(rows),) + ds.shape[1:], ds.dtype)
    block = max(1, STREAM_BYTES // max(1, int(np.prod(ds.shape[1:], dtype=np.int64)) * ds.dtype.itemsize))
    i = 0
    while i < len(rows):
        j = int(np.searchsorted(rows, rows[i] + block, side="left"))
        out[i:j] = ds[int(rows[i]):int(rows[j - 1]) + 1][rows[i:j] - rows[i]]
        i = j
    return out


def _open_finished(path):
    """An h5py file of a finished attributions.h5; :class:`InputError` if absent, foreign or unfinished."""
    import h5py

    if not Path(path).exists():
        raise InputError(f"{path} does not exist; give the attributions.h5 of an earlier run.")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"{path} is not an interpret attributions.h5 ({exc}); recompute it with `interpret attribute`.") from exc
    if "shards" in f and not f["shards/done"][()].all():
        done, total = int(f["shards/done"][()].sum()), len(f["shards/done"])
        f.close()
        raise InputError(f"{path} is unfinished ({done} of {total} shards); finish it with the same "
                         "`interpret attribute` command and --resume.")
    return f


def _method_groups(f) -> list[str]:
    import h5py

    return [m for m in f if isinstance(f[m], h5py.Group) and "contrib" in f[m]]


def read_attributions(path, method: str | None = None, rows: np.ndarray | None = None) -> dict:
    """Read ``attributions.h5``: ``{"index", "x", "attrs", method: {"contrib", "hypothetical", "delta", "score"}}``.

    Parameters
    ----------
    path : str or Path
    method : str, optional
        Read only this method's arrays.
    rows : ndarray of int, optional
        Sorted rows of the file to read (default all); only those are read from disk.
    """
    f = _open_finished(path)
    try:
        with f:
            out = {"index": _read_rows(f["index"], rows), "x": _read_rows(f["x"], rows).astype(np.float32),
                   "attrs": {k: _attr(v) for k, v in f.attrs.items()}}
            for m in _method_groups(f):
                if method is None or m == method:
                    out[m] = {k: _read_rows(f[m][k], rows) for k in f[m]}
    except KeyError as exc:
        raise InputError(f"{path} is not an interpret attributions.h5 ({exc}); recompute it with `interpret attribute`.") from exc
    return out


def attributions_info(path) -> dict:
    """``{"n", "length", "methods", "attrs"}`` of a finished attributions.h5, reading no arrays."""
    f = _open_finished(path)
    with f:
        if "x" not in f or "index" not in f:
            raise InputError(f"{path} is not an interpret attributions.h5 (no x or index); recompute it with "
                             "`interpret attribute`.")
        return {"n": int(f["x"].shape[0]), "length": int(f["x"].shape[1]), "methods": _method_groups(f),
                "index": f["index"][()], "attrs": {k: _attr(v) for k, v in f.attrs.items()}}


def iter_attributions(path, method: str, names=("contrib", "delta"), rows_per_chunk: int | None = None):
    """Yield ``(start, {name: rows start:start + n})`` of one method of a finished attributions.h5,
    a bounded number of rows at a time (default about 32 MB of ``contrib``)."""
    f = _open_finished(path)
    with f:
        g = f[method]
        n, length = g["contrib"].shape[:2]
        step = rows_per_chunk or max(1, STREAM_BYTES // (length * 16))
        for a in range(0, n, step):
            yield a, {k: g[k][a:a + step] for k in names}


def read_progress(path) -> tuple[int, int]:
    """``(shards done, shards)`` of an attributions.h5, finished or still being written (read-only, no lock)."""
    import h5py

    with h5py.File(path, "r", locking=False) as f:
        if "shards" not in f:
            return 1, 1
        done = f["shards/done"][()]
    return int(done.sum()), len(done)


def write_modisco_h5(path, pos_patterns, neg_patterns, window_size: int) -> None:
    """Save TF-MoDISco patterns in modisco-lite's own layout (``modisco report`` reads it)."""
    from modiscolite.io import save_hdf5

    save_hdf5(str(path), pos_patterns, neg_patterns, window_size)


def read_top_attributions(path, methods: list, n: int) -> dict | None:
    """Top-``n`` sequences of ``attributions.h5`` by score: one-hot and contributions per method.

    Reads only the selected rows of ``attributions.h5`` (the full file can be GBs).
    """
    import h5py

    path = Path(path)
    if not path.exists():
        return None
    with h5py.File(path, "r") as f:
        present = [m for m in methods if m in f and "contrib" in f[m]]
        present += [m for m in f if isinstance(f[m], h5py.Group) and m not in present and "contrib" in f[m]]
        if not present or "x" not in f:
            return {"methods": [], "rows": [], "absent": [m for m in methods]}
        index = f["index"][()] if "index" in f else np.arange(len(f["x"]))
        score = None
        for m in present:
            if "score" in f[m]:
                s = f[m]["score"][()].astype(np.float64)
                if np.isfinite(s).any():
                    score = s
                    break
        if score is None:
            score = np.zeros(len(index))
        order = np.argsort(-np.nan_to_num(score, nan=-np.inf), kind="stable")[:n]
        rows = np.sort(order)
        x = f["x"][rows].astype(np.float64)
        contrib = {m: f[m]["contrib"][rows].astype(np.float64) for m in present}
        scores = {m: f[m]["score"][rows].astype(np.float64) if "score" in f[m] else None for m in present}
        explained = f.attrs.get("explained", "")
    pick = {r: i for i, r in enumerate(rows.tolist())}
    seqs = []
    for r in order.tolist():
        i = pick[r]
        seqs.append({"row": r, "seq_index": int(index[r]), "x": x[i],
                     "contrib": {m: contrib[m][i] for m in present},
                     "score": {m: (None if scores[m] is None else float(scores[m][i])) for m in present}})
    explained = explained.decode() if isinstance(explained, bytes) else str(explained)
    return {"methods": present, "rows": seqs, "absent": [m for m in methods if m not in present],
            "explained": explained}
