"""Composition flags: hand-made PPMs with known answers, the bundled JASPAR, and the GC-rich
stretches of real-peak-like data."""

import numpy as np
import pytest

from interpret.motifs import composition
from interpret.errors import InputError
from interpret.io import load_motif_db


def onehot(seq: str, top: float = 1.0) -> np.ndarray:
    """PPM with ``top`` on each base of ``seq`` and the rest spread evenly."""
    out = np.full((len(seq), 4), (1 - top) / 3)
    out[np.arange(len(seq)), ["ACGT".index(c) for c in seq]] = top
    return out


def test_g_run_is_gc_rich_and_low_complexity_without_cpg():
    c = composition.describe(onehot("GGGGGGGGGG"))
    assert c.gc == pytest.approx(1.0) and c.cpg == pytest.approx(0.0) and c.complexity == pytest.approx(0.0)
    assert c.flags == ("GC-rich", "low complexity")


def test_cg_repeat_raises_all_three_flags_with_exact_values():
    # CGCGCGCGCG: 9 steps, CpG at steps 0, 2, 4, 6, 8; dinucleotides CG x 5, GC x 4.
    c = composition.describe(onehot("CGCGCGCGCG"))
    assert c.cpg == pytest.approx(5 / 9)
    assert c.complexity == pytest.approx(-(5 / 9 * np.log2(5 / 9) + 4 / 9 * np.log2(4 / 9)))
    assert c.flags == ("GC-rich", "low complexity", "CpG")
    assert c.as_row() == {"gc": 1.0, "cpg": 0.556, "complexity": 0.99, "composition": "GC-rich,low complexity,CpG"}


def test_homeobox_core_and_p53_palindrome_carry_no_flag():
    tal = composition.describe(onehot("TAATTA"))
    # TA, AA, AT, TT, TA: TA twice, three others once
    assert tal.complexity == pytest.approx(-(0.4 * np.log2(0.4) + 3 * 0.2 * np.log2(0.2)))
    assert tal.gc == pytest.approx(0.0) and tal.flags == ()
    assert composition.describe(onehot("ACATGTCTGGACATGCC", 0.85)).flags == ()


def test_weak_gc_stretch_is_gc_rich_and_cpg_by_expected_values():
    # 12 weak columns alternating C- and G-leaning: no column reaches 0.5 bits, so the core is
    # found relative to the strongest column; gc = 0.75, CpG per step = P(C) P(G) of C->G steps.
    c_col, g_col = [0.1, 0.45, 0.3, 0.15], [0.15, 0.3, 0.45, 0.1]
    ppm = np.array([c_col, g_col] * 6)
    c = composition.describe(ppm)
    assert c.gc == pytest.approx(0.75)
    steps = [0.45 * 0.45 if k % 2 == 0 else 0.3 * 0.3 for k in range(11)]    # C->G, then G->C
    assert c.cpg == pytest.approx(np.mean(steps))
    assert c.complexity == pytest.approx(-(6 / 11 * np.log2(6 / 11) + 5 / 11 * np.log2(5 / 11)))
    assert c.flags == ("GC-rich", "low complexity", "CpG")


def test_dilution_keeps_gc_fraction_and_consensus():
    gc_box = onehot("GGGGCGGGG")
    diluted = 0.4 * gc_box + 0.6 * 0.25
    a, b = composition.describe(gc_box), composition.describe(diluted)
    assert b.gc == pytest.approx(0.4 * a.gc + 0.6 * 0.5)
    assert b.complexity == pytest.approx(a.complexity)
    assert "low complexity" in b.flags


def test_uniform_ppm_has_no_consensus_and_no_flag():
    c = composition.describe(np.full((12, 4), 0.25))
    assert c.gc == pytest.approx(0.5) and np.isnan(c.complexity) and c.flags == ()
    assert c.as_row()["complexity"] is None


def test_bad_ppm_is_refused():
    with pytest.raises(InputError, match="PPM"):
        composition.describe(np.ones((5, 3)))


def test_flagged_fractions_of_the_bundled_jaspar():
    db = load_motif_db()
    res = {m.id: composition.describe(m.ppm) for m in db}
    frac = {f: np.mean([f in c.flags for c in res.values()]) for f in ("GC-rich", "low complexity", "CpG")}
    print("JASPAR flagged:", {k: round(v, 3) for k, v in frac.items()})
    assert 0.15 <= frac["GC-rich"] <= 0.2 and 0.02 <= frac["low complexity"] <= 0.05 and 0.05 <= frac["CpG"] <= 0.1
    assert res["MA0079.5"].flags == ("GC-rich", "low complexity")            # SP1, GGGGCGGGG
    assert res["MA0139.2"].flags == ("GC-rich",)                             # CTCF core
    for mid in ("MA0106.3", "MA0018.5", "MA0143.5", "MA0496.4", "MA0047.4"):  # TP53 CREB1 SOX2 MAFK FOXA2
        assert res[mid].flags == (), mid


def test_gc_rich_stretches_of_peaks_like_are_flagged(peaks_sim):
    rng = np.random.default_rng(0)
    x, width = peaks_sim.x, 16
    runs = [(i, s, e) for i, r in enumerate(peaks_sim.gc_runs) for s, e in r]
    starts = [(i, int(rng.integers(s, e - width + 1))) for i, s, e in runs[:200]]
    stretch = x[[i for i, _ in starts]][np.arange(len(starts))[:, None], np.array([s for _, s in starts])[:, None] + np.arange(width)]
    tp53 = [(i, s) for i, sites in enumerate(peaks_sim.sites) for m, s, _ in sites if m == "MA0106.3"][:200]
    sites = np.stack([x[i, s:s + 18] for i, s in tp53])
    background = x[peaks_sim.y == 0][:200, 50:50 + width]
    c_stretch, c_sites, c_bg = (composition.describe(a.mean(axis=0)) for a in (stretch, sites, background))
    print("GC:", round(c_stretch.gc, 3), round(c_sites.gc, 3), round(c_bg.gc, 3))
    # the stretches are 75% GC and not CpG-depleted: 0.375^2 CpGs per step
    assert c_stretch.flags == ("GC-rich", "CpG") and c_stretch.gc == pytest.approx(0.75, abs=0.03)
    assert c_sites.flags == () and c_bg.flags == ()
