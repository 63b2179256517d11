"""How long do the logos of a report take? interpret.report.logo (SVG, and matplotlib) against logomaker.

    .venv/bin/python benchmarks/logo_speed.py [--quick]

Writes ``benchmarks/results/logo_speed.md`` with the numbers measured on this machine:

1. every logo of a 128-filter report drawn as SVG strings by :func:`interpret.report.logo.logo_svg`
   (128 filters x 2 views, JASPAR matches, motifs x 3 views, the filters shown beside motifs,
   example tracks);
2. 128 filter logos in one matplotlib grid saved as PDF: ``draw_logo(backend="fast")`` vs
   ``logomaker.Logo`` (the 61.5 s reference measurement was this case);
3. single logos through ``logo_svg(backend="logomaker")``;
4. ``render_report`` end to end on synthetic 128- and 512-filter output directories.

``--quick`` draws 32 logomaker logos instead of 128 (and says so in the file).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from interpret import logo  # noqa: E402


def timed(fn, repeat=1):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def report_logos(rng, n_filters=128, width=19, n_motifs=10, n_examples=5, n_methods=2, length=101):
    """Every SVG logo a 128-filter report draws, with the report's sizes."""
    ppm = rng.dirichlet(np.full(4, 0.4), size=(n_filters, width))
    w = rng.normal(size=(n_filters, width, 4))
    jaspar = rng.dirichlet(np.full(4, 0.3), size=(n_filters // 2, 12))
    mppm = rng.dirichlet(np.full(4, 0.3), size=(n_motifs, 14))
    cwm = mppm * rng.uniform(0.1, 1, size=(n_motifs, 14, 1))
    tracks = rng.normal(scale=0.05, size=(n_examples * n_methods, length, 4)) * \
        np.eye(4)[rng.integers(0, 4, size=(n_examples * n_methods, length))]

    def draw():
        out = []
        for p, k in zip(ppm, w):
            out.append(logo.logo_svg(p, "bits", height=44, col_width=8, defs=False))
            out.append(logo.logo_svg(k - k.mean(1, keepdims=True), "contrib", height=44, col_width=8, defs=False))
        out += [logo.logo_svg(j, "bits", height=30, col_width=5, defs=False) for j in jaspar]
        for p, c in zip(mppm, cwm):
            out.append(logo.logo_svg(c, "contrib", height=50, col_width=10, defs=False))
            out.append(logo.logo_svg(p, "bits", height=50, col_width=10, defs=False))
            out.append(logo.logo_svg(jaspar[0], "bits", height=50, col_width=8, defs=False))
            out += [logo.logo_svg(f, "bits", height=34, col_width=6, defs=False, axis=False) for f in ppm[:6]]
        out += [logo.logo_svg(t, "contrib", height=70, col_width=9, defs=False, xticks=10) for t in tracks]
        return out

    return draw


def grid(ppms, backend):
    n = len(ppms)
    ncol = 8
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(16, nrow * 0.9), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, p in zip(axes.flat, ppms):
        logo.draw_logo(ax, p, "bits", backend=backend)
        ax.set_xticks([])
        ax.set_yticks([])
    with tempfile.TemporaryDirectory() as d:
        fig.savefig(Path(d) / "grid.pdf")
    plt.close(fig)


def report_dirs():
    from test_report import write_fake_output

    from interpret.report.render import render_report

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, kw in (("128 filters, 10 motifs, 101 bp",
                          dict(n_filters=128, n_motifs=10, n_seqs=200, length=101, width=19, n_never=6, seed=2)),
                         ("512 filters, 50 motifs, 1,000 bp",
                          dict(n_filters=512, n_motifs=50, n_seqs=200, length=1000, width=24, n_never=40, seed=3))):
            d = Path(tmp) / name.split()[0]
            write_fake_output(d, **kw)
            t_html, path = timed(lambda: render_report(d, figures=False))
            t_all, _ = timed(lambda: render_report(d, figures=True))
            html = path.read_text()
            rows.append((name, t_html, t_all, path.stat().st_size / 1e6, html.count("<use "),
                         html.count('class="logo')))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="32 logomaker logos instead of 128")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "logo_speed.md"))
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    n_lm = 32 if args.quick else 128

    logo.glyph_svg_d("A")  # glyph outlines are computed once per process; include that below
    logo.glyph_path.cache_clear()
    logo.glyph_svg_d.cache_clear()
    t_glyphs, _ = timed(lambda: [logo.glyph_svg_d(a) for a in "ACGT"])
    draw = report_logos(rng)
    t_svg, svgs = timed(draw, repeat=3)
    n_svg = len(svgs)
    svg_bytes = sum(map(len, svgs))

    ppms = rng.dirichlet(np.full(4, 0.4), size=(128, 19))
    grid(ppms[:8], "fast")  # warm up matplotlib (fonts, backends) before timing either backend
    t_fast_grid, _ = timed(lambda: grid(ppms, "fast"))
    print(f"fast matplotlib grid of 128: {t_fast_grid:.2f} s", file=sys.stderr)
    t_lm_grid, _ = timed(lambda: grid(ppms[:n_lm], "logomaker"))
    print(f"logomaker grid of {n_lm}: {t_lm_grid:.2f} s", file=sys.stderr)
    t_lm_svg, _ = timed(lambda: [logo.logo_svg(p, "bits", backend="logomaker") for p in ppms[:16]])
    print(f"logomaker svg x16: {t_lm_svg:.2f} s", file=sys.stderr)

    reports = report_dirs()

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    import logomaker

    lines = [
        "# Logo drawing speed",
        "",
        f"Measured {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} by `benchmarks/logo_speed.py`"
        f"{' --quick' if args.quick else ''} on {os.cpu_count()} cores ({cpu}), load average {load:.1f} "
        f"(other jobs were running), Python {platform.python_version()}, matplotlib {matplotlib.__version__}, "
        f"logomaker {logomaker.__version__}. Times are wall-clock; SVG times are the best of 3.",
        "",
        "| what | logos | time | per logo |",
        "|---|---:|---:|---:|",
        f"| glyph outlines A C G T (once per process) | 4 | {1000 * t_glyphs:.1f} ms | |",
        f"| `logo_svg`: every logo of a 128-filter report (128 x 2 filter views, 64 JASPAR, 10 motifs x 9, "
        f"10 example tracks) | {n_svg} | {t_svg:.3f} s | {1e6 * t_svg / n_svg:.0f} µs |",
        f"| `draw_logo(backend='fast')`: 128 logos in one matplotlib grid, saved as PDF | 128 | {t_fast_grid:.2f} s "
        f"| {1000 * t_fast_grid / 128:.1f} ms |",
        f"| `logomaker.Logo`: {n_lm} logos in one matplotlib grid, saved as PDF | {n_lm} | {t_lm_grid:.2f} s "
        f"| {1000 * t_lm_grid / n_lm:.0f} ms |",
        f"| `logo_svg(backend='logomaker')`: one figure per logo | 16 | {t_lm_svg:.2f} s | {1000 * t_lm_svg / 16:.0f} ms |",
        "",
        f"Goal: every logo of a 128-filter report in under 10 s on 2 cores. `logo_svg` draws all {n_svg} in "
        f"{t_svg:.2f} s ({svg_bytes / 1e6:.1f} MB of SVG, glyphs referenced, not repeated); logomaker would need "
        f"about {t_lm_grid / n_lm * n_svg:.0f} s for the same {n_svg} logos at its grid rate "
        f"({t_lm_grid / n_lm / (t_svg / n_svg):.0f}x slower per logo). For the PDF figures the same glyphs drawn as "
        f"one matplotlib PatchCollection per logo are {t_lm_grid / n_lm / (t_fast_grid / 128):.0f}x faster than "
        "logomaker.",
        "",
        "## `render_report` end to end (synthetic output directories)",
        "",
        "| directory | HTML only | HTML + figures (SVG + PDF) | report.html | letters (`<use>`) | logos |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, t_html, t_all, mb, n_use, n_logos in reports:
        lines.append(f"| {name} | {t_html:.2f} s | {t_all:.2f} s | {mb:.1f} MB | {n_use:,} | {n_logos:,} |")
    lines += ["", "The figures' time is mostly matplotlib's layout and PDF/SVG writing, not the logos.", ""]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
