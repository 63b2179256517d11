"""Build the example: planted JASPAR motifs, the seed's model trained on them, saved as model.h5 + data.npz.

    python examples/make_example.py --out examples/demo

CREB1 (MA0018.5, 8 bp), CEBPB (MA0466.4, 10 bp) and CTCF (MA0139.2, 15 bp) make a sequence
positive; FOXA2 (MA0047.4) is planted at the same rate in both classes, so the model has no
reason to learn it. The model is the seed's: Conv2D(128, (1, 24), same, ReLU) on (1, 101, 4)
-> GlobalMaxPool2D -> Dense(1, sigmoid). Everything is seeded.
"""

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="examples/demo", help="directory for model.h5 and data.npz")
    ap.add_argument("--n", type=int, default=4000, help="number of sequences (half positive)")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from interpret import simulate

    sim = simulate.example(n=args.n, seed=args.seed)
    model = simulate.seed_model(filters=128, width=24, layout="1L4", seed=args.seed)
    hist = simulate.train(model, sim.x, sim.y, epochs=args.epochs, seed=args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.h5")
    # The seed's users keep (N, 1, L, 4) uint8 arrays; the loader converts them.
    np.savez_compressed(out / "data.npz", x=sim.x[:, None].astype(np.uint8), y=sim.y.astype(np.uint8))
    truth = {"predictive": sim.motif_ids, "decoy": sim.decoy_ids,
             "sites": [[list(s) for s in seq] for seq in sim.sites],
             "val_auroc": float(hist.history["val_auroc"][-1])}
    (out / "truth.json").write_text(json.dumps(truth))
    print(f"model.h5, data.npz ({len(sim.x)} sequences, {int(sim.y.sum())} positive), "
          f"validation AUROC {truth['val_auroc']:.3f} -> {out}")


if __name__ == "__main__":
    main()
