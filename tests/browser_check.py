"""Load a report in headless Chromium from disk and measure its layout from the page's own element sizes.

Run with ``make browser-test`` (installs Debian's chromium if missing), or directly::

    .venv/bin/python tests/browser_check.py [REPORT.html] [--shots DIR]

Without a report it renders the layout stress case, ``tests/test_report.write_layout_output``:
512 filters, 60 motifs of which one is 50 bp wide, hundreds of filters per motif, 1,000-bp
sequences, every column and section filled in. Chromium is driven over the DevTools protocol on
a pipe (``--remote-debugging-pipe``, Python's standard library only); the page has no scripts of
its own, so the measurements are expressions evaluated by the protocol in the loaded page. Checks:

- the page loads from a ``file://`` path with every host unresolvable, asks for nothing but
  ``file:`` and ``data:`` URLs, and logs no console message or exception;
- the loaded DOM holds every section, the filter and motif rows and the logos of the source file;
- at :data:`WIDTHS` px (1,280 and 1,024) nothing scrolls horizontally: neither the page nor any
  scroll box, no table or logo reaches past the window's right edge, and no element that hides its
  overflow cuts off content;
- the tallest row of each table, measured, is within :data:`ROW_BUDGET` (printed for every table);
- screenshots (the first screen and each section at 1,280 px) are not blank.

Screenshots go to ``--shots`` (default ``$TMPDIR/interpret-browser-check``). Exit status 0 when all pass.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ["summary", "motifs", "screen", "filters", "heatmap", "examples", "grammar", "howto"]
#: Window widths measured (px): a laptop and a small screen.
WIDTHS = (1280, 1024)
#: Window height (px) of the first screen.
SCREEN_HEIGHT = 860
#: Tallest row allowed per table class at 1,280 px: a motif row holds two logos, up to
#: :data:`interpret.report.MAX_FILTERS_PER_MOTIF` filters in each list and its effect; a filter row
#: its logos and a JASPAR logo over the name, q and composition badges (91 px measured). Anything
#: taller is a list or a logo out of bounds.
ROW_BUDGET = {"motifs": 220, "minor": 80, "filters": 100, "screen": 70, "grammar": 90}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND"]

# Evaluated in the loaded page. Sections are drawn lazily (content-visibility: auto), so the
# measurement first makes every section visible, as scrolling to it would.
MEASURE = r"""
(() => {
  for (const s of document.querySelectorAll('section')) s.style.contentVisibility = 'visible';
  const de = document.documentElement, vw = de.clientWidth;
  const where = el => (el.closest('section') || {}).id || 'page';
  const name = el => el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined && el.className
                     ? '.' + el.className.split(' ').join('.') : (el.getAttribute('class') ? '.' + el.getAttribute('class') : ''));
  const out = {width: vw, page_overflow: de.scrollWidth - vw, boxes: [], tables: [], outside: []};
  for (const el of document.querySelectorAll('main *, header *, nav *')) {
    const ox = getComputedStyle(el).overflowX;
    if ((ox === 'auto' || ox === 'scroll') && el.scrollWidth - el.clientWidth > 1)
      out.boxes.push({el: name(el), section: where(el), overflow: el.scrollWidth - el.clientWidth});
  }
  out.clipped = [];
  for (const el of document.querySelectorAll('main *')) {
    if (getComputedStyle(el).overflowX === 'hidden' && el.scrollWidth - el.clientWidth > 1 && out.clipped.length < 10)
      out.clipped.push({el: name(el), section: where(el), text: el.innerText.slice(0, 40),
                        hidden: el.scrollWidth - el.clientWidth});
  }
  for (const el of document.querySelectorAll('main table, main svg, main img')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > vw + 0.5 && out.outside.length < 10)
      out.outside.push({el: name(el), section: where(el), right: Math.round(r.right)});
  }
  for (const t of document.querySelectorAll('main table')) {
    let tallest = 0, label = '';
    for (const row of t.rows) {
      const h = row.getBoundingClientRect().height;
      if (h > tallest) { tallest = h; label = row.dataset.motif || row.dataset.family || row.dataset.filter ||
                                              (row.cells[0] ? row.cells[0].innerText.slice(0, 30) : ''); }
    }
    const r = t.getBoundingClientRect();
    out.tables.push({cls: t.getAttribute('class') || '', section: where(t), rows: t.rows.length,
                     width: Math.round(r.width), right: Math.round(r.right), tallest: Math.round(tallest),
                     tallest_row: label});
  }
  out.sections = [...document.querySelectorAll('section')].map(s => {
    const r = s.getBoundingClientRect();
    return {id: s.id, top: Math.round(r.top + window.scrollY), height: Math.round(r.height)};
  });
  out.height = de.scrollHeight;
  return JSON.stringify(out);
})()
"""

COUNT = r"""
JSON.stringify({
  sections: [...document.querySelectorAll('section')].map(s => s.id),
  filter_rows: document.querySelectorAll('tr.filter-row').length,
  motif_rows: document.querySelectorAll('tr.motif-row').length,
  logos: document.querySelectorAll('svg.logo').length,
  letters: document.querySelectorAll('use').length,
})
"""


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("chromium not found: install it with `apt-get install -y chromium` (make browser-test does).")


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe: Chromium reads commands from
    its fd 3 and writes replies and events to its fd 4, each a JSON text ended by a NUL byte."""

    def __init__(self, chrome: str, timeout: float = 180):
        self.profile = tempfile.TemporaryDirectory()
        to_chrome, self._cmd = os.pipe()
        self._res, from_chrome = os.pipe()

        def fds():
            # Chromium wants the pipe on fds 3 and 4, whatever fds this process happens to hold
            # (pass_fds=(3, 4) fails when 3 or 4 is not open here). os.dup returns fds >= 3, so the
            # second copy is never 3 and neither dup2 clobbers the other; dup2 onto itself keeps
            # close-on-exec, hence set_inheritable.
            a, b = os.dup(to_chrome), os.dup(from_chrome)
            for src, dst in ((a, 3), (b, 4)):
                os.dup2(src, dst)
                os.set_inheritable(dst, True)

        self.proc = subprocess.Popen([chrome, *FLAGS, f"--user-data-dir={self.profile.name}",
                                      "--remote-debugging-pipe", "about:blank"],
                                     close_fds=False, preexec_fn=fds, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome)
        os.close(from_chrome)
        self.timeout, self.events, self._buf, self._id = timeout, [], b"", 0

    def _read(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._res, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe (crashed?)")
            self._buf += chunk
        msg, _, self._buf = self._buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str) -> dict:
        for k, e in enumerate(self.events):
            if e.get("method") == method and e.get("sessionId") == session:
                return self.events.pop(k)
        while True:
            e = self._read()
            if e.get("method") == method and e.get("sessionId") == session:
                return e
            self.events.append(e)

    def open(self, url: str, width: int, height: int = SCREEN_HEIGHT) -> str:
        """A new tab of ``width`` x ``height`` CSS px with ``url`` loaded; returns its session id."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=session)
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False}, session)
        self.call("Page.navigate", {"url": url}, session)
        self.wait_for("Page.loadEventFired", session)
        return session

    def evaluate(self, session: str, expression: str):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
        if "exceptionDetails" in r:
            raise RuntimeError(f"measurement failed: {r['exceptionDetails']}")
        return json.loads(r["result"]["value"])

    def screenshot(self, session: str, path: Path, x: float, y: float, width: float, height: float) -> Path:
        r = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                 "clip": {"x": x, "y": y, "width": width, "height": height,
                                                          "scale": 1}}, session)
        path.write_bytes(base64.b64decode(r["data"]))
        return path

    def problems(self) -> list[str]:
        """Console messages, exceptions and requests for anything but file: and data: URLs."""
        bad = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled":
                bad.append(f"console.{p.get('type')}: {[a.get('value') for a in p.get('args', [])]}")
            elif m == "Runtime.exceptionThrown":
                bad.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
            elif m == "Log.entryAdded":
                bad.append(f"log: {p['entry'].get('level')}: {p['entry'].get('text')}")
            elif m == "Network.requestWillBeSent":
                url = p.get("request", {}).get("url", "")
                if not url.startswith(("file:", "data:", "about:")):
                    bad.append(f"network: {url}")
        return bad

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (EOFError, OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._cmd)
        os.close(self._res)
        self.profile.cleanup()


def not_blank(png: Path) -> float:
    """Fraction of non-white pixels in a screenshot."""
    from PIL import Image
    import numpy as np

    img = np.asarray(Image.open(png).convert("L"), dtype=np.uint8)
    return float((img < 245).mean())


def make_report(where: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_report import write_layout_output

    from interpret.report.render import render_report

    write_layout_output(where)
    return render_report(where, figures=False)


def layout_failures(m: dict, strict_rows: bool) -> list[str]:
    """What the measurement ``m`` of one width breaks (see the module docstring)."""
    w = m["width"]
    bad = []
    if m["page_overflow"] > 0:
        bad.append(f"{w} px: the page scrolls sideways by {m['page_overflow']} px")
    bad += [f"{w} px: {b['el']} in {b['section']} scrolls sideways by {b['overflow']} px" for b in m["boxes"]]
    bad += [f"{w} px: {o['el']} in {o['section']} ends at {o['right']} px" for o in m["outside"]]
    bad += [f"{w} px: {c['el']} in {c['section']} hides {c['hidden']} px of its content ({c['text']!r})"
            for c in m["clipped"]]
    if strict_rows:
        for t in m["tables"]:
            budget = next((v for k, v in ROW_BUDGET.items() if k in t["cls"].split()), None)
            if budget is not None and t["tallest"] > budget:
                bad.append(f"{w} px: table.{t['cls']} has a {t['tallest']}-px row ({t['tallest_row']}), "
                           f"budget {budget}")
    return bad


def print_measurement(m: dict) -> None:
    print(f"  {m['width']} px: page {m['height']:,} px high, sideways overflow {m['page_overflow']} px, "
          f"{len(m['boxes'])} scroll boxes overflowing")
    for t in m["tables"]:
        print(f"    table.{t['cls'] or '-':<16} {t['section']:<9} {t['rows']:>4} rows, {t['width']:>5} px wide "
              f"(right edge {t['right']}), tallest row {t['tallest']:>4} px ({t['tallest_row']})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", nargs="?", help="report.html to load (default: the synthetic layout stress case)")
    ap.add_argument("--shots", default=str(Path(tempfile.gettempdir()) / "interpret-browser-check"),
                    help="directory for the screenshots")
    args = ap.parse_args(argv)
    chrome = find_chromium()
    tmp = tempfile.TemporaryDirectory()
    report = Path(args.report).resolve() if args.report else make_report(Path(tmp.name) / "out")
    if not report.exists():
        sys.exit(f"{report} does not exist")
    source = report.read_text(encoding="utf-8")
    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    failures = []
    browser = Chromium(chrome)
    try:
        for width in WIDTHS:
            t = time.perf_counter()
            session = browser.open(report.as_uri(), width)
            seconds = time.perf_counter() - t
            if width == WIDTHS[0]:
                print(f"loaded {report} ({len(source) / 1e6:.1f} MB) in {seconds:.1f} s")
                counts = browser.evaluate(session, COUNT)
                missing = [s for s in SECTIONS if s not in counts["sections"]]
                failures += [f"section {s} missing from the page" for s in missing]
                for what, key, pat in (("filter rows", "filter_rows", r'<tr class="filter-row'),
                                       ("motif rows", "motif_rows", r'<tr class="motif-row"'),
                                       ("logos", "logos", r'<svg [^>]*class="logo[ "]'), ("letters", "letters", r"<use ")):
                    want = len(re.findall(pat, source))
                    print(f"  {what}: {counts[key]:,} in the page (source {want:,})")
                    if counts[key] != want:
                        failures.append(f"{what}: {counts[key]} in the page, {want} in the file")
                if counts["letters"] == 0:
                    failures.append("no logo letters in the page: it is blank")
            m = browser.evaluate(session, MEASURE)
            print_measurement(m)
            failures += layout_failures(m, strict_rows=width == WIDTHS[0])
            tops = {s["id"]: s for s in m["sections"]}
            views = [("first_screen", 0, SCREEN_HEIGHT)] + [
                (sid, tops[sid]["top"], min(tops[sid]["height"], 2400)) for sid in SECTIONS if sid in tops]
            for name, y, h in (views if width == WIDTHS[0] else views[:3]):
                png = browser.screenshot(session, shots / f"{width}_{name}.png", 0, y, width, max(h, 1))
                ink = not_blank(png)
                print(f"    screenshot {png} ({width}x{h} from y={y}, {100 * ink:.1f}% ink)")
                if ink < 0.01:
                    failures.append(f"screenshot {png} is blank ({100 * ink:.2f}% non-white)")
            browser.call("Target.closeTarget", {"targetId": browser.call("Target.getTargetInfo", session=session)
                                                ["targetInfo"]["targetId"]})
        failures += browser.problems()
    finally:
        browser.close()
        tmp.cleanup()
    if failures:
        print("FAILED:\n  " + "\n  ".join(dict.fromkeys(failures)))
        return 1
    print("browser check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
