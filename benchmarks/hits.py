"""Motif instances: agreement with Fi-NeMo on the same contributions and CWMs, CPU time, and the cost
of hit calling beside the DeepSHAP stage.

    benchmarks/.venv-bench/bin/python benchmarks/hits.py            # the full section
    benchmarks/.venv-bench/bin/python benchmarks/hits.py --quick    # tiny sizes, checks the script

Runs in ``benchmarks/.venv-bench`` (``make bench-env``): Fi-NeMo (``finemo`` 0.41) needs torch
(2.13.0, CPU). Nothing of Fi-NeMo enters the package.

(a) **Agreement and CPU time against Fi-NeMo** (``finemo.hitcaller.fit_contribs``, its default
settings: lambda 0.7, projected contributions and CWMs, post-filter on similarity; on the CPU).
Both tools get the same contributions and the same CWMs (each family's trimmed CWM; Fi-NeMo
takes every motif at one width, so the CWMs are zero-padded to the widest with a trim mask, and
both strands are given to it as motifs, as its ``load_modisco_motifs`` does):

* ``planted``: ``simulate.instances_like`` (200 bp, CTCF, MAFK and TP53 planted position by
  position, at both ends too), the hand-set sum-pooled PWM model of ``tests/test_hits.py``,
  DeepSHAP (20 references), CWMs pooled over the planted full instances; both tools are also
  scored against the planted instances the model responds to.
* ``demo``: the demo's data and model (``simulate.example(4000, seed=0)``, the seed's 128-filter
  model trained 20 epochs, as ``make demo``), DeepSHAP on the positives, the families TF-MoDISco
  finds there (``interpret.motifs``).

Agreement: a hit of one tool is found by the other when the other has a hit of the same family
and strand in the same sequence starting within 3 bp (both tools' starts are of the trimmed
CWM); the share of each tool's hits the other finds. CPU: process CPU seconds (all threads) and
wall seconds of the call, after a warm-up call on a few sequences (numba, torch).

(b) **Cost beside DeepSHAP**: hit calling (``motifs.hits.call_sharded`` on every explained
sequence, the families of the run) against the attribution stage's computation (gradient x input
then DeepSHAP with 20 references, as ``interpret run`` does by default), on the demo and on
100,000 x 200 bp ``peaks_like`` windows explained by ``simulate.pooled_model`` trained on 4,000 of
them (families from TF-MoDISco on 2,000 of the explained sequences).

Writes ``benchmarks/results/hits.md`` (``hits_quick.md`` with ``--quick``) and ``.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from _common import Section, md_table, versions  # noqa: E402

MATCH_BP = 3


def timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def ours(x, contrib, cwms):
    from interpret.motifs import hits

    motifs = hits.prepare(cwms)
    scale = hits.contribution_scale([contrib])
    hits.fit_batch(x[:8], contrib[:8], motifs, scale)                      # warm-up: numba
    h, wall, cpu = timed(lambda: hits.call_sharded(
        -(-len(x) // 2048), lambda k: (np.arange(len(x))[k * 2048:(k + 1) * 2048], x[k * 2048:(k + 1) * 2048],
                                       contrib[k * 2048:(k + 1) * 2048]), motifs, scale))
    return {"seq": h["seq_index"], "start": h["start"], "motif": h["motif"], "strand": h["strand"],
            "similarity": h["similarity"]}, wall, cpu


def finemo(x, contrib, cwms):
    """Fi-NeMo's hit caller on the same arrays: both strands as motifs, one padded width."""
    import torch
    from finemo import hitcaller

    width = max(len(c) for c in cwms)
    mats, masks, info = [], [], []
    for m, c in enumerate(cwms):
        c = np.asarray(c, np.float64)
        c = c / np.linalg.norm(c)
        for strand, cc in ((1, c), (-1, c[::-1, ::-1])):
            pad = np.zeros((width, 4))
            mask = np.zeros(width)
            pad[:len(cc)], mask[:len(cc)] = cc, 1
            mats.append(pad.T)
            masks.append(mask)
            info.append((m, strand))
    cwm_arr = np.asarray(mats, np.float32)
    mask_arr = np.asarray(masks, np.float32)
    seqs = np.ascontiguousarray(np.transpose(x, (0, 2, 1))).astype(np.int8)
    contribs = np.ascontiguousarray(np.transpose(contrib, (0, 2, 1))).astype(np.float32)
    lambdas = np.full(len(mats), 0.7, np.float32)
    kw = dict(use_hypothetical=False, lambdas=lambdas, device=torch.device("cpu"), batch_size=2000)
    hitcaller.fit_contribs(cwm_arr, contribs[:8], seqs[:8], mask_arr, **kw)            # warm-up
    (df, _), wall, cpu = timed(lambda: hitcaller.fit_contribs(cwm_arr, contribs, seqs, mask_arr, **kw))
    motif_id = df["motif_id"].to_numpy().astype(int)
    fam = np.array([info[i][0] for i in motif_id], dtype=int)
    strand = np.array([info[i][1] for i in motif_id], dtype=int)
    return {"seq": df["peak_id"].to_numpy().astype(int), "start": df["hit_start"].to_numpy().astype(int),
            "motif": fam, "strand": strand, "similarity": df["hit_similarity"].to_numpy()}, wall, cpu


