"""Genome scale: `interpret attribute` on N x 200 bp from a memory-mapped .npy.

    .venv/bin/python benchmarks/scale.py                                        # 100,000 x 200 bp (make bench)
    nice .venv/bin/python benchmarks/scale.py --n 1000000 --name scale_million  # the million (hours on 2 cores)
    .venv/bin/python benchmarks/scale.py --quick                                # 4,000 sequences, checks the script

What it measures, on peak-like sequences (``simulate.peaks_like``: GC-biased CpG-depleted
background, planted MAFK/TP53/Pou5f1::Sox2, GC-rich stretches) and the Conv-MaxPool-Conv-GlobalMax
``simulate.pooled_model`` trained on them, gradient x input and DeepSHAP (20 references):

1. the streaming validation pass that checks every row before any compute, on the ``.npy`` and
   on the same sequences as FASTA, in a child process, against the attribution time;
2. ``interpret attribute`` in a child process: wall time, time per 100k sequences (from the
   committed shards, polled), peak RSS (``ru_maxrss`` and the polled process tree);
3. with ``--resumability`` (default at 100k): the cost of resumable commits, in this process:
   the same shards computed and thrown away vs committed to the ``AttributionStore``
   (wall and CPU time, and the seconds spent inside ``commit``: writes, ``fdatasync``, flag);
   and a run killed (SIGKILL) half-way then resumed with ``--resume``, against the
   uninterrupted file byte for byte;
4. with ``--report`` (default at 100k): ``interpret run --attributions`` on that file with a
   TF-MoDISco sample (``--modisco-max-seqs``, ``--modisco-max-seqlets``), and the sentence the
   report states about the sample.

Budget: 100k x 200 bp about 30 min on 2 busy cores (most of it the four DeepSHAP passes over the
100k); 1M x 200 bp about 1.5-3 h (one pass).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from _common import WORK, Section, gib, md_table, run_child, versions  # noqa: E402

METHODS = "gradxinput,deepshap"
LENGTH = 200
BLOCK = 50_000


def file_size(path: Path) -> str:
    n = path.stat().st_size
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def make_model(d: Path, seed: int, quick: bool) -> dict:
    from interpret import simulate

    path = d / "model.h5"
    t = time.perf_counter()
    sim = simulate.peaks_like(n=4000, length=LENGTH, seed=seed)
    km = simulate.pooled_model(LENGTH, 1, seed=seed)
    hist = simulate.train(km, sim.x, sim.y, epochs=2 if quick else 30, seed=seed)
    km.save(path)
    return {"path": path, "seconds": time.perf_counter() - t, "val_auroc": float(hist.history["val_auroc"][-1])}


def make_data(n: int, d: Path, seed: int) -> dict:
    """N x 200 bp peak-like sequences as (N, L, 4) uint8 .npy, and the same as FASTA, built a
    block at a time (never N x L x 4 floats in memory)."""
    from interpret import io, simulate

    npy, fasta = d / f"data_{n}.npy", d / f"data_{n}.fa"
    if npy.exists() and fasta.exists():
        return {"npy": npy, "fasta": fasta, "seconds": 0.0}
    t = time.perf_counter()
    out = np.lib.format.open_memmap(npy.with_suffix(".tmp.npy"), mode="w+", dtype=np.uint8, shape=(n, LENGTH, 4))
    with open(fasta.with_suffix(".tmp"), "w") as fh:
        for k, a in enumerate(range(0, n, BLOCK)):
            b = min(n, a + BLOCK)
            x = simulate.peaks_like(n=b - a, length=LENGTH, seed=seed + 1 + k).x
            out[a:b] = x.astype(np.uint8)
            fh.write("".join(f">w{a + i}\n{s}\n" for i, s in enumerate(io.decode(x))))
    out.flush()
    del out
    os.replace(npy.with_suffix(".tmp.npy"), npy)
    os.replace(fasta.with_suffix(".tmp"), fasta)
    return {"npy": npy, "fasta": fasta, "seconds": time.perf_counter() - t}


VALIDATE = """
import json, sys, time
from interpret import io
t, c = time.perf_counter(), time.process_time()
s = io.load_sequences(sys.argv[1], seq_len=int(sys.argv[2]))
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - c, "n": len(s)}))
"""


def validation(path: Path) -> dict:
    """Wall and CPU seconds of io.load_sequences (the streaming validation pass) in a fresh process."""
    p = subprocess.run([sys.executable, "-c", VALIDATE, str(path), str(LENGTH)], capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(p.stderr[-2000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


class Progress(threading.Thread):
    """Polls the committed shards of a partial attributions file: (seconds, rows) samples."""

    def __init__(self, partial: Path, n: int, shard: int, every: float):
        super().__init__(daemon=True)
        self.partial, self.n, self.shard, self.every = partial, n, shard, every
        self.t0 = time.perf_counter()
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self):
        from interpret import io

        while not self.stop.wait(self.every):
            try:
                done = io.read_progress(self.partial)[0] if self.partial.exists() else 0
            except OSError:
                continue
            self.samples.append((time.perf_counter() - self.t0, min(self.n, done * self.shard)))

    def per_100k(self) -> list[float]:
        """Seconds between the first samples at or past each multiple of 100,000 rows (first: from the start)."""
        marks, prev = [], 0.0
        for m in range(100_000, self.n + 1, 100_000):
            hit = next((t for t, rows in self.samples if rows >= m), None)
            if hit is None:
                break
            marks.append(hit - prev)
            prev = hit
        return marks


def attribute_cmd(model: Path, data: Path, out: Path, extra=()) -> list[str]:
    exe = Path(sys.executable).parent / "interpret"
    return [str(exe), "attribute", str(model), str(data), "--out", str(out), "--methods", METHODS,
            "--explain", "all", "-q", *extra]


def kill_half_way(cmd: list[str], partial: Path, n_shards: int) -> dict:
    """Run ``cmd``; SIGKILL it once half the shards are committed."""
    from interpret import io

    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = 0
    while p.poll() is None:
        if partial.exists():
            try:
                done = io.read_progress(partial)[0]
            except OSError:
                pass
            if done >= n_shards // 2:
                p.kill()
                break
        time.sleep(0.5)
    p.wait()
    return {"seconds": time.perf_counter() - t, "shards_done": io.read_progress(partial)[0], "returncode": p.returncode}


def resumability_cost(model_path: Path, data: Path, d: Path, shard: int) -> dict:
    """In this process: the shards computed and discarded vs committed to the store (warm, same order)."""
    from interpret import io
    from interpret.attribution import distributed

    model = io.load_model(model_path)
    x = io.load_sequences(data, seq_len=model.seq_len).source
    methods = tuple(METHODS.split(","))
    args = (methods, 0, "logit", 20, 0, 128)
    distributed.attribute_shard(None, x[:shard], *args, model=model)  # trace and compile once
    t, c = time.perf_counter(), time.process_time()
    for a in range(0, len(x), shard):
        distributed.attribute_shard(None, x[a:a + shard], *args, model=model)
    compute = {"seconds": time.perf_counter() - t, "cpu": time.process_time() - c}

    commit = {"seconds": 0.0, "cpu": 0.0}
    original = io.AttributionStore.commit

    def timed(self, k, xs, res):
        t0, c0 = time.perf_counter(), time.thread_time()
        original(self, k, xs, res)
        commit["seconds"] += time.perf_counter() - t0
        commit["cpu"] += time.thread_time() - c0

    io.AttributionStore.commit = timed
    out = d / "inprocess.h5"
    out.unlink(missing_ok=True)
    try:
        t, c = time.perf_counter(), time.process_time()
        distributed.attribute_to_file(model_path, model, x, np.arange(len(x)), out, methods=methods,
                                      shard_size=shard)
        store = {"seconds": time.perf_counter() - t, "cpu": time.process_time() - c, "commit": commit["seconds"],
                 "commit_cpu": commit["cpu"]}
    finally:
        io.AttributionStore.commit = original
    return {"compute": compute, "store": store, "file": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="sequences (200 bp)")
    ap.add_argument("--shard-size", type=int, default=2048)
    ap.add_argument("--resumability", choices=("auto", "yes", "no"), default="auto",
                    help="measure the cost of resumable commits and a kill/resume (auto: only up to 100k)")
    ap.add_argument("--report", choices=("auto", "yes", "no"), default="auto",
                    help="interpret run --attributions with a TF-MoDISco sample (auto: only up to 100k)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="4,000 sequences, to check the script")
    ap.add_argument("--keep", action="store_true", help="keep the attribution files")
    ap.add_argument("--name", default=None, help="results/<name>.md (default scale, scale_quick with --quick)")
    args = ap.parse_args()
    if args.quick:
        args.n = 4000
    name = args.name or ("scale_quick" if args.quick else "scale")
    small = args.n <= 100_000
    do_resume = args.resumability == "yes" or (args.resumability == "auto" and small)
    do_report = args.report == "yes" or (args.report == "auto" and small)

    d = WORK / "scale"
    d.mkdir(parents=True, exist_ok=True)
    sec = Section(name, f"Genome scale: `interpret attribute` on {args.n:,} x {LENGTH} bp from a memory-mapped .npy")
    sec.data["versions"] = versions(["tensorflow-cpu", "keras", "numpy", "h5py", "dask", "distributed"])
    sec.data["args"] = vars(args)

    model = make_model(d, args.seed, args.quick)
    data = make_data(args.n, d, args.seed)
    n_shards = -(-args.n // args.shard_size)
    prep = (f"Model: `simulate.pooled_model(200)` trained on 4,000 `peaks_like` sequences in {model['seconds']:.0f} s "
            f"(validation AUROC {model['val_auroc']:.3f}). Data: {args.n:,} `peaks_like` windows of {LENGTH} bp "
            f"(other seeds), `(N, L, 4)` uint8 `.npy` ({file_size(data['npy'])}) and the same as FASTA "
            f"({file_size(data['fasta'])})" +
            (f", written in {data['seconds']:.0f} s." if data["seconds"] else "."))
    print(prep, flush=True)

    # 1. validation pass
    val = {"npy": validation(data["npy"]), "fasta": validation(data["fasta"])}
    print("validation", val, flush=True)

    # 2. the run
    out = d / f"attr_{args.n}.h5"
    out.unlink(missing_ok=True)
    from interpret import io

    partial = io.partial_path(out)
    partial.unlink(missing_ok=True)
    cmd = attribute_cmd(model["path"], data["npy"], out, ["--shard-size", str(args.shard_size)])
    prog = Progress(partial, args.n, args.shard_size, every=2.0)
    prog.start()
    res = run_child(cmd, log=d / f"log_{args.n}.txt")
    prog.stop.set()
    per100k = prog.per_100k()
    size = out.stat().st_size if out.exists() else None
    row = {"n": args.n, "seconds": res["seconds"], "peak_gib": gib(res["peak_rss"]), "ru_maxrss_gib": gib(res["ru_maxrss"]),
           "per_100k": res["seconds"] / (args.n / 100_000), "exit": res["returncode"],
           "file_gb": size / 1e9 if size else None, "command": "interpret " + " ".join(cmd[1:])}
    print(row, flush=True)
    sec.data.update(validation=val, run=row, progress=prog.samples, per_100k=per100k)
    if res["returncode"] != 0:
        sec.add(f"`interpret attribute` failed (exit {res['returncode']}):\n\n```\n{res['tail'][-1500:]}\n```")

    sec.add(f"Gradient x input and DeepSHAP (20 dinucleotide-shuffled references), shards of "
            f"{args.shard_size:,} sequences committed to `attributions.h5` as they finish. " + prep)
    sec.add(md_table([row], ["n", "seconds", "per_100k", "peak_gib", "ru_maxrss_gib", "file_gb", "exit"],
                     ["sequences", "wall s", "s per 100k (mean)", "peak RSS GiB", "ru_maxrss GiB", "attributions.h5 GB",
                      "exit"]))
    if per100k:
        sec.add("Seconds for each successive 100,000 sequences (from the committed shards, polled every 2 s; the "
                "first includes start-up, loading and validation): "
                + ", ".join(f"{s:.0f}" for s in per100k) + ".")
    attr_s = res["seconds"]
    sec.add("Streaming validation pass (`io.load_sequences`: every row checked before any compute; fresh process, "
            "imports excluded):\n\n" + md_table(
                [{"input": f"`.npy` uint8, {file_size(data['npy'])}", **val["npy"],
                  "share": val["npy"]["seconds"] / attr_s},
                 {"input": f"FASTA, {file_size(data['fasta'])}", **val["fasta"],
                  "share": val["fasta"]["seconds"] / attr_s}],
                ["input", "seconds", "cpu", "share"], ["input", "wall s", "CPU s", "of the attribution run's wall time"]))

    # 3. cost of resumability
    if do_resume and res["returncode"] == 0:
        killed_out = d / f"killed_{args.n}.h5"
        killed_out.unlink(missing_ok=True)
        kpartial = io.partial_path(killed_out)
        kpartial.unlink(missing_ok=True)
        kcmd = attribute_cmd(model["path"], data["npy"], killed_out, ["--shard-size", str(args.shard_size)])
        kill = kill_half_way(kcmd, kpartial, n_shards)
        resumed = run_child(kcmd + ["--resume"], log=d / f"log_resume_{args.n}.txt")
        same = killed_out.exists() and killed_out.read_bytes() == out.read_bytes()
        cost = resumability_cost(model["path"], data["npy"], d, args.shard_size)
        same_inprocess = cost["file"].read_bytes() == out.read_bytes()
        comp, store = cost["compute"], cost["store"]
        sec.data["resumability"] = {"kill": kill, "resume": {k: resumed[k] for k in ("seconds", "peak_rss", "returncode")},
                                    "identical": same, "compute": comp, "store": store,
                                    "identical_inprocess": same_inprocess}
        sec.add("Cost of resumability, in one process after a warm-up (`distributed.attribute_shard` on every shard, "
                "results thrown away, vs `distributed.attribute_to_file`: the same shards committed to the "
                "`AttributionStore`, i.e. written at fixed offsets, `fdatasync`, then the shard's done flag):\n\n"
                + md_table([{"what": "compute only (no file)", **comp},
                            {"what": "committed to attributions.h5", **store}],
                           ["what", "seconds", "cpu", "commit", "commit_cpu"],
                           ["", "wall s", "process CPU s", "wall s inside commit", "CPU s inside commit (its thread)"])
                + f"\n\nWith the store / compute only: wall {store['seconds'] / comp['seconds']:.3f}, CPU "
                f"{store['cpu'] / comp['cpu']:.3f}; time inside `commit` {store['commit']:.1f} s = "
                f"{100 * store['commit'] / store['seconds']:.1f}% of the run ({store['commit_cpu']:.1f} s CPU). Process CPU "
                "time also counts TensorFlow's thread pool and the two passes ran minutes apart on a shared machine; "
                "the time inside `commit` (the only code the two paths do not share) is the direct measure. The file "
                f"equals the CLI's byte for byte: {'yes' if same_inprocess else 'NO'}.")
        sec.add(f"Killed (SIGKILL) once {kill['shards_done']} of {n_shards} shards were committed, after "
                f"{kill['seconds']:.0f} s; `--resume` finished in {resumed['seconds']:.0f} s (peak RSS "
                f"{gib(resumed['peak_rss']):.2f} GiB): {kill['seconds'] + resumed['seconds']:.0f} s in all vs "
                f"{res['seconds']:.0f} s uninterrupted. The resumed file is byte-identical to the uninterrupted one: "
                f"{'yes' if same else 'NO'}.")
        if not args.keep:
            killed_out.unlink(missing_ok=True)
            cost["file"].unlink(missing_ok=True)

    # 4. a run on the file, with a TF-MoDISco sample stated in the report
    if do_report and res["returncode"] == 0:
        run_out = d / f"run_{args.n}"
        import shutil

        shutil.rmtree(run_out, ignore_errors=True)
        max_seqs = max(1000, args.n // 5)
        rcmd = [str(Path(sys.executable).parent / "interpret"), "run", str(model["path"]), str(data["npy"]),
                "--attributions", str(out), "--out", str(run_out), "--explain", "all", "--methods", METHODS,
                "--modisco-max-seqs", str(max_seqs), "--modisco-max-seqlets", "2000", "--modisco-leiden-runs", "10", "-q"]
        rres = run_child(rcmd, log=d / f"log_run_{args.n}.txt")
        note = ""
        if rres["returncode"] == 0:
            from interpret.report.render import sample_notes

            summ = io.read_json(run_out / "summary.json")
            notes = sample_notes(summ)
            note = notes[0] if notes else "(no sample)"
            in_report = bool(notes) and notes[0].split(";")[0] in (run_out / "report.html").read_text()
            sec.data["report"] = {"seconds": rres["seconds"], "peak_rss": rres["peak_rss"], "notes": notes,
                                  "in_report": in_report, "timings": summ.get("timings"),
                                  "n_motifs": summ.get("comparison", {}).get("n_motifs")}
            sec.add(f"`interpret run --attributions` on this file (`--modisco-max-seqs {max_seqs} "
                    f"--modisco-max-seqlets 2000 --modisco-leiden-runs 10`): {rres['seconds']:.0f} s, peak RSS "
                    f"{gib(rres['peak_rss']):.2f} GiB, {summ.get('comparison', {}).get('n_motifs')} motifs. The report "
                    f"says (at the top of its Motifs section{'' if in_report else ' — NOT FOUND in report.html'}): "
                    f"*{note}*")
        else:
            sec.add(f"`interpret run --attributions` failed (exit {rres['returncode']}): `{rres['tail'][-300:]}`")
        if not args.keep:
            shutil.rmtree(run_out, ignore_errors=True)

    sec.add("Commands:\n\n" + "\n".join(f"- `{c}`" for c in [row["command"]]))
    if not args.keep:
        out.unlink(missing_ok=True)
    path = sec.write()
    print(path.read_text())


if __name__ == "__main__":
    main()
