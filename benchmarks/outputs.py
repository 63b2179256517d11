"""The motif x output matrix at Basset's and DeepSEA's sizes: what scoring every output costs.

    .venv/bin/python benchmarks/outputs.py            # full: 1,019 JASPAR motifs x 100 backgrounds
    .venv/bin/python benchmarks/outputs.py --quick    # 20 motifs x 10 backgrounds, to check the script

A hand-set many-output model, no training needed (what is measured is the forward passes and the
bookkeeping, not what the model learned): ``Conv1D(64, 19, relu) -> GlobalMaxPool -> Dense(T)`` on
600-bp one-hot input with seeded random weights, for ``T`` = 1, 164 (Basset) and 919 (DeepSEA)
outputs. For each, in one process, after a warm-up, best of 3: the one-output screen
(``screen.insertion_effects``, output 0) and the matrix of every output from the same passes
(``screen.insertion_matrix``), wall and CPU seconds and the peak of Python-tracked memory
(``tracemalloc``: the numpy arrays of the experiment). The ratio *matrix / one output* is what
``--target all`` pays for the matrix over one output's screen; *T x one output* is what one
screen per output would cost.

Writes ``benchmarks/results/outputs.md`` (and ``.json``; ``outputs_quick`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from _common import Section, md_table  # noqa: E402

LENGTH = 600
OUTPUTS = (1, 164, 919)


def many_output_model(n_outputs: int, length: int = LENGTH, seed: int = 0):
    """Conv1D(64, 19, relu) -> GlobalMaxPool -> Dense(n_outputs, sigmoid), seeded random weights."""
    import keras

    from interpret.model import Model

    keras.utils.set_random_seed(seed)
    inp = keras.Input((length, 4))
    h = keras.layers.GlobalMaxPooling1D()(keras.layers.Conv1D(64, 19, padding="same", activation="relu")(inp))
    return Model.from_keras(keras.Model(inp, keras.layers.Dense(n_outputs, activation="sigmoid")(h)))


def measure(fn) -> tuple[float, float, float]:
    """Wall s, CPU s and peak traced memory (MiB) of ``fn()``."""
    tracemalloc.start()
    t, c = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    return wall, cpu, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 motifs x 10 backgrounds")
    args = ap.parse_args()
    from interpret import io
    from interpret.evidence import edits, screen

    n_motifs, n_bg, repeats = (20, 10, 1) if args.quick else (None, 100, 3)
    sec = Section("outputs_quick" if args.quick else "outputs",
                  "Motif x output matrix: every output from the same forward passes")
    db = io.load_motif_db()[:n_motifs]
    ppms = [m.ppm for m in db]
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (200, LENGTH))]
    bg = edits.backgrounds(x, n_bg, seed=0)
    rows = []
    for n_out in OUTPUTS:
        model = many_output_model(n_out)
        screen.insertion_matrix(model, bg[:2], ppms[:2], seed=0, batch_size=1024)      # warm-up: tracing
        best = {}
        for name, fn in (("one output", lambda: screen.insertion_effects(model, bg, ppms, target=0, seed=0,
                                                                         batch_size=1024)),
                         ("every output", lambda: screen.insertion_matrix(model, bg, ppms, seed=0, batch_size=1024))):
            runs = [measure(fn) for _ in range(repeats)]
            best[name] = tuple(min(r[k] for r in runs) for k in range(3))
        one, every = best["one output"], best["every output"]
        rows.append({"outputs": n_out, "one_wall": one[0], "one_cpu": one[1], "one_mib": one[2],
                     "every_wall": every[0], "every_cpu": every[1], "every_mib": every[2],
                     "ratio_cpu": every[1] / one[1], "per_output_cpu": n_out * one[1] / every[1]})
    sec.add(f"{len(ppms):,} JASPAR motifs x {n_bg} backgrounds (and the consensus in a tenth of them), "
            f"{LENGTH}-bp sequences, `Conv1D(64, 19, relu) -> GlobalMaxPool -> Dense(T)` with random weights; "
            f"best of {repeats}, in one process. *one output*: `insertion_effects` (output 0); *every output*: "
            "`insertion_matrix`; *x vs one screen per output*: T x the one-output CPU time over the matrix's.")
    sec.add(md_table(rows, ["outputs", "one_wall", "one_cpu", "one_mib", "every_wall", "every_cpu", "every_mib",
                            "ratio_cpu", "per_output_cpu"],
                     ["outputs T", "one output wall s", "CPU s", "peak MiB", "every output wall s", "CPU s",
                      "peak MiB", "CPU every / one", "x vs one screen per output"]))
    sec.data["rows"] = rows
    print(sec.write())


if __name__ == "__main__":
    main()
