"""Composition flags of a motif or filter PPM: GC-rich, low complexity, CpG.

A pattern a model uses can be a sequence *composition* rather than a binding site: the GC-rich
stretches of real peaks (CpG-island-like promoters), A or G runs, dinucleotide repeats. Such a
pattern gets no JASPAR name (the naming guard refuses a match that column-shuffled copies of the
pattern get as well), and without a flag the reader is left with an unexplained "no match".
Every motif and filter therefore carries three numbers and the flags they raise, computed on
the informative core that :func:`interpret.motifs.compare.match_to_db` compares
(:func:`interpret.motifs.compare.trim_ppm`):

* ``gc``: the expected G+C fraction of the core, the mean of ``P(C) + P(G)`` over its columns.
  **GC-rich** at ``>= GC_RICH`` (0.65; the 75%-GC stretches of ``simulate.peaks_like`` give
  TF-MoDISco patterns of 0.67-0.80, its MAFK and TP53 patterns 0.56-0.62).
* ``complexity``: the Shannon entropy in bits (0-4) of the dinucleotides of the core's
  consensus (its most probable base per column). A homopolymer gives 0, a dinucleotide repeat
  1, the GC box ``GGGGCGGGG`` 1.06, the homeobox core ``TAATTA`` 1.92, a random 12-mer about 3.
  **Low complexity** at ``<= LOW_COMPLEXITY`` (1.5 bits).
* ``cpg``: the expected number of CpG dinucleotides per dinucleotide step of the core,
  ``sum_i P_i(C) P_{i+1}(G) / (W - 1)`` (CpG is its own reverse complement, so one strand
  counts both). **CpG** when the core is expected to hold at least one CpG (``CPG_MIN``) and at
  least ``CPG_RATE`` (0.1) per step, one per 10 bp: a uniform PPM gives 0.0625, a PPM of 75%-GC
  sequence 0.14. A PPM cannot show CpG *depletion* (its columns are independent), so the flag
  says that CpGs are there, not that they are more than the GC content predicts.

Of the 1,019 bundled JASPAR matrices these flag 17.6% GC-rich (SP/KLF, EGR, E2F, CTCF's core,
E-boxes), 3.0% low complexity (GC boxes, G, C and A runs, TATA) and 8.6% CpG (E2F, EGR, NRF1,
CRE and E-box variants with ACGT/CACGTG); ``tests/test_composition.py`` checks these fractions.
The flags describe a pattern, they do not judge it: SP1 is a real factor with a GC-rich,
low-complexity motif.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .compare import trim_ppm
from ..errors import InputError

GC_RICH = 0.65          # G+C fraction of the core at which it is flagged GC-rich
LOW_COMPLEXITY = 1.5    # bits of dinucleotide entropy of the consensus at or below which: low complexity
CPG_RATE = 0.1          # expected CpGs per dinucleotide step for the CpG flag ...
CPG_MIN = 1.0           # ... and expected CpGs in the core
MIN_STEPS = 3           # a consensus needs this many dinucleotides for a complexity value
COLUMNS = ("gc", "cpg", "complexity", "composition")   # Composition.as_row(), in table order


@dataclass(frozen=True)
class Composition:
    """Composition of one PPM's informative core.

    Attributes
    ----------
    gc : float
        Expected G+C fraction of the core.
    cpg : float
        Expected CpG dinucleotides per dinucleotide step of the core (0 for a 1-column core).
    complexity : float
        Entropy (bits, 0-4) of the dinucleotides of the core's consensus; NaN when the core has
        fewer than ``MIN_STEPS + 1`` columns (too short to call its complexity) or the PPM has no
        informative column (no consensus).
    flags : tuple of str
        Any of ``"GC-rich"``, ``"low complexity"``, ``"CpG"``, in that order.
    """

    gc: float
    cpg: float
    complexity: float
    flags: tuple

    def as_row(self) -> dict:
        """``gc, cpg, complexity, composition`` for output tables (flags comma-separated)."""
        return {"gc": round(self.gc, 3), "cpg": round(self.cpg, 3),
                "complexity": None if np.isnan(self.complexity) else round(self.complexity, 2) + 0.0,
                "composition": ",".join(self.flags)}


def describe(ppm: np.ndarray) -> Composition:
    """GC fraction, CpG rate, consensus complexity and flags of ``ppm`` ``(W, 4)``, A C G T.

    Computed on the informative core :func:`interpret.motifs.compare.trim_ppm` finds (the span the
    naming guard compares); the whole matrix when no column is informative.
    """
    p = np.asarray(ppm, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 4 or len(p) == 0 or not np.isfinite(p).all() or (p < 0).any():
        raise InputError(f"a PPM must be a non-empty (W, 4) array of probabilities, A C G T; got shape {p.shape}.")
    p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
    s, e = trim_ppm(p)
    core = p[s:e] if e > s else p
    gc = float((core[:, 1] + core[:, 2]).mean())
    steps = len(core) - 1
    n_cpg = float((core[:-1, 1] * core[1:, 2]).sum())
    cpg = n_cpg / steps if steps else 0.0
    # Without an informative core there is no consensus to speak of.
    complexity = _dinucleotide_entropy(core.argmax(axis=1)) if e > s and steps >= MIN_STEPS else float("nan")
    flags = []
    if gc >= GC_RICH:
        flags.append("GC-rich")
    if complexity <= LOW_COMPLEXITY:       # False for NaN
        flags.append("low complexity")
    if cpg >= CPG_RATE and n_cpg >= CPG_MIN:
        flags.append("CpG")
    return Composition(gc, cpg, complexity, tuple(flags))


def _dinucleotide_entropy(consensus: np.ndarray) -> float:
    counts = np.array(list(Counter(zip(consensus[:-1].tolist(), consensus[1:].tolist())).values()), dtype=np.float64)
    f = counts / counts.sum()
    return float(-(f * np.log2(f)).sum())
