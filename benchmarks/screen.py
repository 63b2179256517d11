"""The known-motif screen: what it costs against the attribution stage, what its control removes,
and what stopping early saves.

    .venv/bin/python benchmarks/screen.py                        # (a), (b), (c)
    .venv/bin/python benchmarks/screen.py --only sequential      # (c) alone: results/try_screen_sequential.md
    .venv/bin/python benchmarks/screen.py --only sequential --quick  # small sizes, to check the script

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

(c) **The sequential screen** (the default) against the full screen (``--no-screen-sequential``),
on the same backgrounds: whether each motif responds, and with which sign, by both (agreement,
and every disagreement listed with its effects both ways); the forward passes each ran; and the
process CPU seconds of each, measured once under whatever load the machine had (the load average
is in the section's header). Four models: the demo's, the peaks-like one of (b), a multi-output
model (the matrix of ``--target all``, every (motif, output) cell a decision) and the 1,000-bp
model of ``benchmarks/e2e.py`` (150 positives explained, as in issue #28's measure).

Writes ``benchmarks/results/screen.md`` (and ``.json``); nothing in it is typed by hand.
"""

from __future__ import annotations

import argparse
import functools
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


@functools.cache
def demo(quick: bool = False) -> tuple:
    """The demo's data and model (``examples/make_example.py``): ``(model, positives, training seconds)``;
    ``quick``: 600 sequences, 1 epoch (this and the other models)."""
    from interpret import simulate
    from interpret.model import Model

    sim = simulate.example(n=600 if quick else 4000, seed=0)
    km = simulate.seed_model(filters=128, width=24, layout="1L4", seed=0)
    t = time.perf_counter()
    simulate.train(km, sim.x, sim.y, epochs=1 if quick else 20, seed=0)
    return Model.from_keras(km), sim.x[sim.y > 0.5], time.perf_counter() - t


@functools.cache
def peaks(quick: bool = False) -> tuple:
    """``simulate.peaks_like`` and the pooled CNN trained on it, as ``tests/conftest.py``: ``(model, positives)``."""
    from interpret import simulate
    from interpret.model import Model

    sim = simulate.peaks_like(n=600 if quick else 4000, length=200, seed=1)
    km = simulate.pooled_model(200, 1, seed=0)
    simulate.train(km, sim.x, sim.y, epochs=1 if quick else 30, seed=0)
    return Model.from_keras(km), sim.x[sim.y > 0.5]


def cost(sec: Section) -> None:
    from interpret import io
    from interpret.attribution import methods
    from interpret.evidence import edits, screen

    model, x, train_s = demo()
    db = io.load_motif_db()

    def attributions():
        methods.GradientXInput(model, batch_size=128).attribute(x)
        methods.DeepShap(model, batch_size=128).attribute(x, n_references=20, seed=0)

    def run_screen(sequential):
        return lambda: screen.screen(model, edits.backgrounds(x, 100, seed=0), db, seed=0, batch_size=8 * 128,
                                     sequential=sequential)

    methods.DeepShap(model, batch_size=128).attribute(x[:64], n_references=20, seed=0)   # warm-up: tracing
    screen.screen(model, edits.backgrounds(x, 4, seed=0), db[:3], seed=0, batch_size=8 * 128)
    work = {"attributions": attributions, "screen": run_screen(True), "screen (full)": run_screen(False)}
    times = {name: [] for name in work}
    for _ in range(3):
        for name, fn in work.items():
            times[name].append(timed(fn))
    rows = []
    for name, what in (("attributions", "gradient x input + DeepSHAP (20 references)"),
                       ("screen", "1,019 JASPAR motifs, sequential: 10 to 100 backgrounds each (the default)"),
                       ("screen (full)", "1,019 JASPAR motifs x 100 backgrounds (--no-screen-sequential)")):
        wall = min(w for w, _ in times[name])
        cpu = min(c for _, c in times[name])
        rows.append({"stage": name, "what": what, "wall": wall, "cpu": cpu})
    for k in (1, 2):
        rows.append({"stage": f"{rows[k]['stage']} / attributions", "what": "ratio",
                     "wall": rows[k]["wall"] / rows[0]["wall"], "cpu": rows[k]["cpu"] / rows[0]["cpu"]})
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
            model, x = Model.from_keras(km), sim.x[sim.y > 0.5]
        else:
            model, x = peaks()
        res = screen.screen(model, edits.backgrounds(x, 100, seed=0), db, seed=0, sequential=False)
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


