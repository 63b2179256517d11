"""Load a report in headless Chromium from disk; fail on console messages, a blank page or network use.

Run with ``make browser-test`` (installs Debian's chromium if missing), or directly::

    .venv/bin/python tests/browser_check.py [REPORT.html] [--big] [--shots DIR]

Without a report it renders a synthetic 128-filter output directory (``--big``: 512 filters,
50 motifs, 1,000 bp) with ``tests/test_report.write_fake_output``. Checks:

- the page loads from a ``file://`` path with every host unresolvable (any network fetch fails);
- Chromium logs no console message (the page has no scripts, so any message is an error);
- the rendered DOM holds every section, the filter rows and the logos of the source file;
- screenshots (top of the page and each section) are not blank.

Screenshots go to ``--shots`` (default ``$TMPDIR/interpret-browser-check``). Exit status 0 when all pass.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ["summary", "motifs", "filters", "heatmap", "examples", "howto"]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND"]
NOISE = re.compile(r"dbus|bluez|vaapi|sandbox|idle_linux|gpu_init|viz_main|Fontconfig|ScreenSaver|"
                   r"unexpected operator|egl|angle|gl_surface|command_buffer", re.I)


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("chromium not found: install it with `apt-get install -y chromium` (make browser-test does).")


def run_chromium(chrome: str, url: str, extra: list[str], timeout: int = 180) -> tuple[str, str, float]:
    with tempfile.TemporaryDirectory() as profile:
        cmd = [chrome, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *extra, url]
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        seconds = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"chromium exited with {proc.returncode}:\n{proc.stderr[-2000:]}")
    return proc.stdout, proc.stderr, seconds


def problems_in_log(stderr: str) -> list[str]:
    """Console messages, failed loads and renderer crashes in Chromium's log."""
    bad = []
    for line in stderr.splitlines():
        if NOISE.search(line):
            continue
        if ("CONSOLE" in line or "net::ERR" in line or "Failed to load" in line
                or "crash" in line.lower() or "Uncaught" in line):
            bad.append(line.strip())
    return bad


def not_blank(png: Path) -> float:
    """Fraction of non-white pixels in a screenshot."""
    from PIL import Image
    import numpy as np

    img = np.asarray(Image.open(png).convert("L"), dtype=np.uint8)
    return float((img < 245).mean())


def cut(png: Path, step: int) -> list[Path]:
    """Pieces ``<name>_<k>.png`` of ``step`` px height (image viewers shrink tall images)."""
    from PIL import Image

    img = Image.open(png)
    out = []
    for k, top in enumerate(range(0, img.height, step)):
        piece = png.with_name(f"{png.stem}_{k}.png")
        img.crop((0, top, img.width, min(img.height, top + step))).save(piece)
        out.append(piece)
    return out


def make_report(big: bool, where: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_report import write_fake_output

    from interpret.report import render_report

    if big:
        write_fake_output(where, n_filters=512, n_motifs=50, n_seqs=200, length=1000, width=24, n_never=40, seed=3)
    else:
        write_fake_output(where, n_filters=128, n_motifs=10, n_seqs=200, length=101, width=19, n_never=6, seed=2)
    return render_report(where, figures=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", nargs="?", help="report.html to load (default: a synthetic one)")
    ap.add_argument("--big", action="store_true", help="synthetic report with 512 filters and 50 motifs")
    ap.add_argument("--shots", default=str(Path(tempfile.gettempdir()) / "interpret-browser-check"),
                    help="directory for the screenshots")
    args = ap.parse_args(argv)
    chrome = find_chromium()
    tmp = tempfile.TemporaryDirectory()
    report = Path(args.report).resolve() if args.report else make_report(args.big, Path(tmp.name) / "out")
    if not report.exists():
        sys.exit(f"{report} does not exist")
    source = report.read_text(encoding="utf-8")
    url = report.as_uri()
    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    failures = []

    dom, log, seconds = run_chromium(chrome, url, ["--dump-dom"])
    print(f"loaded {report} ({len(source) / 1e6:.1f} MB) in {seconds:.1f} s (chromium start to DOM dump)")
    failures += [f"log: {line}" for line in problems_in_log(log)]
    for sid in SECTIONS:
        if f'id="{sid}"' not in dom:
            failures.append(f"section {sid} missing from the rendered DOM")
    for what, pat in (("filter rows", 'class="filter-row'), ("motif rows", 'class="motif-row"'),
                      ("logos", '<svg xmlns="http://www.w3.org/2000/svg" class="logo'), ("letters", "<use ")):
        want, got = source.count(pat), dom.count(pat)
        print(f"  {what}: {got} rendered (source {want})")
        if got != want:
            failures.append(f"{what}: {got} in the DOM, {want} in the file")
    if dom.count("<use ") == 0:
        failures.append("no logo letters in the DOM: the page is blank")
    external = re.findall(r'(?:src|href)="(https?:[^"]+)"', dom)
    if external:
        failures.append(f"external resources: {external[:3]}")

    # one tall screenshot of the whole page, cut into pieces a person can look at
    png = shots / "report_full.png"
    png.unlink(missing_ok=True)
    height = min(16000, 1200 + 70 * source.count('class="filter-row') + 110 * source.count('class="motif-row"'))
    _, log, seconds = run_chromium(chrome, url, [f"--screenshot={png}", f"--window-size=1400,{height}"])
    failures += [f"log (screenshot): {line}" for line in problems_in_log(log)]
    if not png.exists():
        failures.append(f"no screenshot {png}")
    else:
        ink = not_blank(png)
        print(f"  screenshot {png} 1400x{height} ({seconds:.1f} s, {100 * ink:.1f}% ink)")
        if ink < 0.01:
            failures.append(f"screenshot {png} is blank ({100 * ink:.2f}% non-white)")
        for k, part in enumerate(cut(png, 2000)):
            print(f"    {part}")
    tmp.cleanup()
    if failures:
        print("FAILED:\n  " + "\n  ".join(dict.fromkeys(failures)))
        return 1
    print("browser check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
