"""Trimming and motif families on diffuse, weak and recurrent-model attributions (docs/motifs.md).

    .venv/bin/python benchmarks/trimming.py

Data and models are the test fixtures: ``simulate.peaks_like(4000, 200, seed=1)`` with
``simulate.pooled_model`` trained 30 epochs (1,000 positives explained with DeepSHAP, integrated
gradients and gradient x input), and ``simulate.arch_data(400, seed=1)`` with the DanQ-like model
(integrated gradients) and the Koo-style model (DeepSHAP) of ``tests/test_architectures.py``.
TF-MoDISco runs with the automatic settings. For every pattern: the span ``modisco report``'s rule
keeps (summed |CWM| >= 0.3 x max over the untrimmed window) and the span ``modisco.trim_bounds``
keeps. Where a pattern's seqlets sit on a planted motif (one planted id covers at least 40% of
them at some window position), its *planted span* is the window positions that instance covers in
at least half as many seqlets as at its best position, and the table gives the overlap
(intersection over union) of each rule's span with it. GC-rich stretches of ``peaks_like`` have
no single planted span and are counted only in the width columns. Then the families
(``modisco.group_families``) and the minor ones (``modisco.fold_minor``, no effect sizes).
A control for the family criterion: column-shuffled JASPAR cores (letter heights as CWMs) against
real ones, the fraction whose cores align at the family's cosine threshold.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Section, md_table  # noqa: E402

from interpret import io, simulate  # noqa: E402
from interpret.motifs import compare, modisco
from interpret.attribution.methods import DeepShap, GradientXInput, IntegratedGradients  # noqa: E402
from interpret.model import Model  # noqa: E402


def report_rule(cwm):
    score = np.abs(cwm).sum(axis=1)
    keep = np.flatnonzero(score >= 0.3 * score.max())
    return int(keep[0]), int(keep[-1]) + 1


def planted_span(pattern, sim, pos):
    """(planted id, span) of the instance most of the pattern's seqlets sit on, or (None, None)."""
    width = len(pattern.contrib_scores)
    cover = {}
    for s in pattern.seqlets:
        row = int(pos[s.example_idx])
        for mid, start, _ in sim.sites[row]:
            base = mid.split(":")[0]
            w = len(simulate.jaspar_ppms([base])[base]) // (2 if mid.endswith(":half") else 1)
            lo, hi = max(start, s.start), min(start + w, s.end)
            if hi <= lo:
                continue
            a, b = (s.end - hi, s.end - lo) if s.is_revcomp else (lo - s.start, hi - s.start)
            cover.setdefault(base, np.zeros(width))[a:b] += 1
    if not cover:
        return None, None
    mid = max(cover, key=lambda k: cover[k].max())
    c = cover[mid] / len(pattern.seqlets)
    if c.max() < 0.4:
        return None, None
    keep = np.flatnonzero(c >= 0.5 * c.max())
    return mid, (int(keep[0]), int(keep[-1]) + 1)


def iou(a, b):
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


def measure(name, method, x, hyp, pos, sim, db):
    res = modisco.discover(x, hyp, pos, method=method)
    raw = [p for pats in (res.pos_patterns, res.neg_patterns) for p in (pats or [])]
    window = res.settings.trim_to_window_size + 2 * res.settings.initial_flank_to_add
    rows, old_w, new_w, old_iou, new_iou = [], [], [], [], []
    for rec, pat in zip(res.patterns, raw):
        old = report_rule(np.asarray(pat.contrib_scores))
        new = (rec.trim_start, rec.trim_end)
        old_w.append(old[1] - old[0])
        new_w.append(new[1] - new[0])
        mid, span = planted_span(pat, sim, pos)
        if span:
            old_iou.append(iou(old, span))
            new_iou.append(iou(new, span))
    fams = modisco.group_families(res.patterns, x, hyp, pos)
    minor = modisco.fold_minor(fams)
    named = compare.match_to_db([f.ppm for f in fams], db)
    rows.append({"data": name, "method": method, "patterns": len(res.patterns), "window": window,
                 "whole_old": sum(w >= window for w in old_w), "whole_new": sum(w >= window for w in new_w),
                 "median_old": float(np.median(old_w)), "median_new": float(np.median(new_w)),
                 "max_old": max(old_w), "max_new": max(new_w), "n_planted": len(new_iou),
                 "iou_old": float(np.mean(old_iou)) if old_iou else None,
                 "iou_new": float(np.mean(new_iou)) if new_iou else None,
                 "families": len(fams), "minor": sum(bool(v) for v in minor.values()),
                 "main_named": ", ".join(f"{m.name} ({len(f.ppm)} bp)" for f, m in zip(fams, named)
                                         if m.significant and not minor[f.id])})
    return rows