@functools.cache
def multi_output(quick: bool = False) -> tuple:
    """Four outputs, one per planted motif (``simulate.planted(..., multitask=True)``: CREB1, CEBPB,
    CTCF and FOXA2, each sequence a random subset), the seed's architecture with 64 filters and four
    sigmoid outputs trained 15 epochs: ``(model, sequences positive for any output)``."""
    from interpret import simulate
    from interpret.model import Model

    ids = simulate.EXAMPLE_MOTIFS + [simulate.EXAMPLE_DECOY]
    sim = simulate.planted(simulate.jaspar_ppms(ids), n=600 if quick else 4000, multitask=True, seed=2)
    km = simulate.seed_model(filters=64, width=24, layout="1L4", n_outputs=len(ids), seed=0)
    simulate.train(km, sim.x, sim.y, epochs=1 if quick else 15, seed=0)
    return Model.from_keras(km), sim.x[sim.y.max(axis=1) > 0.5]


@functools.cache
def long_model(quick: bool = False) -> tuple:
    """``benchmarks/e2e.py``'s 1,000-bp model (the seed's architecture on planted CREB1, CEBPB, CTCF with
    a FOXA2 decoy, 6,000 sequences, 8 epochs) and 150 positives of other data: ``(model, positives)``."""
    from interpret import simulate
    from interpret.model import Model

    def data(n, seed):
        return simulate.planted(simulate.jaspar_ppms(simulate.EXAMPLE_MOTIFS), n=n, length=1000,
                                decoys=simulate.jaspar_ppms([simulate.EXAMPLE_DECOY]), seed=seed)

    sim = data(600 if quick else 6000, 0)
    km = simulate.seed_model(length=1000, filters=128, width=24, layout="1L4", seed=0)
    simulate.train(km, sim.x, sim.y, epochs=1 if quick else 8, seed=0)
    other = data(300, 1)
    return Model.from_keras(km), other.x[other.y > 0.5][:150]


