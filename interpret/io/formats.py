"""Small files: MEME motifs (and the bundled JASPAR), JSON, TSV, text and HDF5 tables."""

from __future__ import annotations

import csv
import functools
import json
import os
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import InputError


@dataclass
class Motif:
    """A motif: ``ppm`` of shape ``(W, 4)`` (rows sum to 1), an id and a name."""

    id: str
    ppm: np.ndarray
    name: str = ""
    nsites: int = 20


def read_meme(path) -> list[Motif]:
    """All motifs of a MEME-format file, as :class:`Motif` with ``(W, 4)`` PPMs.

    Every row of a letter-probability matrix must hold 4 probabilities (A C G T) summing to 1
    (within :data:`ROW_SUM_TOLERANCE`), and a matrix as many rows as its ``w=``: anything else raises
    :class:`InputError` naming the motif and the line, rather than screening a shortened motif.
    """
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
            header, where = lines[i].split(), f"{path} line {i + 1}: motif {mid}"
            alength = _header_number(header, "alength=", where)
            if alength not in (None, 4):
                raise InputError(f"{where} has alength= {alength}; DNA motifs have 4 letters (A C G T).")
            width = _header_number(header, "w=", where)
            nsites = int(_header_number(header, "nsites=", where, float) or 20)
            rows = []
            i += 1
            while i < len(lines) and (width is None or len(rows) < width):
                vals = lines[i].split()
                if vals and not _is_number(vals[0]):
                    break
                if vals:
                    rows.append(_meme_row(vals, f"{path} line {i + 1}: motif {mid} row {len(rows) + 1}"))
                i += 1
            j = i  # a number right after w= rows: the header or the matrix is wrong
            while j < len(lines) and not lines[j].split():
                j += 1
            extra = width is not None and j < len(lines) and _is_number(lines[j].split()[0])
            if not rows or extra or (width is not None and len(rows) != width):
                got = f"more than {width}" if extra else str(len(rows))
                raise InputError(f"{where} has {got} matrix rows{f' but w= {width}' if width else ''}; give one row "
                                 "of 4 probabilities (A C G T) per position.")
            ppm = np.array(rows, dtype=np.float64)
            motifs.append(Motif(mid, ppm / ppm.sum(axis=1, keepdims=True), name, nsites))
            continue
        i += 1
    if not motifs:
        raise InputError(f"{path} holds no MEME motifs (no 'MOTIF' with a letter-probability matrix).")
    return motifs


#: How far from 1 a letter-probability row may sum (rounding in files written to 3 decimals and
#: less); a row that sums to something else is a typo or counts, not probabilities.
ROW_SUM_TOLERANCE = 0.05


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _header_number(header: list, key: str, where: str, kind=int):
    """The value after ``key`` in a letter-probability header line, or None if absent."""
    if key not in header:
        return None
    k = header.index(key)
    try:
        return kind(header[k + 1])
    except (IndexError, ValueError):
        raise InputError(f"{where}: {key} is not followed by a number; fix the letter-probability line.") from None


def _meme_row(vals: list, where: str) -> list:
    """One letter-probability row: 4 finite, non-negative numbers summing to 1."""
    if len(vals) != 4:
        raise InputError(f"{where} has {len(vals)} numbers, not 4 (A C G T); fix or remove the row.")
    try:
        row = [float(v) for v in vals]
    except ValueError:
        raise InputError(f"{where} holds {' '.join(vals)!r}, not 4 numbers; fix the row.") from None
    if not all(np.isfinite(v) and v >= 0 for v in row) or abs(sum(row) - 1) > ROW_SUM_TOLERANCE:
        raise InputError(f"{where} holds {' '.join(vals)}, not 4 probabilities summing to 1; fix the row.")
    return row


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
    if path is None:
        return list(_bundled_jaspar())
    return read_meme(path)


@functools.lru_cache(maxsize=1)
def _bundled_jaspar() -> tuple:
    """The bundled JASPAR, read once per process: a run's stages and TOMTOM's null (the bundled
    database, whatever ``--motif-db`` is) read it several times, 0.2 s a read. Its matrices are
    read-only, so no caller can change them for the others."""
    motifs = tuple(read_meme(jaspar_path()))
    for m in motifs:
        m.ppm.flags.writeable = False
    return motifs


#: Columns of the bundled JASPAR's motif-group table (``scripts/make_jaspar.py`` writes it).
MOTIF_GROUP_COLUMNS = ["id", "name", "motif_group", "tf_family", "tf_class", "group_family", "group_class"]


def motif_groups_path() -> Path:
    """Path of the bundled JASPAR's motif-group table, beside its MEME file."""
    return jaspar_path().with_name("JASPAR2026_CORE_vertebrates_nr.groups.tsv")


def load_motif_groups(motif_db=None) -> dict:
    """Motif group, TF family and TF class of every motif of a database.

    Parameters
    ----------
    motif_db : str or Path, optional
        The run's ``--motif-db``; ``None`` (or the bundled file's own path) is the bundled JASPAR.

    Returns
    -------
    dict
        ``{id: {"name", "motif_group", "tf_family", "tf_class", "group_family", "group_class"}}``
        for the bundled JASPAR: the motif's group, JASPAR's TF family and class of the motif (empty
        where JASPAR records none) and of its group (``scripts/make_jaspar.py``); ``{}`` for any
        other database, which carries no groups.
    """
    if motif_db is not None and Path(motif_db).resolve() != jaspar_path().resolve():
        return {}
    return {r["id"]: {k: r[k] for k in MOTIF_GROUP_COLUMNS[1:]} for r in read_tsv(motif_groups_path())}


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


def write_h5(path, groups: dict, attrs: dict | None = None, mode: str = "w") -> None:
    """Write ``{group: {name: array}}`` (and file attributes) to an HDF5 file, gzip-compressed.

    ``mode="a"`` adds the groups to an existing file (created if absent) instead of replacing it;
    a dataset that exists is replaced, so a stage rerun after an interruption writes the same file.
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
                if name in g:
                    del g[name]
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


def write_modisco_h5(path, pos_patterns, neg_patterns, window_size: int) -> None:
    """Save TF-MoDISco patterns in modisco-lite's own layout (``modisco report`` reads it)."""
    from modiscolite.io import save_hdf5

    save_hdf5(str(path), pos_patterns, neg_patterns, window_size)
