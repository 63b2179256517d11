"""The known-motif screen: what it costs against the attribution stage, and what its control removes.

    .venv/bin/python benchmarks/screen.py

(a) **Cost**, on the demo's data and model (``make demo``: ``simulate.example(4000, seed=0)``, the
seed's ``Conv2D(128, (1, 24))`` model trained 20 epochs): in one process, alternating, after a
warm-up, best of 3: the attribution stage's computation as ``interpret run`` does it by default
(gradient x input, then DeepSHAP with 20 dinucleotide-shuffled references, on the 1,996 positives;
writing ``attributions.h5`` not included) and the screen (100 backgrounds, all 1,019 bundled
JASPAR motifs). Wall and process CPU time; the ratio is the budget (the screen may cost no more
than the attribution stage).

(b) **The control**, on two models with planted truth, trained as ``tests/conftest.py`` trains
them: the example model (32 filters; CREB1, CEBPB, CTCF predictive, FOXA2 a decoy in both
classes) and the pooled CNN on ``simulate.peaks_like`` (TP53 co-factor, weak and half MAFK sites,
GC-rich stretches, Pou5f1::Sox2 in both classes). For chosen motifs, the screen's effect (against
a random sequence of the same GC content) beside the same insertions against the bare background
(``raw_delta``), and how many JASPAR motifs pass the rule of ``interpret.stats`` each way.

Writes ``benchmarks/results/screen.md`` (and ``.json``); nothing in it is typed by hand.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from _common import Section, md_table, versions  # noqa: E402

SHOWN = {"example": ["MA0466.4", "MA0139.2", "MA0018.5", "MA0047.4"],
         "peaks": ["MA0106.3", "MA0496.4", "MA0142.1", "MA0079.5", "MA2546.1"]}


def timed(fn) -> tuple[float, float]:
    t, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - c


def cost(sec: Section) -> None:
    from interpret import io, simulate
    from interpret.attribution import methods
    from interpret.evidence import edits, screen
    from interpret.model import Model

    sim = simulate.example(n=4000, seed=0)
    km = simulate.seed_model(filters=128, width=24, layout="1L4", seed=0)
    t = time.perf_counter()
    simulate.train(km, sim.x, sim.y, epochs=20, seed=0)
    train_s = time.perf_counter() - t
    model = Model.from_keras(km)
    x = sim.x[sim.y > 0.5]
    db = io.load_motif_db()

    def attributions():
        methods.GradientXInput(model, batch_size=128).attribute(x)
        methods.DeepShap(model, batch_size=128).attribute(x, n_references=20, seed=0)

    def run_screen():
        screen.screen(model, edits.backgrounds(x, 100, seed=0), db, seed=0, batch_size=8 * 128)

    methods.DeepShap(model, batch_size=128).attribute(x[:64], n_references=20, seed=0)   # warm-up: tracing
    screen.screen(model, edits.backgrounds(x, 4, seed=0), db[:3], seed=0, batch_size=8 * 128)
    times = {"attributions": [], "screen": []}
    for _ in range(3):
        times["attributions"].append(timed(attributions))
        times["screen"].append(timed(run_screen))
    rows = []
    for name, what in (("attributions", "gradient x input + DeepSHAP (20 references)"),
                       ("screen", "100 backgrounds x 1,019 JASPAR motifs")):
        wall = min(w for w, _ in times[name])
        cpu = min(c for _, c in times[name])
        rows.append({"stage": name, "what": what, "wall": wall, "cpu": cpu})
    rows.append({"stage": "screen / attributions", "what": "ratio", "wall": rows[1]["wall"] / rows[0]["wall"],
                 "cpu": rows[1]["cpu"] / rows[0]["cpu"]})
    sec.add(f"### (a) Cost on the demo\n\n{len(x):,} explained sequences (the positives of "
            f"`simulate.example(4000, seed=0)`), the seed's 128-filter model trained 20 epochs in {train_s:.0f} s; "
            "best of 3, alternating, in one process.")
    sec.add(md_table(rows, ["stage", "what", "wall", "cpu"], ["stage", "work", "wall s", "CPU s"]))
    sec.data["cost"] = {"rows": rows, "times": times, "train_seconds": train_s}


def control(sec: Section) -> None:
    from interpret import io, simulate, stats
    from interpret.evidence import edits, screen
    from interpret.model import Model

    db = io.load_motif_db()
    names = {m.id: m.name for m in db}
    rows, counts = [], []
    for which in ("example", "peaks"):
        if which == "example":
            sim = simulate.example(n=4000, seed=1)
            km = simulate.seed_model(filters=32, width=24, layout="1L4", seed=0)
            simulate.train(km, sim.x, sim.y, epochs=20, seed=0)
        else:
            sim = simulate.peaks_like(n=4000, length=200, seed=1)
            km = simulate.pooled_model(200, 1, seed=0)
            simulate.train(km, sim.x, sim.y, epochs=30, seed=0)
        model = Model.from_keras(km)
        res = screen.screen(model, edits.backgrounds(sim.x[sim.y > 0.5], 100, seed=0), db, seed=0)
        raw = stats.paired_effects(res.insertion.with_instance - res.insertion.base)
        raw_q = stats.bh(raw.p)
        raw_responds = stats.responds(raw_q, raw.mean)
        order = {i: k + 1 for k, i in enumerate(np.array(res.ids)[res.order()])}
        for mid in SHOWN[which]:
            i = res.ids.index(mid)
            rows.append({"model": which, "motif": f"{names[mid]} ({mid})", "role": _role(which, mid),
                         "effect": f"{res.insertion.effects.mean[i]:.2f} ± {res.insertion.effects.se[i]:.2f}",
                         "q": res.q[i], "responds": bool(res.significant[i]), "rank": order[mid],
                         "raw": f"{raw.mean[i]:.2f} ± {raw.se[i]:.2f}", "raw_q": raw_q[i],
                         "raw_responds": bool(raw_responds[i])})
        mean = res.insertion.effects.mean
        raw_top = np.lexsort((np.arange(len(raw.mean)), -raw.mean))[:8]
        counts.append({"model": which, "up": int((res.significant & (mean > 0)).sum()),
                       "down": int((res.significant & (mean < 0)).sum()),
                       "raw_up": int((raw_responds & (raw.mean > 0)).sum()),
                       "raw_down": int((raw_responds & (raw.mean < 0)).sum()),
                       "top": ", ".join(f"{r['name']} {r['mean_delta']:.2f}" for r in res.rows()[:8]),
                       "raw_top": ", ".join(f"{names[res.ids[i]]} {raw.mean[i]:.2f}" for i in raw_top)})
    sec.add("### (b) What the GC-matched control removes\n\n"
            "Effect: the screen's (against a random sequence of the same GC content at the same place); "
            "raw: the same instances against the bare background. Mean ± SE over 100 backgrounds, "
            "Benjamini–Hochberg q over the 1,019 motifs; *responds*: q < 0.05 and |effect| ≥ 0.2 "
            "(`interpret.stats.responds`); rank: by the screen's effect.")
    sec.add(md_table(rows, ["model", "motif", "role", "effect", "q", "responds", "rank", "raw", "raw_q",
                            "raw_responds"],
                     ["model", "motif", "planted as", "effect", "q", "responds", "rank", "raw", "raw q",
                      "raw responds"]))
    sec.add("JASPAR motifs the model responds to, by sign, and the eight strongest of each ranking:")
    sec.add(md_table(counts, ["model", "up", "down", "raw_up", "raw_down"],
                     ["model", "raise (effect)", "lower (effect)", "raise (raw)", "lower (raw)"]))
    sec.add(md_table(counts, ["model", "top", "raw_top"], ["model", "strongest by effect", "strongest by raw"]))
    sec.data["control"] = {"rows": rows, "counts": counts}


def _role(which: str, mid: str) -> str:
    from interpret import simulate

    if which == "example":
        return "decoy (both classes)" if mid == simulate.EXAMPLE_DECOY else "predictive"
    return {simulate.PEAKS_MOTIF: "the factor (weak, half sites)", simulate.PEAKS_COFACTOR: "co-factor",
            simulate.PEAKS_IGNORED: "both classes"}.get(mid, "not planted (GC-rich)")


def main() -> None:
    sec = Section("screen", "Known-motif screen: cost and control")
    sec.data["versions"] = versions(["tensorflow-cpu", "keras", "numpy"])
    cost(sec)
    control(sec)
    path = sec.write()
    print(path.read_text())


if __name__ == "__main__":
    main()
