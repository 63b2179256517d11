"""Regenerate interpret/data/JASPAR2026_CORE_vertebrates_nr.meme from the pyjaspar package.

pyjaspar ships the JASPAR SQLite databases, so nothing is downloaded:

    pip install pyjaspar && python scripts/make_jaspar.py

JASPAR is distributed under CC BY 4.0 (Rauluseviciute et al., NAR 2024; jaspar.elixir.no).
"""

import sys
from pathlib import Path

import numpy as np
from pyjaspar import jaspardb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from interpret.io import Motif, write_meme  # noqa: E402

RELEASE = "JASPAR2026"


def main() -> None:
    db = jaspardb(release=RELEASE)
    # all_versions=False keeps the latest version of each matrix: the non-redundant set.
    matrices = db.fetch_motifs(collection="CORE", tax_group=["vertebrates"], all_versions=False)
    motifs = []
    for m in sorted(matrices, key=lambda m: m.matrix_id):
        counts = np.array([m.counts[b] for b in "ACGT"], dtype=float).T
        nsites = int(round(counts.sum(axis=1).max()))
        ppm = (counts + 0.01) / (counts + 0.01).sum(axis=1, keepdims=True)
        motifs.append(Motif(m.matrix_id, ppm, m.name.replace(" ", "_"), max(nsites, 1)))
    out = Path(__file__).resolve().parents[1] / "interpret" / "data" / f"{RELEASE}_CORE_vertebrates_nr.meme"
    write_meme(out, motifs)
    print(f"{len(motifs)} motifs -> {out}")


if __name__ == "__main__":
    main()