def shuffled_control(db, n_pairs=1000, seed=0):
    rng = np.random.default_rng(seed)
    cores = []
    for m in db:
        s, e = compare.trim_ppm(m.ppm)
        if e - s >= 6:
            p = m.ppm[s:e] / m.ppm[s:e].sum(1, keepdims=True)
            cores.append(p * compare.column_ic(p)[:, None])
    pairs = [(i, j) for i, j in rng.choice(len(cores), size=(n_pairs, 2)) if i != j]
    real = [modisco.align_cores(cores[i], cores[j])[0] for i, j in pairs]
    shuf = [modisco.align_cores(cores[i], cores[j][rng.permutation(len(cores[j]))])[0] for i, j in pairs]
    t = modisco.FAMILY_SIMILARITY
    return {"pairs": len(pairs), "real": float(np.mean(np.array(real) >= t)),
            "shuffled": float(np.mean(np.array(shuf) >= t))}


def main():
    sec = Section("trimming", "Trimming and motif families on diffuse, weak and recurrent-model attributions")
    db = io.load_motif_db()
    rows = []

    sim = simulate.peaks_like(n=4000, length=200, seed=1)
    km = simulate.pooled_model(200, 1, seed=0)
    simulate.train(km, sim.x, sim.y, epochs=30, seed=0)
    model = Model.from_keras(km)
    pos = np.flatnonzero(sim.y > 0.5)[:1000]
    x = sim.x[pos]
    for method, hyp in (("deepshap", DeepShap(model).attribute(x, n_references=20, seed=0).hypothetical),
                        ("ig", IntegratedGradients(model).attribute(x).hypothetical),
                        ("gradxinput", GradientXInput(model).attribute(x).hypothetical)):
        rows += measure("peaks_like 200 bp", method, x, hyp, pos, sim, db)
        print(rows[-1], flush=True)

    arch = simulate.arch_data(n=400, seed=1)
    pos = np.flatnonzero(arch.y > 0.5)
    x = arch.x[pos]
    for name, build, epochs, method in (("DanQ-like", simulate.danq_model, 6, "ig"),
                                        ("Koo-style", simulate.koo_model, 15, "deepshap")):
        km = build()
        simulate.train(km, arch.x, arch.y, epochs=epochs, batch_size=64, seed=0)
        m = Model.from_keras(km)
        hyp = (IntegratedGradients(m).attribute(x) if method == "ig" else
               DeepShap(m).attribute(x, n_references=10, seed=0)).hypothetical
        rows += measure(f"{name} 101 bp", method, x, hyp, pos, arch, db)
        print(rows[-1], flush=True)

    sec.add(__doc__.split("\n\n", 2)[2].strip())
    sec.add(md_table(rows, ["data", "method", "patterns", "window", "whole_old", "whole_new", "median_old",
                            "median_new", "max_old", "max_new", "n_planted", "iou_old", "iou_new", "families",
                            "minor", "main_named"],
                     ["data", "attribution", "patterns", "window (bp)", "whole window, report rule",
                      "whole window, trim_bounds", "median width, report rule", "median width, trim_bounds",
                      "max width, report rule", "max width, trim_bounds", "patterns on a planted motif",
                      "overlap with planted span, report rule", "overlap, trim_bounds", "families",
                      "minor families", "main families named (trimmed width)"]))
    ctl = shuffled_control(db)
    sec.add(f"Family criterion control: of {ctl['pairs']} random pairs of JASPAR cores, {ctl['real']:.1%} align at "
            f"cosine >= {modisco.FAMILY_SIMILARITY} (paralogues among them); with the second core's columns "
            f"shuffled, {ctl['shuffled']:.1%}. The second criterion (the sites' PPMs over the union of the cores, "
            f"r >= {modisco.FAMILY_PPM_R}) applies on top.")
    sec.data.update({"rows": rows, "family_control": ctl})
    print(sec.write())


if __name__ == "__main__":
    main()