def found_by(a: dict, b: dict) -> np.ndarray:
    """Whether each hit of ``a`` has a hit of ``b`` of the same family and strand in its sequence
    starting within :data:`MATCH_BP`."""
    index: dict = {}
    for s, m, st, start in zip(b["seq"], b["motif"], b["strand"], b["start"]):
        index.setdefault((int(s), int(m), int(st)), []).append(int(start))
    return np.array([any(abs(int(start) - o) <= MATCH_BP for o in index.get((int(s), int(m), int(st)), ()))
                     for s, m, st, start in zip(a["seq"], a["motif"], a["strand"], a["start"])], bool)


def planted_scores(h: dict, sim, seen, ids) -> dict:
    t = sim.instances
    by: dict = {}
    for j, i in enumerate(t["seq_index"]):
        by.setdefault(int(i), []).append(j)
    true = np.zeros(len(h["start"]), bool)
    found = np.zeros(len(t["start"]), bool)
    for n, (i, m, a) in enumerate(zip(h["seq"], h["motif"], h["start"])):
        for j in by.get(int(i), []):
            if t["motif"][j] == ids[m] and abs(int(a) - int(t["start"][j])) <= MATCH_BP:
                true[n] = found[j] = True
    full = t["kind"] == "full"
    ends = full & ((t["start"] <= 3) | (t["end"] >= t["end"].max() - 3))
    return {"precision": float(true.mean()) if len(true) else None,
            "recall": float(found[full & seen].mean()), "recall_ends": float(found[ends & seen].mean())}


def agreement(sec: Section, quick: bool) -> None:
    from interpret import simulate
    from interpret.attribution.methods import DeepShap

    rows, raw = [], {}
    n = 300 if quick else 4000
    sim = simulate.instances_like(n=n, length=200, seed=0)
    ids = simulate.INSTANCE_MOTIFS
    model = simulate.pwm_model(ids, length=200, width=24, pool="sum", threshold=0.6)
    contrib = DeepShap(model).attribute(sim.x, n_references=20, seed=0).contrib
    t = sim.instances
    cwms = []
    for mid in ids:
        sel = np.flatnonzero((t["motif"] == mid) & (t["kind"] == "full"))
        segs = [contrib[t["seq_index"][j], t["start"][j]:t["end"][j]] for j in sel]
        cwms.append(np.mean([s[::-1, ::-1] if t["strand"][j] == "-" else s for s, j in zip(segs, sel)], axis=0))
    seen = simulate.pwm_fires(model, sim, ids)
    sets = [("planted", sim.x, contrib, cwms, (sim, seen, ids))]
    # demo
    sim_d = simulate.example(n=1000 if quick else 4000, seed=0)
    km = simulate.seed_model(filters=128, width=24, layout="1L4", seed=0)
    simulate.train(km, sim_d.x, sim_d.y, epochs=3 if quick else 20, seed=0)
    from interpret.model import Model

    demo_model = Model.from_keras(km)
    x = sim_d.x[sim_d.y > 0.5]
    res = DeepShap(demo_model).attribute(x, n_references=20, seed=0)
    fams = _families(x, res.hypothetical)
    sets.append(("demo", x, res.contrib, [f.cwm for f in fams], None))
    raw["demo_families"] = [f.id for f in fams]
    for name, xs, cs, cw, truth in sets:
        a, a_wall, a_cpu = ours(xs, cs, cw)
        b, b_wall, b_cpu = finemo(xs, cs, cw)
        fa, fb = found_by(a, b), found_by(b, a)
        row = {"data": name, "seqs": len(xs), "families": len(cw), "ours": len(a["start"]), "finemo": len(b["start"]),
               "ours_found": float(fa.mean()) if len(fa) else None,
               "finemo_found": float(fb.mean()) if len(fb) else None,
               "ours_cpu": a_cpu, "finemo_cpu": b_cpu, "ours_wall": a_wall, "finemo_wall": b_wall}
        if truth is not None:
            for tool, h in (("ours", a), ("finemo", b)):
                for k, v in planted_scores(h, *truth).items():
                    row[f"{tool}_{k}"] = v
        rows.append(row)
    sec.add("### (a) Hits against Fi-NeMo on the same contributions and CWMs\n\n"
            f"Found: the share of one tool's hits that the other also calls (same sequence, family and strand, "
            f"start within {MATCH_BP} bp). CPU: process seconds, all threads; wall seconds. "
            "Fi-NeMo 0.41 on the CPU (torch 2.13.0), its defaults.")
    sec.add(md_table(rows, ["data", "seqs", "families", "ours", "finemo", "ours_found", "finemo_found", "ours_cpu",
                            "finemo_cpu", "ours_wall", "finemo_wall"],
                     ["data", "sequences", "families", "hits (interpret)", "hits (Fi-NeMo)",
                      "interpret's found by Fi-NeMo", "Fi-NeMo's found by interpret", "CPU s (interpret)",
                      "CPU s (Fi-NeMo)", "wall s (interpret)", "wall s (Fi-NeMo)"]))
    planted = [r for r in rows if "ours_precision" in r]
    if planted:
        sec.add("Against the planted instances (`planted` only; recall of the full instances the model responds "
                "to, and of those within 3 bp of an end; precision: hits on a planted instance of their motif):")
        sec.add(md_table(planted, ["data", "ours_precision", "finemo_precision", "ours_recall", "finemo_recall",
                                   "ours_recall_ends", "finemo_recall_ends"],
                         ["data", "precision (interpret)", "precision (Fi-NeMo)", "recall (interpret)",
                          "recall (Fi-NeMo)", "recall at the ends (interpret)", "recall at the ends (Fi-NeMo)"]))
    raw["agreement"] = rows
    sec.data.update(raw)


