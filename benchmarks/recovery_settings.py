"""Which planted motifs does TF-MoDISco recover on 101-bp inputs, by settings? (docs/motifs.md)

    .venv/bin/python benchmarks/recovery_settings.py [--model trained|handset] [--attr gxi|deepshap]

Data: ``simulate.example(n=2000, seed=1)`` (CREB1 8 bp, CEBPB 10 bp, CTCF 15 bp predictive; FOXA2
decoy); the positives are explained. docs/motifs.md's tables were measured when the example planted
GATA1 (7 bp) where it now plants CREB1, so a rerun gives CREB1 rows in their place. Models: ``trained`` is the ``example_model`` test fixture
(seed architecture, 32 filters, 8 epochs); ``handset`` is the same architecture with six filters set
by hand to the log-odds PWMs of the three predictive motifs (both strands), so the model provably
uses all three. For each settings row: seqlets extracted, patterns, the best JASPAR match of each
pattern (TOMTOM q), and the fraction of seqlets that sit on a planted instance.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from interpret import simulate
from interpret.io import load_motif_db
from interpret.model import Model
from interpret.motifs import modisco


def handset_model(length=101, width=24):
    """Seed architecture; filters = log-odds PWMs of the three predictive motifs on both strands."""
    return simulate.pwm_model(simulate.EXAMPLE_MOTIFS, length, width)


def gradxinput(model, x):
    import tensorflow as tf

    xt = tf.constant(x)
    with tf.GradientTape() as t:
        t.watch(xt)
        out = model.forward(xt)[:, 0]
    g = t.gradient(out, xt).numpy()
    return g - g.mean(axis=2, keepdims=True)


def match(ppms, db):
    """(best JASPAR id, q) of each PPM via compare.match_to_db; q is 1.0 when the guard rejects it."""
    from interpret.motifs import compare

    return [(m.id, m.q if m.significant else 1.0) for m in compare.match_to_db(ppms, db)]


def on_site(result, sim, widths):
    hits = tot = 0
    for p in result.patterns:
        for s in p.seqlets:
            tot += 1
            hits += any(s.start < st + widths[m] and st < s.end for m, st, _ in sim.sites[s.seq_index])
    return hits / max(tot, 1)


SETTINGS = {
    "modisco defaults (w21 f10 fdr0.2)": modisco.ModiscoSettings(),
    "reported (w21 f10 fdr0.05)": modisco.ModiscoSettings(target_seqlet_fdr=0.05),
    "auto": None,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="trained", choices=["trained", "handset"])
    ap.add_argument("--attr", default="gxi", choices=["gxi", "deepshap"])
    ap.add_argument("--extra", default="{}", help="JSON {name: {overrides of auto}}")
    a = ap.parse_args()
    sim = simulate.example(n=2000, seed=1)
    if a.model == "trained":
        km = simulate.seed_model(filters=32, width=24, layout="1L4", seed=0)
        simulate.train(km, sim.x, sim.y, epochs=8, seed=0)
        model = Model.from_keras(km)
    else:
        model = handset_model()
    pos = np.flatnonzero(sim.y > 0.5)
    x = sim.x[pos]
    if a.attr == "gxi":
        hyp = gradxinput(model, x)
    else:
        from interpret.attribution.methods import DeepShap
        hyp = DeepShap(model, target=0).attribute(x, n_references=20, seed=0).hypothetical
    db = load_motif_db()
    names = {m.id: m.name for m in db}
    widths = {k: len(v) for k, v in simulate.jaspar_ppms(simulate.EXAMPLE_MOTIFS + [simulate.EXAMPLE_DECOY]).items()}
    runs = dict(SETTINGS)
    runs.update({k: v for k, v in json.loads(a.extra).items()})
    for name, s in runs.items():
        t = time.time()
        res = modisco.discover(x, hyp, pos, method=a.attr, settings=s)
        dt = time.time() - t
        ms = match([p.ppm for p in res.patterns], db) if res.patterns else []
        found = sorted({m for (m, q) in ms if q is not None and q < 0.05 and m in widths})
        print(f"## {name}: {res.n_seqlets['pos']} pos / {res.n_seqlets['neg']} neg seqlets, "
              f"{len(res.patterns)} patterns, {dt:.0f}s, seqlets on a planted site {on_site(res, sim, widths):.2f}")
        for p, (m, q) in zip(res.patterns, ms):
            print(f"   {p.id:14s} n={p.n_seqlets:4d} w={len(p.ppm):2d} best {m} {names.get(m, '')} q={q:.2g}")
        print("   planted found (q<0.05):", [f"{m} {names[m]}" for m in found], flush=True)


if __name__ == "__main__":
    main()