def sequential(sec: Section, quick: bool = False) -> None:
    from interpret import io, stats
    from interpret.evidence import across, edits, screen

    db = io.load_motif_db()
    n_bg = 100
    if quick:
        db, n_bg = db[::40], 30
    names = {m.id: m.name for m in db}
    ppms = [m.ppm for m in db]
    cases = [("demo", "the demo's model (1 output)", demo), ("peaks", "peaks-like pooled CNN (1 output)", peaks),
             ("multi-output", "4-output seed-like model, every output (the matrix)", multi_output),
             ("1,000 bp", "e2e's 1,000-bp model, 150 positives (1 output)", long_model)]
    rows, disagreements, shown = [], [], []
    for key, label, build in cases:
        model, x = build(quick)[:2]
        bg = edits.backgrounds(x, n_bg, seed=0)
        res, cpu = {}, {}
        for seq in (False, True):
            t = time.process_time()
            if model.n_outputs > 1:         # --target all: the matrix, q per output
                ins = screen.insertion_matrix(model, bg, ppms, seed=0, batch_size=1024, sequential=seq)
                mat = across.screen_matrix(ins, [m.id for m in db], list(names.values()))
                res[seq] = (ins.effects, mat.q, mat.significant, ins.forward_passes)
            else:                            # interpret run's screen stage
                r = screen.screen(model, bg, db, seed=0, batch_size=1024, sequential=seq)
                e = r.insertion.effects
                res[seq] = (stats.Effects(*(a[:, None] for a in (e.mean, e.se, e.z, e.p, e.n))), r.q[:, None],
                            r.significant[:, None], r.insertion.forward_passes)
            cpu[seq] = time.process_time() - t
        (fe, fq, fsig, fpasses), (se_, sq, ssig, spasses) = res[False], res[True]
        agree = (fsig == ssig) & (~fsig | (np.sign(fe.mean) == np.sign(se_.mean)))
        n = se_.n[:, 0]
        decided_early = n < n_bg
        resp_early = decided_early[:, None] & ssig
        rows.append({"case": key, "model": label, "decisions": int(agree.size), "agree": int(agree.sum()),
                     "agreement": float(agree.mean()), "responding_full": int(fsig.sum()),
                     "responding_seq": int(ssig.sum()),
                     "stopped_responding": int(resp_early.sum()),
                     "stopped_not": int((decided_early[:, None] & ~ssig).sum()),
                     "median_n": float(np.median(n)), "passes_seq": int(spasses),
                     "passes_full": int(fpasses), "pass_ratio": spasses / fpasses,
                     "cpu_seq": cpu[True], "cpu_full": cpu[False], "cpu_ratio": cpu[True] / cpu[False],
                     "max_full_q_of_early_responders": float(fq[resp_early].max()) if resp_early.any() else None})
        for i, t in zip(*np.nonzero(~agree)):
            disagreements.append({"case": key, "motif": f"{names[db[i].id]} ({db[i].id})", "output": int(t),
                                  "seq": f"{se_.mean[i, t]:.3f} ± {se_.se[i, t]:.3f}, q {sq[i, t]:.3g}, "
                                         f"n {int(n[i])}: {'responds' if ssig[i, t] else 'no'}",
                                  "full": f"{fe.mean[i, t]:.3f} ± {fe.se[i, t]:.3f}, q {fq[i, t]:.3g}: "
                                          f"{'responds' if fsig[i, t] else 'no'}"})
        if key == "peaks":
            for mid in SHOWN["peaks"]:
                if mid in names:
                    i = [m.id for m in db].index(mid)
                    shown.append({"motif": f"{names[mid]} ({mid})", "role": _role("peaks", mid), "n": int(n[i]),
                                  "seq": f"{se_.mean[i, 0]:.2f} ± {se_.se[i, 0]:.2f}",
                                  "seq_responds": bool(ssig[i, 0]),
                                  "full": f"{fe.mean[i, 0]:.2f} ± {fe.se[i, 0]:.2f}",
                                  "full_responds": bool(fsig[i, 0])})
    stages_txt = ", ".join(str(v) for v in screen.stages(n_bg))
    sec.add(f"### (c) Sequential screen against the full screen\n\n"
            f"{len(db):,} JASPAR motifs, {n_bg} backgrounds (`edits.backgrounds(x, {n_bg}, seed=0)`), the same for "
            f"both. Sequential: looks after {stages_txt} backgrounds; a motif stops when "
            "`interpret.stats.settled` settles its decision on every output (prediction interval of the full "
            f"screen's mean at error {stats.EARLY_STOP_ERROR:g} per decision, split over the looks; responding "
            "also needs p below 0.05 / motifs; not responding waits while the consensus passes the floor and "
            "departs from the instances' mean by more than `screen.CONSENSUS_Z` SDs). "
            "*Agree*: both screens say the model responds with the same sign, or both say it does not, per "
            "(motif, output). Forward passes: sequences run through the model (backgrounds, instances, consensus, "
            "controls). CPU: process CPU seconds of each screen, once, under the load in this section's header "
            "(not a timing benchmark: section (a) is).")
    sec.add(md_table(rows, ["case", "model", "decisions", "agree", "agreement", "responding_full", "responding_seq",
                            "stopped_responding", "stopped_not", "median_n", "max_full_q_of_early_responders"],
                     ["case", "model", "decisions", "agree", "agreement", "respond (full)", "respond (seq.)",
                      "stopped early, responding", "stopped early, not", "median backgrounds",
                      "largest full-screen q of an early responder"]))
    sec.add(md_table(rows, ["case", "passes_seq", "passes_full", "pass_ratio", "cpu_seq", "cpu_full", "cpu_ratio"],
                     ["case", "forward passes (seq.)", "forward passes (full)", "seq. / full", "CPU s (seq.)",
                      "CPU s (full)", "seq. / full"]))
    sec.add("Disagreements (effect ± SE, q and decision by each screen; n: backgrounds the sequential screen ran):"
            if disagreements else "Disagreements: none.")
    if disagreements:
        sec.add(md_table(disagreements, ["case", "motif", "output", "seq", "full"],
                         ["case", "motif", "output", "sequential", "full"]))
    if shown:
        sec.add("The peaks-like model's motifs of (b), by both screens:")
        sec.add(md_table(shown, ["motif", "role", "n", "seq", "seq_responds", "full", "full_responds"],
                         ["motif", "planted as", "backgrounds (seq.)", "effect (seq.)", "responds (seq.)",
                          "effect (full)", "responds (full)"]))
    sec.data["sequential"] = {"rows": rows, "disagreements": disagreements, "peaks_motifs": shown,
                              "backgrounds": n_bg, "n_motifs": len(db)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=("sequential",), help="one section, written to results/try_screen_<section>.md")
    ap.add_argument("--quick", action="store_true", help="with --only sequential: 26 motifs, 30 backgrounds")
    args = ap.parse_args()
    # one section alone is a partial run: a try_ section, which make_results.py leaves out of RESULTS.md
    name = (f"try_screen_{args.only}" if args.only else "screen") + ("_quick" if args.quick else "")
    sec = Section(name, "Known-motif screen: cost, control and stopping early")
    sec.data["versions"] = versions(["tensorflow-cpu", "keras", "numpy"])
    if not args.only:
        cost(sec)
        control(sec)
    sequential(sec, quick=args.quick)
    path = sec.write()
    print(path.read_text())


if __name__ == "__main__":
    main()
