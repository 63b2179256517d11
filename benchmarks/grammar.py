"""How motifs combine (``interpret.evidence.grammar``): its cost beside the DeepSHAP stage.

    .venv/bin/python benchmarks/grammar.py            # the demo and 100,000 x 200 bp
    .venv/bin/python benchmarks/grammar.py --quick    # tiny sizes, to check the script

Two data sets, each with its planted instances standing in for ``hits.tsv`` (the grammar reads
hits; calling them is the instances stage's cost, measured with it):

(a) ``demo``: the package's demo (:func:`interpret.simulate.example`, 4,000 x 101 bp, the seed's
    ``Conv2D(128, (1, 24))`` model trained 20 epochs), its 1,996 positives explained; one planted
    motif per positive, so no pair of families shares a sequence.
(b) ``composite``: :func:`interpret.simulate.composite_like` at 100,000 x 200 bp (GATA1 and
    TAL1::TCF3 at a fixed spacing in the positives, each alone or at other spacings in the
    negatives, CTCF alone), the positives explained, ``simulate.pooled_model`` (the deeper CNN
    of the issue's case; untrained: the cost of a forward pass does not depend on the weights).

In each, in this process after a warm-up call, wall and CPU time (best of 2) of:

* **DeepSHAP** as the attribution stage runs it (20 dinucleotide-shuffled references, batch 128);
  on more than ``--deepshap-max`` explained sequences, on a seeded sample of that many and scaled
  to all of them (DeepSHAP's cost is linear in the sequences; the sample is stated);
* **grammar** as the run calls it (:func:`interpret.evidence.grammar.grammar`: the spacing
  enrichment of every pair of families, then the in-silico test of what it selects) into the
  screen's 100 backgrounds;
* **spacing** alone (:func:`~interpret.evidence.grammar.spacing_enrichment`);
* **in silico, at the cap**: the interaction of ``MAX_PAIRS x (PER_PAIR + 1)`` = 80 arrangements
  (the most a run tests from the hits, controls included), whatever the hits select.

Writes ``benchmarks/results/grammar.md`` (and ``.json``); nothing in it is typed by hand.
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

from _common import Section, md_table  # noqa: E402


def timed(fn, repeats: int = 2) -> tuple[float, float]:
    """Best wall and CPU seconds of ``repeats`` calls."""
    best = (np.inf, np.inf)
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        best = (min(best[0], time.perf_counter() - t), min(best[1], time.process_time() - c))
    return best


def planted_hits(sim, ids: list, ppms: dict, rows: np.ndarray) -> list:
    """The planted instances of ``sim`` in ``rows`` as hits: ``seq_index, start, end, strand, motif``."""
    out = [(i, s, s + len(ppms[m]), 1 if st == "+" else -1, ids.index(m))
           for i in rows for m, s, st in sim.sites[i] if m in ids]
    return list(np.array(out, dtype=np.int64).reshape(-1, 5).T)


def measure(name: str, what: str, model, sim, ids: list, deepshap_max: int, seed: int = 0) -> dict:
    from interpret import simulate
    from interpret.attribution import methods
    from interpret.evidence import edits, grammar

    ppms = simulate.jaspar_ppms(ids)
    rows = np.flatnonzero(sim.y > 0.5)
    x = sim.x[rows]
    hits = planted_hits(sim, ids, ppms, rows)
    names, plist = list(ids), [ppms[m] for m in ids]
    bg = edits.backgrounds(x, 100, seed=seed)
    sample = x if len(x) <= deepshap_max else x[np.sort(np.random.default_rng(seed).choice(len(x), deepshap_max,
                                                                                        replace=False))]
    shap = methods.DeepShap(model, batch_size=128)
    shap.attribute(x[:64], n_references=20, seed=seed)                                  # warm-up: tracing
    deep = timed(lambda: shap.attribute(sample, n_references=20, seed=seed), repeats=1 if len(sample) > 5000 else 2)
    scale = len(x) / len(sample)
    # the cap: every pair of families at the favoured spacings the cap allows, as far as the sequences take them
    length = x.shape[1]
    cap = []
    for k in range(grammar.MAX_PAIRS * (grammar.PER_PAIR + 1)):
        a, b = plist[k % len(plist)], plist[(k + 1) % len(plist)]
        cap.append(grammar.Arrangement(ids[k % len(ids)], ids[(k + 1) % len(ids)], "a", "b", a, b, 1,
                                       2 * (len(a) + 2 + k % 30) + len(b) - len(a), "enriched"))
    grammar.interactions(model, bg[:4], cap[:2], seed=seed, batch_size=1024)          # warm-up
    res = {}
    res["grammar"] = timed(lambda: res.setdefault("result", grammar.grammar(
        model, bg, *hits, ids, names, plist, seed=seed, batch_size=1024)))
    res["spacing"] = timed(lambda: grammar.spacing_enrichment(*hits, len(ids), length))
    res["cap"] = timed(lambda: grammar.interactions(model, bg, cap, seed=seed, batch_size=1024))
    out = res["result"]
    return {"data": name, "what": what, "explained": len(x), "hits": len(hits[0]),
            "deepshap_on": len(sample), "deepshap_wall": deep[0] * scale, "deepshap_cpu": deep[1] * scale,
            "grammar_wall": res["grammar"][0], "grammar_cpu": res["grammar"][1],
            "spacing_wall": res["spacing"][0], "spacing_cpu": res["spacing"][1],
            "cap_wall": res["cap"][0], "cap_cpu": res["cap"][1],
            "pairs_tested": len(out.spacings.pairs), "arrangements": len(out.arrangements),
            "grammar_share": res["grammar"][0] / (deep[0] * scale), "cap_share": res["cap"][0] / (deep[0] * scale)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check the script")
    ap.add_argument("--n", type=int, default=100_000, help="sequences of the composite data (100,000)")
    ap.add_argument("--deepshap-max", type=int, default=10_000,
                    help="explained sequences DeepSHAP is timed on, scaled to all of them above (10,000)")
    args = ap.parse_args(argv)
    from interpret import simulate
    from interpret.model import Model

    quick = args.quick
    sec = Section("grammar_quick" if quick else "grammar", "How motifs combine: cost beside DeepSHAP")
    rows = []
    # (a) the demo
    sim = simulate.example(n=400 if quick else 4000, seed=0)
    km = simulate.seed_model(filters=128, width=24, layout="1L4", seed=0)
    simulate.train(km, sim.x, sim.y, epochs=1 if quick else 20, seed=0)
    rows.append(measure("demo", "4,000 x 101 bp, seed model (128 filters)" if not quick else "400 x 101 bp",
                        Model.from_keras(km), sim, simulate.EXAMPLE_MOTIFS, args.deepshap_max))
    # (b) 100,000 x 200 bp
    n = 2000 if quick else args.n
    sim = simulate.composite_like(n=n, length=200, seed=0)
    model = Model.from_keras(simulate.pooled_model(200, 1, seed=0))
    rows.append(measure("composite", f"{n:,} x 200 bp, pooled CNN", model, sim,
                        [*simulate.COMPOSITE_PARTS, simulate.COMPOSITE_ALONE],
                        min(args.deepshap_max, 200) if quick else args.deepshap_max))
    sec.add("Planted instances stand in for the hits; 100 backgrounds; DeepSHAP with 20 references. "
            "Times in seconds, best of 2 in one process after a warm-up (DeepSHAP, where it was timed on fewer "
            "sequences than were explained: once, on a seeded sample, scaled to all). "
            "*grammar*: as a run calls it; *spacing*: the enrichment alone; *cap*: the in-silico test of "
            "80 arrangements, the most a run tests from the hits.")
    sec.add(md_table(rows, ["data", "what", "explained", "hits", "deepshap_on", "deepshap_wall", "deepshap_cpu",
                            "grammar_wall", "grammar_cpu", "grammar_share", "spacing_wall", "cap_wall", "cap_cpu",
                            "cap_share", "pairs_tested", "arrangements"],
                     ["data", "what", "explained", "hits", "DeepSHAP timed on", "DeepSHAP wall", "DeepSHAP CPU",
                      "grammar wall", "grammar CPU", "grammar / DeepSHAP", "spacing wall", "cap wall", "cap CPU",
                      "cap / DeepSHAP", "pairs of families tested", "arrangements tested"]))
    sec.data["rows"] = rows
    print(sec.write())


if __name__ == "__main__":
    main()
