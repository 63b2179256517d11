"""Peaks: BED files and windows read from a genome FASTA through its ``.fai`` index."""

from __future__ import annotations

import gzip
import logging
import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..regions import Peaks, peak_windows
from .sequences import Sequences, one_hot_encode

logger = logging.getLogger(__name__)


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
    used when :func:`fai_mismatch` finds it describes the genome, and rebuilt (with a warning)
    when it does not; a missing one is built beside the genome, or in a temporary directory
    when that one is read-only. Plain FASTA; bgzip-compressed FASTA needs Biopython (pyfaidx's reader), plain
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
    stale = fai_mismatch(genome, fai) if fai.exists() else None
    if stale:
        logger.warning("%s does not match %s (%s): it was made from another version of the genome or another "
                       "file; %s", fai, genome, stale, "rebuilding it" if os.access(fai.parent, os.W_OK) else
                       "indexing the genome afresh in a temporary directory")
        if os.access(fai.parent, os.W_OK):
            fai.unlink()
    if (stale or not fai.exists()) and not os.access(genome.parent, os.W_OK):
        tmp = tempfile.TemporaryDirectory(prefix="interpret-fai-")
        fai = Path(tmp.name) / (genome.name + ".fai")
        logger.info("%s has no usable .fai index and its directory is read-only; indexing into %s", genome, tmp.name)
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


def fai_mismatch(genome, fai) -> str | None:
    """Why the ``.fai`` index ``fai`` does not describe ``genome`` (``None`` if it does).

    A ``.fai`` row gives a record's name, length, byte offset of its first base, bases per line
    and bytes per line; reads through a stale index return the wrong bases in silence. Checked
    for every record, a few bytes each: the line before the offset is the record's ``>name``
    header; its first line ends where the index says; its last base sits where length and
    layout put it, followed by a line end or the end of the file; and nothing but blank lines
    follows the last record. A timestamp says nothing: a copy or an edit can make an old index
    look newer than the genome.
    """
    try:
        rows = [line.rstrip("\r\n").split("\t") for line in Path(fai).read_text().splitlines() if line.strip()]
        recs = [(r[0], *(int(v) for v in r[1:5])) for r in rows]
    except (ValueError, IndexError, UnicodeDecodeError):
        return "it is not a FASTA index"
    size = Path(genome).stat().st_size
    last = 0
    with open(genome, "rb") as fh:
        def read(at: int, n: int) -> bytes:
            fh.seek(max(0, at))
            return fh.read(max(0, n))

        for name, length, offset, bases, width in recs:
            if offset > size or length < 0 or bases < 1 or width < bases:
                return f"record {name} lies outside the file"
            back = min(offset, len(name) + 4096)
            head = read(offset - back, back).rstrip(b"\r\n").rsplit(b"\n", 1)[-1]
            if not offset or read(offset - 1, 1) != b"\n" or head.split()[:1] != [b">" + name.encode()]:
                return f"no >{name} header before offset {offset}"
            if length > bases and read(offset + bases, width - bases).strip(b"\r\n"):
                return f"the lines of {name} are not {bases} bases long"
            if length:
                end = offset + (length - 1) // bases * width + (length - 1) % bases  # the last base
                tail = read(end, 2)
                if tail[:1] in (b"", b"\n", b"\r", b">") or tail[1:2] not in (b"", b"\n", b"\r"):
                    return f"{name} is not {length} bp long"
                last = max(last, end + 1)
        rest = read(last, min(size - last, 4096))
        if size - last > 4096 or rest.strip():
            return "the genome has sequence after the last indexed record"
    return None


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
