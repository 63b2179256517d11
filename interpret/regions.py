"""Genome windows around peaks, and positions in those windows mapped back onto the genome.

Part of the loading boundary: :func:`interpret.io.load_peaks` reads a BED file and a genome
FASTA and calls :func:`peak_windows` to decide which window each peak becomes;
the pipeline calls :func:`to_genome` to give every seqlet its genome coordinates. Nothing here
opens files.

Coordinates are BED's: 0-based, half-open, ``chrom:start-end`` on the forward strand.

* A peak is centred on its summit (narrowPeak column 10, an offset from column 2) when it has
  one, else on its midpoint ``(start + end) // 2``. The window of width ``L`` is
  ``[centre - L // 2, centre - L // 2 + L)``: for even ``L`` the centre is the right one of
  the two middle positions.
* A peak on strand ``-`` (column 6) reads the same genome window reverse-complemented, so
  position ``i`` of its sequence is genome position ``end - 1 - i``; ``+`` and ``.`` read it
  forward (what ``bedtools getfasta -s`` does).
* A window that would reach past either end of its chromosome, or a chromosome the genome does
  not have, is refused (:class:`~interpret.errors.InputError` naming the BED line), never
  clipped or padded: a shorter or padded window would change what the model sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError

#: Columns :func:`to_genome` adds to each seqlet row (``seqlets.tsv``).
GENOME_COLUMNS = ("chrom", "chrom_start", "chrom_end", "chrom_strand")


@dataclass(frozen=True)
class Peaks:
    """Peaks as read from a BED file (one entry per data line).

    Attributes
    ----------
    chrom : ndarray, shape (N,), str
    start, end : ndarray, shape (N,), int64
        BED columns 2 and 3 (0-based, half-open).
    strand : ndarray, shape (N,), str
        ``"+"``, ``"-"`` or ``"."`` (column 6; ``"."`` when absent).
    summit : ndarray, shape (N,), int64
        Summit offset from ``start`` (narrowPeak column 10); -1 where there is none.
    name : ndarray, shape (N,), str
        Column 4, or ``chrom:start-end`` when absent.
    line : ndarray, shape (N,), int64
        Line number of each peak in the file (1-based), for error messages.
    """

    chrom: np.ndarray
    start: np.ndarray
    end: np.ndarray
    strand: np.ndarray
    summit: np.ndarray
    name: np.ndarray
    line: np.ndarray

    def __len__(self) -> int:
        return len(self.chrom)


@dataclass(frozen=True)
class Regions:
    """The genome window behind each row of the sequences.

    Attributes
    ----------
    chrom : ndarray, shape (N,), str
    start, end : ndarray, shape (N,), int64
        The window ``[start, end)``, ``end - start`` = the model's length.
    strand : ndarray, shape (N,), str
        ``"+"`` or ``"-"``: the row is the window read forward or reverse-complemented.
    name : ndarray, shape (N,), str
        The peak's name (BED column 4, or ``chrom:start-end``).
    centred_on : ndarray, shape (N,), str
        ``"summit"`` or ``"midpoint"``.
    """

    chrom: np.ndarray
    start: np.ndarray
    end: np.ndarray
    strand: np.ndarray
    name: np.ndarray
    centred_on: np.ndarray

    def __len__(self) -> int:
        return len(self.chrom)


def peak_windows(peaks: Peaks, width: int, chrom_sizes: dict, where: str = "BED") -> Regions:
    """The window of ``width`` bp each peak becomes.

    Parameters
    ----------
    peaks : Peaks
    width : int
        Window length (the model's input length).
    chrom_sizes : dict of str -> int
        Length of every chromosome of the genome.
    where : str
        File name for error messages.

    Returns
    -------
    Regions
        One window per peak, in the BED file's order.

    Raises
    ------
    InputError
        For the first peak on a chromosome the genome lacks, or whose window runs off its
        chromosome (the message names the line and how many peaks share the problem).
    """
    width = int(width)
    if width < 1:
        raise InputError(f"--width must be at least 1, not {width}.")
    known = np.array([c in chrom_sizes for c in peaks.chrom], bool)
    if not known.all():
        i = int(np.flatnonzero(~known)[0])
        names = ", ".join(list(chrom_sizes)[:5]) + (", ..." if len(chrom_sizes) > 5 else "")
        raise InputError(
            f"{where} line {peaks.line[i]}: chromosome '{peaks.chrom[i]}' is not in the genome (it has {names}); "
            f"{int((~known).sum())} peak(s) are on chromosomes it lacks: use a BED and genome of the same assembly "
            "and naming (chr1 or 1)."
        )
    has_summit = peaks.summit >= 0
    centre = np.where(has_summit, peaks.start + peaks.summit, (peaks.start + peaks.end) // 2)
    start = centre - width // 2
    end = start + width
    size = np.array([chrom_sizes[c] for c in peaks.chrom], np.int64)
    off = (start < 0) | (end > size)
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise InputError(
            f"{where} line {peaks.line[i]}: the {width}-bp window {peaks.chrom[i]}:{start[i]}-{end[i]} around the "
            f"peak's {'summit' if has_summit[i] else 'midpoint'} runs off {peaks.chrom[i]} (length {size[i]}); "
            f"{int(off.sum())} peak(s) do: remove them (e.g. bedtools slop -b {width} and keep only peaks inside)."
        )
    return Regions(chrom=peaks.chrom, start=start.astype(np.int64), end=end.astype(np.int64),
                   strand=np.where(peaks.strand == "-", "-", "+"), name=peaks.name,
                   centred_on=np.where(has_summit, "summit", "midpoint"))


def to_genome(regions: Regions, seq_index, start, end, strand) -> dict:
    """Genome coordinates of spans given in the rows' own coordinates.

    A span ``start:end`` of row ``seq_index`` reading on ``strand`` (as in ``seqlets.tsv``:
    positions of the sequence the model saw, ``"-"`` = the motif reads on the reverse
    complement of that span) lies, on a ``-`` row, at ``[end_w - end, end_w - start)`` of the
    genome (``end_w`` the window's end) on the opposite strand.

    Parameters
    ----------
    regions : Regions
    seq_index, start, end : array-like of int, shape (M,)
    strand : array-like of str, shape (M,)

    Returns
    -------
    dict
        ``chrom`` (M,) str, ``chrom_start``, ``chrom_end`` (M,) int64 and ``chrom_strand``
        (M,) str: the span on the genome and the strand the motif reads on there.
    """
    i = np.asarray(seq_index, np.int64)
    s, e = np.asarray(start, np.int64), np.asarray(end, np.int64)
    flip = regions.strand[i] == "-"
    w0, w1 = regions.start[i], regions.end[i]
    strand = np.asarray(strand)
    return {"chrom": regions.chrom[i],
            "chrom_start": np.where(flip, w1 - e, w0 + s),
            "chrom_end": np.where(flip, w1 - s, w0 + e),
            "chrom_strand": np.where(flip == (strand == "-"), "+", "-")}
