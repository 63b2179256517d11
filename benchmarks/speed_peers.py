"""Attribution speed and agreement: interpret (TensorFlow) against tangermeme, captum and shap.

Runs in the benchmark environment (``make bench-env``: the package plus torch 2.13.0 CPU,
tangermeme and captum):

    benchmarks/.venv-bench/bin/python benchmarks/speed_peers.py

For each model (the seed's ``Conv2D(128, (1, 24))`` → global max pool → dense on 101 bp, and a
deeper ``Conv1D → MaxPool(4) → Conv1D → global max pool → Dense(relu) → Dense`` on 200 bp):

1. the Keras model is trained for a few epochs on planted-motif data (seeded), and the same
   architecture is built in PyTorch with the Keras weights copied over; the two forward passes
   must agree to 1e-4 on the logit or the script stops;
2. the same sequences and the same references (``interpret.attribution.shuffle.dinucleotide_shuffle``,
   ``--refs`` per sequence) go to every implementation;
3. each method is timed after a warm-up call on the same inputs (tracing, hook set-up and
   XLA/JIT compilation, which happen once per batch shape, are excluded; interpret's rows give
   the warm-up's time in their note); throughput is sequences per second and the cost is
   expressed in forward passes of the same framework (time per sequence / forward time per
   sequence);
4. agreement with interpret's DeepSHAP: max |difference| and Pearson r of the hypothetical
   contributions ``(N, L, 4)`` and of the per-position contributions ``(N, L)``.

``shap.DeepExplainer`` is run on the Keras logit model; where it fails, the error is reported.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from interpret.simulate import pooled_model  # noqa: E402
from _common import Section, md_table, versions  # noqa: E402

FWD_TOL = 1e-4


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------
def build_keras(kind: str, seed: int):
    """Keras model, its training data and the sequence length for ``kind`` (``seed`` or ``pooled``)."""
    from interpret import simulate

    if kind == "seed":
        length = 101
        sim = simulate.example(n=2000, length=length, seed=seed)
        model = simulate.seed_model(length=length, filters=128, width=24, layout="1L4", seed=seed)
        y = sim.y
    elif kind == "pooled":
        length = 200
        ids = simulate.EXAMPLE_MOTIFS
        sim = simulate.planted(simulate.jaspar_ppms(ids), n=3000, length=length, multitask=True, seed=seed)
        model = pooled_model(length, len(ids), seed, dense=32)
        y = sim.y
    else:
        raise ValueError(kind)
    return model, sim, y, length


def to_torch(keras_model, length: int):
    """The same network in PyTorch (channels-first ``(N, 4, L)`` input, logit output), weights copied."""
    import keras
    import torch
    from torch import nn

    layers: list = []
    cur_len = length
    kl = [layer for layer in keras_model.layers if not isinstance(layer, keras.layers.InputLayer)]
    for i, layer in enumerate(kl):
        name = type(layer).__name__
        last = i == len(kl) - 1
        if name in ("Conv1D", "Conv2D"):
            w, b = [np.asarray(v) for v in layer.get_weights()]
            if name == "Conv2D":
                if w.shape[0] != 1:
                    raise ValueError("only (1, W) Conv2D kernels on (1, L, 4) inputs")
                w = w[0]
            width, cin, cout = w.shape
            if layer.padding == "same":
                left = (width - 1) // 2
                layers.append(nn.ConstantPad1d((left, width - 1 - left), 0.0))
            conv = nn.Conv1d(cin, cout, width)
            conv.weight.data = torch.tensor(w.transpose(2, 1, 0).copy())
            conv.bias.data = torch.tensor(b)
            layers.append(conv)
            if layer.padding != "same":
                cur_len = cur_len - width + 1
            act = layer.activation.__name__
        elif name == "MaxPooling1D":
            p = layer.pool_size[0] if isinstance(layer.pool_size, (tuple, list)) else layer.pool_size
            layers.append(nn.MaxPool1d(p))
            cur_len //= p
            act = "linear"
        elif name in ("GlobalMaxPooling1D", "GlobalMaxPooling2D"):
            layers.append(nn.MaxPool1d(cur_len))
            layers.append(nn.Flatten())
            act = "linear"
        elif name == "Dense":
            w, b = [np.asarray(v) for v in layer.get_weights()]
            lin = nn.Linear(w.shape[0], w.shape[1])
            lin.weight.data = torch.tensor(w.T.copy())
            lin.bias.data = torch.tensor(b)
            layers.append(lin)
            act = layer.activation.__name__
        elif name in ("Dropout", "Flatten"):
            continue
        else:
            raise ValueError(f"no PyTorch equivalent here for {name}")
        if act == "relu":
            layers.append(nn.ReLU())
        elif act == "sigmoid" and last:
            pass  # explain the logit, as interpret does
        elif act != "linear":
            raise ValueError(f"activation {act} not converted")
    model = nn.Sequential(*layers).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


# --------------------------------------------------------------------------------------------
# Timing and agreement
# --------------------------------------------------------------------------------------------
def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def agreement(ours_hyp, ours_pos, hyp=None, pos=None, gap=None) -> dict:
    """Max |diff| and Pearson r against interpret's DeepSHAP (hypothetical and per-position), and
    the completeness error ``max |sum(contrib) - (f(x) - mean_k f(ref_k))|`` when ``gap`` is given."""
    out = {}
    if gap is not None:
        out["completeness"] = float(np.abs(pos.sum(1) - gap[:len(pos)]).max())
    if hyp is not None:
        d = np.abs(hyp - ours_hyp)
        out["hyp_max_abs"] = float(d.max())
        out["hyp_r"] = float(np.corrcoef(hyp.ravel(), ours_hyp.ravel())[0, 1])
    if pos is not None:
        out["pos_max_abs"] = float(np.abs(pos - ours_pos).max())
        out["pos_r"] = float(np.corrcoef(pos.ravel(), ours_pos.ravel())[0, 1])
    out["scale"] = float(np.abs(ours_hyp).max())
    return out


def maxpool_control(tmodel, xt, refs_t, target) -> dict:
    """captum DeepLift vs tangermeme on the PyTorch model as it is and with every max pooling
    replaced by average pooling of the same size: isolates the max-pooling rule as the cause
    of any disagreement (both use the rescale rule for ReLU)."""
    import copy

    from torch import nn

    out = {}
    try:
        from captum.attr import DeepLift
        from tangermeme.deep_lift_shap import deep_lift_shap, hypothetical_attributions
    except Exception as exc:
        return {"error": _err(exc)}
    n, k = refs_t.shape[:2]
    for label in ("max", "avg"):
        m = copy.deepcopy(tmodel)
        if label == "avg":
            for name, mod in list(m.named_children()):
                if isinstance(mod, nn.MaxPool1d):
                    setattr(m, name, nn.AvgPool1d(mod.kernel_size))
        m.eval()
        a = deep_lift_shap(m, xt, references=refs_t, target=target, hypothetical=True, device="cpu",
                           warning_threshold=1e9, batch_size=1024).numpy()
        inp = xt.repeat_interleave(k, 0).requires_grad_(True)
        b = DeepLift(m).attribute(inp, refs_t.reshape((n * k,) + tuple(xt.shape[1:])), target=target,
                                  custom_attribution_func=hypothetical_attributions)
        b = b.detach().reshape((n, k) + tuple(xt.shape[1:])).mean(1).numpy()
        out[label] = {"max_abs": float(np.abs(a - b).max()), "r": float(np.corrcoef(a.ravel(), b.ravel())[0, 1])}
    return out


def keras_logit_model(keras_model):
    """A clone of ``keras_model`` whose final sigmoid is linear (what interpret explains)."""
    import keras

    clone = keras.models.clone_model(keras_model)
    clone.set_weights(keras_model.get_weights())
    clone.layers[-1].activation = keras.activations.linear
    return clone


def bench_model(kind: str, args) -> dict:
    import tensorflow as tf
    import torch

    from interpret import Model, simulate
    from interpret.attribution.methods import METHODS
    from interpret.attribution.shuffle import dinucleotide_shuffle

    torch.set_num_threads(args.threads)
    keras_model, sim, y, length = build_keras(kind, args.seed)
    t0 = time.perf_counter()
    epochs = args.epochs_pooled if kind == "pooled" else args.epochs
    hist = simulate.train(keras_model, sim.x, y, epochs=epochs, seed=args.seed)
    train_s = time.perf_counter() - t0
    model = Model.from_keras(keras_model)
    tmodel = to_torch(keras_model, length)

    n, k = args.n, args.refs
    x = np.ascontiguousarray(sim.x[:n])
    refs = dinucleotide_shuffle(x, k, seed=args.seed)  # (N, K, L, 4)
    xt = torch.tensor(x.transpose(0, 2, 1).copy())
    refs_t = torch.tensor(refs.transpose(0, 1, 3, 2).copy())
    target = 0

    # 1. forward agreement
    ours_logit = model.predict(x, target=target)
    with torch.no_grad():
        torch_logit = tmodel(xt)[:, target].numpy()
    fwd_diff = float(np.abs(ours_logit - torch_logit).max())
    if not fwd_diff < FWD_TOL:
        raise SystemExit(f"{kind}: PyTorch copy disagrees with Keras by {fwd_diff:.3g} > {FWD_TOL}; not comparable")

    # forward throughput: at least 4,096 sequences so the time is not all overhead
    reps = max(1, int(np.ceil(4096 / n)))
    xf = np.concatenate([x] * reps)
    model.predict(xf[:256])
    _, tf_fwd = timed(model.predict, xf, None, "logit", 1024)
    tf_fwd_per = tf_fwd / len(xf)
    xft = torch.tensor(xf.transpose(0, 2, 1).copy())
    with torch.no_grad():
        tmodel(xft[:256])
        t = time.perf_counter()
        for i in range(0, len(xft), 1024):
            tmodel(xft[i:i + 1024])
        torch_fwd_per = (time.perf_counter() - t) / len(xf)

    rows, agree, errors = [], [], []

    def add_row(impl, method, seconds, n_seqs, fwd_per, framework, note=""):
        rows.append({"impl": impl, "method": method, "framework": framework, "n": n_seqs, "seconds": seconds,
                     "seq_per_s": n_seqs / seconds, "fwd_passes": (seconds / n_seqs) / fwd_per, "note": note})

    add_row("interpret", "forward (logit)", tf_fwd, len(xf), tf_fwd_per, "TensorFlow")
    add_row("torch", "forward (logit)", torch_fwd_per * len(xf), len(xf), torch_fwd_per, "PyTorch")

    # 2. interpret's methods
    ours = {}
    for name in args.methods:
        method = METHODS[name](model, target=target)
        kw = {"references": refs, "n_references": k} if name == "deepshap" else {}
        _, first = timed(method.attribute, x, **kw)
        res, sec = timed(method.attribute, x, **kw)
        ours[name] = res
        note = f"{k} refs" if name == "deepshap" else ("50 steps" if name == "ig" else "")
        note = (note + "; " if note else "") + f"first call {first:.2f} s"
        add_row("interpret", name, sec, n, tf_fwd_per, "TensorFlow", note)
    base = ours["deepshap"]
    ours_hyp, ours_pos = base.hypothetical, base.contrib.sum(-1)
    # f(x) - mean_k f(ref_k), the total every DeepLIFT/SHAP implementation must distribute
    gap = base.score.astype(np.float64) - model.predict(refs.reshape((-1,) + x.shape[1:]), target=target) \
        .astype(np.float64).reshape(n, k).mean(1)
    agree.append({"impl": "interpret", "method": "deepshap", "n": n, **agreement(ours_hyp, ours_pos, ours_hyp, ours_pos, gap)})

    # 3. tangermeme
    try:
        from tangermeme.deep_lift_shap import deep_lift_shap

        kw = dict(target=target, hypothetical=True, batch_size=args.peer_batch, device="cpu",
                  warning_threshold=1e9, verbose=False)
        deep_lift_shap(tmodel, xt, references=refs_t, **kw)
        att, sec = timed(deep_lift_shap, tmodel, xt, references=refs_t, **kw)
        hyp = att.numpy().transpose(0, 2, 1)
        add_row("tangermeme", "deep_lift_shap", sec, n, torch_fwd_per, "PyTorch",
                f"{k} refs, batch {args.peer_batch} pairs")
        agree.append({"impl": "tangermeme", "method": "deep_lift_shap", "n": n,
                      **agreement(ours_hyp, ours_pos, hyp, (hyp * x).sum(-1), gap)})
    except Exception as exc:  # reported, not hidden
        errors.append({"impl": "tangermeme", "method": "deep_lift_shap", "error": _err(exc)})

    # 4. captum: DeepLift on (sequence, reference) pairs in batches, and DeepLiftShap per sequence
    try:
        from captum.attr import DeepLift, DeepLiftShap
        from tangermeme.deep_lift_shap import hypothetical_attributions

        def captum_deeplift(xt_, refs_t_):
            out = np.zeros(xt_.shape, np.float32)
            per = max(1, args.peer_batch // k)
            dl = DeepLift(tmodel)
            for i in range(0, len(xt_), per):
                xb = xt_[i:i + per]
                b = len(xb)
                inp = xb.repeat_interleave(k, 0).requires_grad_(True)
                bl = refs_t_[i:i + per].reshape((b * k,) + tuple(xb.shape[1:]))
                a = dl.attribute(inp, bl, target=target, custom_attribution_func=hypothetical_attributions)
                out[i:i + b] = a.detach().reshape((b, k) + tuple(xb.shape[1:])).mean(1).numpy()
            return out

        captum_deeplift(xt, refs_t)
        att, sec = timed(captum_deeplift, xt, refs_t)
        hyp = att.transpose(0, 2, 1)
        add_row("captum", "DeepLift (pairs batched, averaged)", sec, n, torch_fwd_per, "PyTorch",
                f"{k} refs, batch {args.peer_batch} pairs")
        agree.append({"impl": "captum", "method": "DeepLift", "n": n,
                      **agreement(ours_hyp, ours_pos, hyp, (hyp * x).sum(-1), gap)})

        def captum_dls(xt_, refs_t_):
            out = np.zeros(xt_.shape, np.float32)
            dls = DeepLiftShap(tmodel)
            for i in range(len(xt_)):
                a = dls.attribute(xt_[i:i + 1].clone().requires_grad_(True), refs_t_[i], target=target,
                                  custom_attribution_func=hypothetical_attributions)
                out[i] = a.detach().numpy()[0]
            return out

        m = min(n, args.captum_shap_n)
        captum_dls(xt[:m], refs_t[:m])
        att, sec = timed(captum_dls, xt[:m], refs_t[:m])
        hyp = att.transpose(0, 2, 1)
        add_row("captum", "DeepLiftShap (one call per sequence)", sec, m, torch_fwd_per, "PyTorch",
                f"{k} refs; first {m} sequences")
        agree.append({"impl": "captum", "method": "DeepLiftShap", "n": m,
                      **agreement(ours_hyp[:m], ours_pos[:m], hyp, (hyp * x[:m]).sum(-1), gap)})
    except Exception as exc:
        errors.append({"impl": "captum", "method": "DeepLift/DeepLiftShap", "error": _err(exc)})

    control = maxpool_control(tmodel, xt[:32], refs_t[:32], target)
    ctx = {"keras_model": keras_model, "x": x, "refs": refs, "ours_hyp": ours_hyp, "ours_pos": ours_pos,
           "tf_fwd_per": tf_fwd_per, "add_row": add_row, "gap": gap}
    return ctx, {"kind": kind, "length": length, "epochs": epochs, "n": n, "refs": k, "train_seconds": train_s,
            "val_auroc": float(hist.history["val_auroc"][-1]), "forward_max_abs_diff": fwd_diff,
            "architecture": [f"{type(layer).__name__}" for layer in keras_model.layers],
            "torch": str(tmodel).replace("\n", " "), "rows": rows, "agreement": agree, "errors": errors,
                 "maxpool_control": control}


def bench_shap(ctx: dict, res: dict, args) -> None:
    """shap.DeepExplainer on the Keras logit model, per-sequence references through a callable.

    Run after every other measurement: shap patches TensorFlow's gradient registry for the whole
    process (Keras training fails afterwards with ``gradient registry has no entry for: shap_...``).
    """
    keras_model, x, refs = ctx["keras_model"], ctx["x"], ctx["refs"]
    ours_hyp, ours_pos, tf_fwd_per, add_row = ctx["ours_hyp"], ctx["ours_pos"], ctx["tf_fwd_per"], ctx["add_row"]
    agree, errors = res["agreement"], res["errors"]
    n, k, target = len(x), refs.shape[1], 0
    try:
        import shap

        logit = keras_logit_model(keras_model)
        shape_in = tuple(keras_model.inputs[0].shape[1:])
        by_key = {x[i].tobytes(): refs[i] for i in range(n)}

        def to_in(a):
            return a.reshape((len(a),) + shape_in)

        def background(sample):
            s = np.asarray(sample[0]).reshape(x.shape[1:]).astype(np.float32)
            return to_in(by_key[s.tobytes()])

        m = min(n, args.shap_n)
        expl = shap.DeepExplainer(logit, background)
        expl.shap_values(to_in(x[:1]), check_additivity=False)
        sv, sec = timed(expl.shap_values, to_in(x[:m]), check_additivity=False)
        sv = np.stack(sv, -1) if isinstance(sv, list) else np.asarray(sv)
        pos = sv.reshape((m,) + x.shape[1:] + (-1,))[..., target].sum(-1)
        add_row("shap", "DeepExplainer", sec, m, tf_fwd_per, "TensorFlow", f"{k} refs; first {m} sequences")
        agree.append({"impl": "shap", "method": "DeepExplainer", "n": m,
                      **agreement(ours_hyp[:m], ours_pos[:m], None, pos, ctx["gap"])})
    except Exception as exc:
        errors.append({"impl": "shap", "method": "DeepExplainer", "error": _err(exc)})



def finish_rows(res: dict) -> None:
    rows = res["rows"]
    ours_ds = next(r for r in rows if r["impl"] == "interpret" and r["method"] == "deepshap")
    for r in rows:
        r["ours_over_theirs"] = (ours_ds["seconds"] / ours_ds["n"]) / (r["seconds"] / r["n"]) \
            if r["method"] != "forward (logit)" and r["impl"] != "interpret" else None


def _err(exc) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f"{Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    errs = [line for line in lines if "Error: " in line]
    msg = (errs[-1] if errs else lines[0]) if lines else ""
    if not msg.startswith(type(exc).__name__):
        msg = f"{type(exc).__name__}: {msg}"
    return f"{msg[:300]} ({where})"


DESCRIBE = {
    "seed": "seed model: `Conv2D(128, (1, 24), same, relu)` on (1, 101, 4) → `GlobalMaxPooling2D` → `Dense(1)`",
    "pooled": "pooled model: `Conv1D(32, 19, relu)` → `MaxPooling1D(4)` → `Conv1D(64, 7, relu)` → "
              "`GlobalMaxPooling1D` → `Dense(32, relu)` → `Dense(3)` on (200, 4)",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=256, help="sequences explained per method")
    ap.add_argument("--refs", type=int, default=20, help="dinucleotide-shuffled references per sequence")
    ap.add_argument("--models", default="seed,pooled", help="comma-separated: seed, pooled")
    ap.add_argument("--methods", default="deepshap,gradxinput,saliency,ig,ism", help="interpret methods timed")
    ap.add_argument("--epochs", type=int, default=3, help="training epochs of the seed model (weights only need "
                                                          "to be non-trivial)")
    ap.add_argument("--epochs-pooled", type=int, default=15, help="training epochs of the pooled model")
    ap.add_argument("--peer-batch", type=int, default=1024, help="(sequence, reference) pairs per peer batch")
    ap.add_argument("--captum-shap-n", type=int, default=256, help="sequences for captum's per-sequence DeepLiftShap "
                                                                  "(the first ones; default all 256)")
    ap.add_argument("--shap-n", type=int, default=16, help="sequences for shap.DeepExplainer (per-sequence loop)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (TF uses all cores)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default="speed_peers", help="results/<name>.md")
    args = ap.parse_args()
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if "deepshap" not in args.methods:
        args.methods.insert(0, "deepshap")

    sec = Section(args.name, "Attribution speed and agreement against tangermeme, captum and shap")
    sec.data["versions"] = versions(["tensorflow-cpu", "tensorflow", "keras", "torch", "tangermeme", "captum",
                                     "shap", "numpy"])
    sec.data["args"] = vars(args)
    sec.add("Same sequences and the same dinucleotide-shuffled references (from `interpret.attribution.shuffle`) for "
            "every implementation; the PyTorch models are built layer for layer with the Keras weights "
            "copied. Times exclude a warm-up call on the same inputs (tracing, hooks, XLA/JIT compilation). *Forward passes* = time per "
            "sequence / one forward pass per sequence in the same framework (batch 1,024). "
            "*ours/theirs* < 1 means interpret's DeepSHAP takes less time per sequence. Agreement is "
            "with interpret's DeepSHAP: hypothetical contributions `(N, L, 4)` and per-position "
            "contributions `(N, L)` (shap gives no hypothetical contributions). Versions: "
            + ", ".join(f"{k} {v}" for k, v in sec.data["versions"].items()) + ".")
    results, ctxs = [], []
    for kind in [m.strip() for m in args.models.split(",") if m.strip()]:
        ctx, res = bench_model(kind, args)
        ctxs.append(ctx)
        results.append(res)
    if args.shap_n > 0:
        for ctx, res in zip(ctxs, results):
            bench_shap(ctx, res, args)
    for res in results:
        finish_rows(res)
        kind = res["kind"]
        sec.add(f"### {DESCRIBE.get(kind, kind)}\n\n"
                f"{res['n']} sequences of {res['length']} bp, {res['refs']} references each; trained "
                f"{res['epochs']} epochs (validation AUROC {res['val_auroc']:.3f}). Keras vs PyTorch forward "
                f"pass: max |logit difference| {res['forward_max_abs_diff']:.2g} (tolerance {FWD_TOL:g}).")
        sec.add(md_table(res["rows"], ["impl", "method", "framework", "n", "seconds", "seq_per_s", "fwd_passes",
                                       "ours_over_theirs", "note"],
                         ["implementation", "method", "framework", "sequences", "seconds", "seq/s",
                          "forward passes", "ours/theirs (DeepSHAP)", "note"]))
        sec.add("Agreement with interpret's DeepSHAP (largest |value| of ours: "
                f"{res['agreement'][0]['scale']:.3g}):\n")
        sec.add(md_table(res["agreement"], ["impl", "method", "n", "hyp_max_abs", "hyp_r", "pos_max_abs", "pos_r",
                                            "completeness"],
                         ["implementation", "method", "sequences", "hypothetical max abs diff",
                          "hypothetical Pearson r", "per-position max abs diff", "per-position Pearson r",
                          "completeness max abs error"]))
        c = res["maxpool_control"]
        if "max" in c:
            sec.add(f"Control (captum DeepLift vs tangermeme, first {min(32, res['n'])} sequences): with the "
                    f"model's max pooling, max |diff| {c['max']['max_abs']:.3g}, r {c['max']['r']:.3f}; with "
                    f"every max pooling replaced by average pooling, max |diff| {c['avg']['max_abs']:.3g}, "
                    f"r {c['avg']['r']:.6f}."
                    + (" They differ only in the max-pooling rule." if c["avg"]["r"] > 0.9999 else ""))
        if res["errors"]:
            sec.add("Failed:\n\n" + "\n".join(f"- {e['impl']} {e['method']}: `{e['error']}`" for e in res["errors"]))
    sec.data["models"] = results
    path = sec.write()
    print(path.read_text())


if __name__ == "__main__":
    main()
