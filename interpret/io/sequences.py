"""Sequences in the package's layout: :class:`Sequences`, row readers that convert on demand
(memory-mapped ``.npy``, FASTA as one byte per base), layout conversion and value checks, FASTA
and one-hot encoding."""

from __future__ import annotations

import copy
import gzip
import logging
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..regions import Regions

logger = logging.getLogger(__name__)


ALPHABET = "ACGT"


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
        self._blank = None

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

    @property
    def blank(self) -> np.ndarray:
        """``(N,)`` bool: rows that are N at every position (no A, C, G or T), which carry nothing
        to explain. Read once (from the loading pass for ``.npy`` and FASTA) and kept."""
        if self._blank is None:
            src = self.source
            self._blank = blank_rows(src) if isinstance(src, np.ndarray) else src.blank()
        return self._blank

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
        self._blank = None

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

    def blank(self) -> np.ndarray:
        """``(N,)`` bool: rows without any base (all N); one streaming pass, kept."""
        if self._blank is None:
            self._blank = np.concatenate([blank_rows(x) for _, x in self.chunks()])
        return self._blank

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

    def blank(self) -> np.ndarray:
        return (self.codes == 4).all(axis=1)


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


def blank_rows(x: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: rows of one-hot ``x`` ``(N, L, 4)`` without any base (all zeros or 0.25: N)."""
    return ~(np.asarray(x) > 0.5).any(axis=(1, 2))


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
