"""Attribution speed: throughput of every method, as a multiple of a forward pass.

    .venv/bin/python benchmarks/speed.py [--n 512] [--repeats 3]

Two models with random (seeded) weights — speed does not depend on training:

* ``seed``: the seed's ``Conv2D(128, (1, 24), same, relu)`` on ``(1, 101, 4)`` → global max pool
  → ``Dense(1, sigmoid)`` (:func:`interpret.simulate.seed_model`);
* ``deep``: ``Conv1D(64, 15, relu)`` → ``MaxPool(4)`` → ``Conv1D(64, 5, relu)`` → ``MaxPool(2)`` →
  ``Conv1D(32, 3, relu)`` → global max pool → ``Dense(32, relu)`` → ``Dense(1, sigmoid)`` on
  ``(200, 4)``.

Every method runs on the same random one-hot sequences after a warm-up call (tracing and XLA
compilation excluded); the time is the best of ``--repeats`` runs. "× forward" is the time per
sequence divided by the forward pass's time per sequence (wall clock, and process CPU time). The
forward pass is the model's compiled forward (``Model.predict``: the ``tf.function`` the methods
build on, logit output) on the same sequences at its best batch size (of 128, 256, 512, 1024,
chosen once per model by CPU time), timed on the sequences repeated to at least 8,192 (best of 5)
and re-measured in the same process right before every row.
DeepSHAP uses 20 dinucleotide-shuffled references per sequence, generated beforehand (the shuffle
is timed on its own row, and end to end); IG 50 steps from the uniform reference; ISM all 3L
single-base variants. The shuffle is compiled by numba (``cache=True``); its one-off cost is
measured in fresh processes: with an empty numba cache (compilation) and with the cache this
checkout has (loading). Writes ``benchmarks/results/speed_attribution.md`` (and ``.json``);
nothing in it is typed by hand.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from _common import Section, md_table, versions  # noqa: E402


def deep_model(length: int = 200, seed: int = 0):
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((length, 4))
    h = keras.layers.Conv1D(64, 15, padding="same", activation="relu")(inp)
    h = keras.layers.MaxPooling1D(4)(h)
    h = keras.layers.Conv1D(64, 5, padding="same", activation="relu")(h)
    h = keras.layers.MaxPooling1D(2)(h)
    h = keras.layers.Conv1D(32, 3, padding="same", activation="relu")(h)
    h = keras.layers.GlobalMaxPooling1D()(h)
    h = keras.layers.Dense(32, activation="relu")(h)
    out = keras.layers.Dense(1, activation="sigmoid")(h)
    return keras.Model(inp, out)


def best_time(fn, repeats: int) -> tuple[float, float]:
    """Best wall-clock and best process-CPU seconds of ``repeats`` calls after a warm-up call."""
    fn()  # warm-up: tracing, XLA compilation
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def bench_model(name: str, keras_model, n: int, repeats: int, seed: int = 0) -> list[dict]:
    from interpret.attribution.methods import DeepShap, GradientXInput, IntegratedGradients, ISM, Saliency
    from interpret.model import Model
    from interpret.attribution.shuffle import dinucleotide_shuffle

    model = Model.from_keras(keras_model)
    rng = np.random.default_rng(seed)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, model.seq_len))]
    n_slow = max(8, n // 16)  # IG and ISM cost hundreds of forward passes: fewer sequences
    refs = dinucleotide_shuffle(x, 20, seed=0)

    # The forward pass is the denominator of every ratio: time it on enough sequences (>= 8,192,
    # ~0.1 s) and more often, or a 5 ms measurement moves every ratio by 20%.
    xf = np.concatenate([x] * max(1, -(-FORWARD_MIN_SEQS // n)))
    fwd_reps = max(repeats, 5)
    fwd_cpu_by_bs = {bs: best_time(lambda: model.predict(xf, 0, batch_size=bs), fwd_reps)[1]
                     for bs in FORWARD_BATCHES}
    fwd_bs = min(fwd_cpu_by_bs, key=fwd_cpu_by_bs.get)

    def forward_per_seq():
        wall, cpu = best_time(lambda: model.predict(xf, 0, batch_size=fwd_bs), fwd_reps)
        return wall / len(xf), cpu / len(xf)

    sal, gxi, ds, ig, ism = Saliency(model), GradientXInput(model), DeepShap(model), IntegratedGradients(model), ISM(model)
    jobs = [
        ("forward (logit)", f"Model.predict, batch {fwd_bs}", len(xf), lambda: model.predict(xf, 0, batch_size=fwd_bs)),
        ("saliency", None, n, lambda: sal.attribute(x)),
        ("gradxinput", None, n, lambda: gxi.attribute(x)),
        ("deepshap, 20 refs", "refs precomputed", n, lambda: ds.attribute(x, references=refs)),
        ("dinucleotide shuffle, 20 refs", "numba, seeded per sequence", n, lambda: dinucleotide_shuffle(x, 20, seed=0)),
        ("deepshap, 20 refs + shuffle", "end to end", n, lambda: ds.attribute(x, n_references=20, seed=0)),
        ("ig, 50 steps", "uniform reference", n_slow, lambda: ig.attribute(x[:n_slow])),
        ("ism", f"{3 * model.seq_len} variants/seq", n_slow, lambda: ism.attribute(x[:n_slow])),
    ]
    rows = []
    for label, note, count, fn in jobs:
        fwd, fwd_cpu = forward_per_seq()  # re-measured before each method: the machine may be shared
        wall, cpu = best_time(fn, repeats)
        per_seq, cpu_seq = wall / count, cpu / count
        rows.append({"model": name, "method": label, "note": note or "", "n": count,
                     "seq_per_s": 1.0 / per_seq, "ms_per_1000": per_seq * 1e6,
                     "x_forward": per_seq / fwd, "x_forward_cpu": cpu_seq / fwd_cpu, "fwd_seq_per_s": 1.0 / fwd,
                     "fwd_batch": fwd_bs})
        print(f"{name:5s} {label:32s} {1 / per_seq:10.0f} seq/s  {per_seq / fwd:7.1f}x forward "
              f"(CPU time {cpu_seq / fwd_cpu:7.1f}x)", flush=True)
    return rows


FORWARD_BATCHES = (128, 256, 512, 1024)
FORWARD_MIN_SEQS = 8192

_FIRST_CALL = """
import time, numpy as np
import interpret  # the package's own imports are not the shuffle's
t0, c0 = time.perf_counter(), time.process_time()
from interpret.attribution.shuffle import dinucleotide_shuffle  # imports numba, loads or compiles
dinucleotide_shuffle(np.eye(4, dtype=np.float32)[np.zeros((1, 10), int)], 2, 0)
print(time.perf_counter() - t0, time.process_time() - c0)
"""


def shuffle_first_call() -> list[dict]:
    """Import + first call of the numba shuffle in fresh processes: empty cache, then this checkout's."""
    rows = []
    root = str(Path(__file__).resolve().parents[1])
    with tempfile.TemporaryDirectory() as empty:
        for label, env in (("compile (empty numba cache)", {"NUMBA_CACHE_DIR": empty}), ("load (numba cache)", {})):
            if not env:  # make sure this checkout's cache exists
                subprocess.run([sys.executable, "-c", _FIRST_CALL], cwd=root, check=True, capture_output=True)
            out = subprocess.run([sys.executable, "-c", _FIRST_CALL], cwd=root, check=True, capture_output=True,
                                 text=True, env={**os.environ, **env}).stdout.split()
            rows.append({"what": label, "wall_s": float(out[0]), "cpu_s": float(out[1])})
            print(f"shuffle first call, {label}: {float(out[0]):.2f} s wall, {float(out[1]):.2f} s CPU", flush=True)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=512, help="sequences per timed call")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)

    import logging

    import tensorflow as tf

    logging.getLogger("interpret.attribution").setLevel(logging.ERROR)  # IG's |delta| warnings

    from interpret import simulate

    sec = Section("speed_attribution", "Attribution speed (interpret, TensorFlow CPU)")
    threads = (tf.config.threading.get_intra_op_parallelism_threads(),
               tf.config.threading.get_inter_op_parallelism_threads())
    rows = bench_model("seed", simulate.seed_model(length=101, filters=128, width=24, layout="1L4"), args.n,
                       args.repeats)
    rows += bench_model("deep", deep_model(), args.n, args.repeats)
    sec.add(f"{args.n} random sequences per call (IG and ISM: {max(8, args.n // 16)}); best of {args.repeats} "
            f"after a warm-up; TF intra/inter-op threads {threads} (0 = all cores). "
            "'× forward' = time per sequence / forward time per sequence; the forward pass is the model's "
            "compiled forward (`Model.predict`, logit) at its best batch size (in the forward row's note), "
            f"timed on the same sequences repeated to at least {FORWARD_MIN_SEQS:,} (best of {max(args.repeats, 5)}) "
            "and re-measured right before each row; '× forward (CPU)' is the same ratio in process CPU time, steadier "
            "when other jobs share the cores (see the load average above).\n")
    sec.add(md_table(rows, ["model", "method", "note", "n", "seq_per_s", "x_forward", "x_forward_cpu"],
                     ["model", "method", "note", "sequences", "sequences/s", "× forward", "× forward (CPU)"]))
    first = shuffle_first_call()
    sec.add("\nOne-off cost of the numba shuffle (import + first call, fresh process; not in the rows above):\n")
    sec.add(md_table(first, ["what", "wall_s", "cpu_s"], ["first call", "wall s", "CPU s"]))
    sec.data.update({"rows": rows, "shuffle_first_call": first,
                     "versions": versions(["tensorflow", "keras", "numpy", "numba"])})
    path = sec.write()
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
