"""Every file format the package reads or writes, and nothing else.

This is the loading boundary: models (``.h5``, ``.keras``, SavedModel), sequences (``.npz``,
``.npy``, FASTA, gzipped or not) and motif files (MEME) come in here and leave as in-memory
objects in the package's conventions (one-hot ``(N, L, 4)`` float32, A C G T). Outputs are
written here too, into a staging directory that is renamed into place only when complete
(:class:`OutputDir`), so an interrupted run never leaves a directory that looks finished.
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field, replace
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
@dataclass
class Sequences:
    """One-hot sequences and optional labels, in the package's layout.

    Attributes
    ----------
    x : ndarray, shape (N, L, 4), float32
        One-hot, A C G T; N rows (all zero or all 0.25) allowed.
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

    x: np.ndarray
    y: np.ndarray | None = None
    path: str | None = None
    names: list | None = None
    source_layout: str = "(N, L, 4)"
    keys: dict = field(default_factory=dict)
    regions: Regions | None = None
    genome: str | None = None

    def __len__(self) -> int:
        return len(self.x)


def load_sequences(path, x_key: str | None = None, y_key: str | None = None,
                   seq_len: int | None = None, genome=None, width: int | None = None,
                   label_column: int | None = None) -> Sequences:
    """Read one-hot sequences from ``.npz``, ``.npy``, FASTA or BED + genome into ``(N, L, 4)`` float32.

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
    names = None
    keys = {}
    y = None
    if name.endswith(".npz"):
        try:
            data = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise InputError(f"{path} is not a readable .npz file ({type(exc).__name__}); save it with numpy.savez.") from exc
        x_key = _pick_key(data.files, x_key, X_KEYS, "sequences", "--x-key", path)
        raw = data[x_key]
        keys["x"] = x_key
        y_key_found = _pick_key(data.files, y_key, Y_KEYS, "labels", "--y-key", path, required=y_key is not None)
        if y_key_found is not None:
            y = np.asarray(data[y_key_found])
            keys["y"] = y_key_found
    elif name.endswith(".npy"):
        try:
            raw = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise InputError(f"{path} is not a readable .npy file ({type(exc).__name__}); save it with numpy.save.") from exc
    elif name.endswith((".fa", ".fasta", ".fna", ".fa.gz", ".fasta.gz", ".fna.gz")):
        names, strings = read_fasta(path)
        raw = one_hot_encode(strings, path)
    else:
        raise InputError(f"{path}: unknown data format; use .npz, .npy, .fa/.fasta (optionally .gz).")
    x, layout = to_nl4(raw, seq_len, str(path))
    if y is not None:
        y = _check_labels(y, len(x), path)
    return Sequences(x=x, y=y, path=str(path), names=names, source_layout=layout, keys=keys)


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
    return replace(seqs, y=y)


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
    if arr.dtype == object or arr.dtype.kind in "US":
        raise InputError(f"{where}: sequences are strings; give one-hot arrays, or a FASTA file.")
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{where}: sequences have dtype {arr.dtype}; one-hot must be numeric (uint8, bool or float).")
    if arr.ndim == 4 and arr.shape[1] == 1 and arr.shape[3] == 4:
        arr, layout = arr[:, 0], "(N, 1, L, 4)"
    elif arr.ndim == 4 and arr.shape[2] == 1 and arr.shape[3] == 4:
        arr, layout = arr[:, :, 0], "(N, L, 1, 4)"
    elif arr.ndim == 3 and arr.shape[2] == 4 and not (arr.shape[1] == 4 and seq_len == 4):
        layout = "(N, L, 4)"
        if arr.shape[1] == 4 and seq_len not in (None, 4):
            arr, layout = np.transpose(arr, (0, 2, 1)), "(N, 4, L)"
    elif arr.ndim == 3 and arr.shape[1] == 4:
        arr, layout = np.transpose(arr, (0, 2, 1)), "(N, 4, L)"
    else:
        raise InputError(
            f"{where}: sequences have shape {arr.shape}; expected one-hot (N, L, 4), (N, 1, L, 4) "
            "or (N, 4, L)."
        )
    if arr.shape[0] == 0:
        raise InputError(f"{where}: there are no sequences (N = 0); give at least one.")
    x = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(x).all():
        bad = int(np.argwhere(~np.isfinite(x).all(axis=(1, 2)))[0, 0])
        raise InputError(f"{where}: sequence {bad} contains NaN or inf; remove or re-encode it.")
    # Exactly one base at 1 and the rest 0; all zeros or all 0.25 encode N.
    is01 = ((x == 0) | (x == 1)).all(axis=2)
    ok_rows = (is01 & (x.sum(axis=2) <= 1)) | np.isclose(x, 0.25, atol=1e-3).all(axis=2)
    if not ok_rows.all():
        n, pos = (int(v) for v in np.argwhere(~ok_rows)[0])
        raise InputError(
            f"{where}: sequence {n} position {pos} is not one-hot (values {np.round(x[n, pos], 3).tolist()}); "
            "each position must hold one 1 (A, C, G, T), all zeros or all 0.25 for N."
        )
    if seq_len is not None and x.shape[1] != seq_len:
        raise InputError(
            f"{where}: sequences are {x.shape[1]} bp but the model takes {seq_len} bp; "
            "give sequences of the model's length."
        )
    return x, layout


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


def read_fasta(path) -> tuple[list[str], list[str]]:
    """Names and sequences (upper-case strings) of a FASTA file, gzipped or not."""
    path = Path(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    names, seqs, cur = [], [], []
    try:
        with opener(path, "rt") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                if line.startswith(">"):
                    if names:
                        seqs.append("".join(cur))
                    names.append(line[1:].split()[0] if len(line) > 1 else f"seq{len(names)}")
                    cur = []
                elif not names:
                    raise InputError(f"{path} does not start with a '>' header; is it FASTA?")
                else:
                    cur.append(line.upper())
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise InputError(f"{path} cannot be read as FASTA ({type(exc).__name__}); check the file.") from exc
    if names:
        seqs.append("".join(cur))
    if not seqs:
        raise InputError(f"{path} holds no FASTA records; give at least one sequence.")
    lengths = {len(s) for s in seqs}
    if len(lengths) > 1:
        raise InputError(
            f"{path}: sequences have lengths {sorted(lengths)[:5]}; all must have the model's length "
            "(trim or pad them, e.g. bedtools slop + getfasta)."
        )
    return names, seqs


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
class OutputDir:
    """Write a run's outputs into ``<out>.partial-<pid>`` and rename it to ``out`` on success.

    ``summary.json`` is written last by :meth:`finish`; on an exception (or Ctrl-C) the
    staging directory is removed, so a directory named ``out`` is always complete.
    """

    def __init__(self, out, force: bool = False):
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
        self.force = force
        self.path = parent / f".{self.final.name}.partial-{os.getpid()}"
        try:
            if self.path.exists():
                shutil.rmtree(self.path)
            self.path.mkdir()
        except OSError as exc:
            raise InputError(f"cannot write to {parent} ({exc.strerror}); choose a writable --out.") from exc

    def __truediv__(self, name) -> Path:
        return self.path / name

    def finish(self, summary: dict) -> Path:
        """Write ``summary.json`` last and move the directory into place."""
        write_json(self.path / "summary.json", summary)
        if self.final.exists():
            if not self.force:
                raise InputError(f"output directory {self.final} appeared while running; pass --force to replace it.")
            shutil.rmtree(self.final)
        os.replace(self.path, self.final)
        return self.final

    def abort(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
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


class AttributionWriter:
    """Stream attributions into ``attributions.h5`` chunk by chunk (bounded memory).

    Layout: one group per method with ``contrib`` and ``hypothetical`` ``(N, L, 4)`` float32,
    ``delta`` ``(N,)`` (NaN where the method has none) and ``score`` ``(N,)`` (the explained
    scalar); at the root, ``index`` ``(N,)``: row of each explained sequence in the user's
    data, and ``x`` ``(N, L, 4)`` uint8 one-hot. File attribute ``explained`` says what
    the scores are (e.g. "logit (pre-sigmoid) of output 0").
    """

    def __init__(self, path, x: np.ndarray, index: np.ndarray, methods: list[str], attrs: dict):
        import h5py

        self.f = h5py.File(path, "w")
        n, length, _ = x.shape
        for k, v in attrs.items():
            self.f.attrs[k] = v
        self.f.create_dataset("index", data=np.asarray(index, dtype=np.int64))
        self.f.create_dataset("x", data=(x > 0.5).astype(np.uint8) if x.max() <= 1 else x,
                              compression="gzip", chunks=(min(n, 256), length, 4))
        chunk = (min(n, 256), length, 4)
        for m in methods:
            g = self.f.create_group(m)
            for name in ("contrib", "hypothetical"):
                g.create_dataset(name, shape=(n, length, 4), dtype="f4", chunks=chunk,
                                 compression="gzip", compression_opts=1)
            g.create_dataset("delta", shape=(n,), dtype="f4", fillvalue=np.nan)
            g.create_dataset("score", shape=(n,), dtype="f4", fillvalue=np.nan)

    def write(self, method: str, start: int, contrib, hypothetical, score=None, delta=None) -> None:
        """Write rows ``start:start + len(contrib)`` of ``method``."""
        g = self.f[method]
        stop = start + len(contrib)
        g["contrib"][start:stop] = contrib
        g["hypothetical"][start:stop] = hypothetical
        if score is not None:
            g["score"][start:stop] = score
        if delta is not None:
            g["delta"][start:stop] = delta

    def close(self) -> None:
        self.f.close()


def read_attributions(path, method: str | None = None) -> dict:
    """Read ``attributions.h5``: ``{"index", "x", "attrs", method: {"contrib", "hypothetical", "delta", "score"}}``."""
    import h5py

    if not Path(path).exists():
        raise InputError(f"{path} does not exist; give the attributions.h5 of an earlier run.")
    try:
        with h5py.File(path, "r") as f:
            out = {"index": f["index"][()], "x": f["x"][()].astype(np.float32), "attrs": dict(f.attrs)}
            for m in f:
                if isinstance(f[m], h5py.Group) and (method is None or m == method):
                    out[m] = {k: f[m][k][()] for k in f[m]}
    except (OSError, KeyError) as exc:
        raise InputError(f"{path} is not an interpret attributions.h5 ({exc}); recompute it with `interpret attribute`.") from exc
    return out


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