def _families(x, hyp, max_seqs=None):
    from interpret.motifs import modisco

    rows = None if max_seqs is None or len(x) <= max_seqs else np.arange(max_seqs)
    xs, hs = (x, hyp) if rows is None else (x[rows], hyp[rows])
    res = modisco.discover(xs, hs, np.arange(len(xs)), method="deepshap", seed=0)
    return modisco.group_families(res.patterns, xs, hs, np.arange(len(xs)))


def cost(sec: Section, quick: bool) -> None:
    from interpret import simulate
    from interpret.attribution import methods
    from interpret.model import Model
    from interpret.motifs import hits

    rows = []
    for name in ("demo", "100k"):
        if name == "demo":
            sim = simulate.example(n=1000 if quick else 4000, seed=0)
            km = simulate.seed_model(filters=128, width=24, layout="1L4", seed=0)
            simulate.train(km, sim.x, sim.y, epochs=3 if quick else 20, seed=0)
            x = sim.x[sim.y > 0.5]
        else:
            train = simulate.peaks_like(n=4000, length=200, seed=0)
            km = simulate.pooled_model(200, 1, seed=0)
            simulate.train(km, train.x, train.y, epochs=2 if quick else 30, seed=0)
            x = simulate.peaks_like(n=2000 if quick else 100_000, length=200, seed=1).x
        model = Model.from_keras(km)
        gx, ds = methods.GradientXInput(model, batch_size=128), methods.DeepShap(model, batch_size=128)
        ds.attribute(x[:64], n_references=20, seed=0)                                 # warm-up: tracing
        _, g_wall, g_cpu = timed(lambda: gx.attribute(x))
        res, d_wall, d_cpu = timed(lambda: ds.attribute(x, n_references=20, seed=0))
        fams = _families(x, res.hypothetical, max_seqs=2000)
        motifs = hits.prepare([f.cwm for f in fams])
        scale = hits.contribution_scale([res.contrib])
        hits.fit_batch(x[:8], res.contrib[:8], motifs, scale)                         # warm-up: numba
        h, h_wall, h_cpu = timed(lambda: hits.call_sharded(
            -(-len(x) // 2048), lambda k: (np.arange(len(x))[k * 2048:(k + 1) * 2048], x[k * 2048:(k + 1) * 2048],
                                           res.contrib[k * 2048:(k + 1) * 2048]), motifs, scale))
        rows.append({"data": name, "seqs": len(x), "length": x.shape[1], "families": len(fams),
                     "hits": len(h["start"]), "attr_wall": g_wall + d_wall, "attr_cpu": g_cpu + d_cpu,
                     "hits_wall": h_wall, "hits_cpu": h_cpu, "ratio_cpu": h_cpu / (g_cpu + d_cpu)})
    sec.add("### (b) Hit calling beside the attribution stage\n\n"
            "Attributions: gradient x input then DeepSHAP (20 references), as `interpret run` computes them; "
            "hits: every explained sequence, the families TF-MoDISco finds in (at most 2,000 of) them.")
    sec.add(md_table(rows, ["data", "seqs", "length", "families", "hits", "attr_wall", "attr_cpu", "hits_wall",
                            "hits_cpu", "ratio_cpu"],
                     ["data", "sequences", "bp", "families", "hits", "attributions wall s", "attributions CPU s",
                      "hits wall s", "hits CPU s", "hits / attributions (CPU)"]))
    sec.data["cost"] = rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="tiny sizes, to check the script")
    args = p.parse_args()
    sec = Section("hits_quick" if args.quick else "hits", "Motif instances: Fi-NeMo agreement and cost")
    sec.data["versions"] = versions(["finemo", "torch", "tensorflow-cpu", "numpy", "numba"])
    agreement(sec, args.quick)
    cost(sec, args.quick)
    print(sec.write().read_text())


if __name__ == "__main__":
    main()
