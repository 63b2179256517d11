"""TF-MoDISco's neighbour graph and Leiden runs: time and motifs found, by setting (docs/motifs.md).

    .venv/bin/python benchmarks/modisco_settings.py     # after modisco_packages.py and e2e.py --keep

Reads the saved DeepSHAP attributions of ``benchmarks/modisco_packages.py`` (demo, pooled 200 bp,
peaks-like) and, when present, of the 5,000 and 100,000 x 101 bp runs of ``benchmarks/e2e.py
--keep``; runs ``interpret.motifs.discover`` on each with the old rule (500 or ``n/10`` neighbours,
10 Leiden runs), with 100 neighbours and 10 runs, on inputs of more than 5e6 bp with 100
neighbours and 50 runs (the rule of 2026-12-02 to 12-05), and with the package's settings now
(``auto_settings``), in this process after one warm-up call (numba's cache loaded). Each positive pattern is named by
``compare.match_to_db`` (guarded best JASPAR match, q < 0.05).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import WORK, Section, md_table  # noqa: E402

#: (label, overrides of auto_settings); ``None`` in "old" is filled per data set.
SETTINGS = [("old rule", None),
            ("100 neighbours, 10 runs", {"nearest_neighbors_to_compute": 100, "n_leiden_runs": 10}),
            ("package now", {})]


def datasets() -> list[tuple[str, Path, dict]]:
    out = [(name, WORK / "modisco_packages" / name / "attributions.h5", {})
           for name in ("demo", "pooled200", "peaks")]
    for n in (5000, 100000):
        out.append((f"{n:,} x 101 bp (e2e)", WORK / "e2e" / f"out_{n}x101" / "attributions.h5",
                    {"max_seqlets_per_metacluster": 2000}))
    return [d for d in out if d[1].exists()]


def main() -> None:
    from interpret import io
    from interpret.motifs import compare, modisco

    db = io.load_motif_db()
    sec = Section("modisco_settings", "TF-MoDISco neighbours and Leiden runs")
    rows = []
    found = datasets()
    if not found:
        raise SystemExit("no saved attributions: run benchmarks/modisco_packages.py first")
    for i, (name, path, base) in enumerate(found):
        saved = io.read_attributions(path, "deepshap")
        x, hyp, index = saved["x"], saved["deepshap"]["hypothetical"], saved["index"]
        if i == 0:  # load numba's cache outside the timings
            modisco.discover(x[:300], hyp[:300], index[:300], settings=dict(base))
        n = len(index)
        settings = list(SETTINGS)
        if n * x.shape[1] > 5_000_000:  # 2026-12-02 to 12-05 the runs followed the input, not the seqlets clustered
            settings.insert(2, ("100 neighbours, 50 runs (rule of 2026-12-02)", {"n_leiden_runs": 50}))
        for label, over in settings:
            if over is None:  # the rule before 2026-12-02
                over = {"nearest_neighbors_to_compute": int(min(max(n // 10, 100), 500)), "n_leiden_runs": 10}
            t = time.perf_counter()
            res = modisco.discover(x, hyp, index, settings={**base, **over})
            seconds = time.perf_counter() - t
            pos = [p for p in res.patterns if p.sign > 0]
            names = compare.match_to_db([p.ppm for p in pos], db)
            s = res.settings
            row = {"data": f"{name} ({n:,} seqs)", "setting": label,
                   "neighbours": s.nearest_neighbors_to_compute, "runs": s.n_leiden_runs, "seconds": seconds,
                   "patterns": ", ".join(f"{m.name if m.significant else '-'} {p.n_seqlets}"
                                         for p, m in zip(pos, names)),
                   "negative": sum(p.sign < 0 for p in res.patterns)}
            rows.append(row)
            print(row, flush=True)
    sec.add("`interpret.motifs.discover` on saved DeepSHAP attributions (20 references), one process, numba "
            "cache warm. *old rule*: `n/10` neighbours clipped to 100..500 and 10 Leiden runs (before "
            "2026-12-02); *package now*: `auto_settings` (neighbours `min(n, max_seqlets)/20` clipped to "
            "100..500, 4 runs while `min(n, max_seqlets) x L` is at most 5e6 bp; from 2026-12-02 to 12-05 "
            "the runs followed `n x L`, 50 above 5e6 bp). *patterns*: positive patterns, guarded best JASPAR match "
            "(`-`: none at q < 0.05) and seqlets; *negative*: negative patterns. The `e2e.py` sets cluster "
            "at most 2,000 seqlets per sign, as `e2e.py` runs them.")
    sec.add(md_table(rows, ["data", "setting", "neighbours", "runs", "seconds", "patterns", "negative"]))
    sec.data["rows"] = rows
    print(sec.write().read_text())


if __name__ == "__main__":
    main()
