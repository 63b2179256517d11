"""Planted ground truth (``interpret run --truth FILE``): read and checked before any work is done."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

#: Columns of a truth TSV (``strand`` may be left out).
TRUTH_COLUMNS = ("seq_index", "start", "end", "motif")


@dataclass(frozen=True)
class Truth:
    """Where motifs were planted in the input rows.

    Attributes
    ----------
    positions : ndarray, shape (N, L)
        One value per input base: from an ``.npz``, as given (the information in bits of the
        generating PWM, or a 0/1 mask); from a TSV, 1 inside a planted instance and 0 elsewhere.
    instances : dict of ndarray, or None
        TSV only: ``seq_index, start, end`` (int64, 0-based half-open), ``motif`` and ``strand``
        (str; ``"."`` when not given), one entry per planted instance, in file order.
    path : str
    """

    positions: np.ndarray
    instances: dict | None
    path: str

    @property
    def form(self) -> str:
        """``"instances"`` (a TSV) or ``"positions"`` (an ``.npz``)."""
        return "instances" if self.instances is not None else "positions"


def read_truth(path, n: int, length: int) -> Truth:
    """Read a truth file and check it against ``n`` input rows of ``length`` bp.

    Parameters
    ----------
    path : str or Path
        ``.npz`` with ``positions`` of shape ``(n, length)``, non-negative, non-zero where a planted
        motif sits; or a tab-separated table with a header holding ``seq_index, start, end, motif``
        and optionally ``strand`` (rows of the input, 0-based half-open spans).
    n, length : int
        Input rows and their length.

    Returns
    -------
    Truth

    Raises
    ------
    InputError
        One line naming the file and what is wrong: a missing key or column, a shape that is not
        ``(n, length)``, a row outside the input, a span that leaves its sequence.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--truth {p} does not exist; give an .npz with 'positions' or a TSV of planted instances.")
    if p.suffix == ".npz":
        return _read_npz(p, n, length)
    return _read_tsv(p, n, length)


def _read_npz(p: Path, n: int, length: int) -> Truth:
    try:
        with np.load(p) as f:
            if "positions" not in f.files:
                raise InputError(f"--truth {p} has no 'positions' array (it has {', '.join(f.files) or 'nothing'}); "
                                 f"save the planted positions as positions, shape ({n}, {length}).")
            pos = np.asarray(f["positions"])
    except (OSError, ValueError) as exc:
        raise InputError(f"--truth {p} is not a readable .npz ({exc}); save it with numpy.savez.") from exc
    if pos.shape != (n, length):
        raise InputError(f"--truth {p}: positions have shape {pos.shape} but the input has {n} sequences of "
                         f"{length} bp; give one row per input sequence, ({n}, {length}).")
    if pos.dtype.kind not in "biuf":
        raise InputError(f"--truth {p}: positions have dtype {pos.dtype}; give numbers (bits or 0/1).")
    pos = pos.astype(np.float32)
    if not np.isfinite(pos).all() or (pos < 0).any():
        raise InputError(f"--truth {p}: positions hold negative, NaN or infinite values; give bits or a 0/1 mask.")
    return Truth(pos, None, str(p))


def _read_tsv(p: Path, n: int, length: int) -> Truth:
    try:
        with open(p, newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in TRUTH_COLUMNS if c not in header]
            if missing:
                raise InputError(f"--truth {p} has no column {missing[0]} (its header: {', '.join(header) or 'none'}); "
                                 "give a tab-separated table with seq_index, start, end, motif[, strand].")
            rows = [{k.strip(): (v or "").strip() for k, v in r.items() if k is not None} for r in reader]
    except UnicodeDecodeError as exc:
        raise InputError(f"--truth {p} is not a text table; give an .npz with 'positions' or a TSV.") from exc
    seq, start, end = (np.zeros(len(rows), np.int64) for _ in range(3))
    for i, r in enumerate(rows):
        line = i + 2
        try:
            seq[i], start[i], end[i] = int(r["seq_index"]), int(r["start"]), int(r["end"])
        except ValueError:
            raise InputError(f"--truth {p} line {line}: seq_index, start and end must be integers "
                             f"(got {r['seq_index']!r}, {r['start']!r}, {r['end']!r}).") from None
        if not 0 <= seq[i] < n:
            raise InputError(f"--truth {p} line {line}: seq_index {seq[i]} is not a row of the input "
                             f"(0..{n - 1}); number rows as in the data file, from 0.")
        if not 0 <= start[i] < end[i] <= length:
            raise InputError(f"--truth {p} line {line}: span {start[i]}-{end[i]} is not inside the {length}-bp "
                             "sequence; give 0-based half-open spans with start < end <= length.")
        if not r["motif"]:
            raise InputError(f"--truth {p} line {line}: the motif name is empty; name every planted motif.")
        if r.get("strand", "") not in ("", "+", "-", "."):
            raise InputError(f"--truth {p} line {line}: strand {r['strand']!r} is not +, - or '.'.")
    positions = np.zeros((n, length), np.float32)
    for s, a, b in zip(seq, start, end):
        positions[s, a:b] = 1.0
    instances = {"seq_index": seq, "start": start, "end": end,
                 "motif": np.array([r["motif"] for r in rows], dtype=object),
                 "strand": np.array([r.get("strand") or "." for r in rows], dtype=object)}
    return Truth(positions, instances, str(p))
