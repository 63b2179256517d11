"""Shared helpers for the benchmark scripts: machine facts, child processes with peak memory,
Markdown tables, and one result section per script.

Every script writes ``benchmarks/results/<name>.md`` (a Markdown section with its own header:
command, date, machine load) and ``benchmarks/results/<name>.json`` (the raw numbers);
``benchmarks/make_results.py`` joins the sections into ``benchmarks/RESULTS.md``. Nothing in a
results file is typed by hand.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
WORK = HERE / "work"


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def loadavg() -> str:
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 ** 2
    except OSError:
        pass
    return None


def machine() -> dict:
    """Cores, memory (from /proc), CPU model, OS and Python: what the numbers were measured on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    mem = mem_total_gib()
    return {"cores": os.cpu_count(), "usable_cores": usable, "cpu": cpu_model(),
            "memory_gib": round(mem, 1) if mem else None, "os": platform.platform(),
            "python": platform.python_version()}


def machine_line() -> str:
    m = machine()
    return (f"{m['usable_cores']} cores ({m['cpu']}), {m['memory_gib']} GiB memory, "
            f"Python {m['python']}, {m['os']}")


def versions(packages) -> dict:
    import importlib.metadata as md

    out = {}
    for p in packages:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            pass
    return out


def command_line() -> str:
    """The command that reproduces this script's section, relative to the repository root."""
    exe = Path(sys.executable)
    try:
        exe_s = str(exe.relative_to(ROOT)) if exe.is_relative_to(ROOT) else exe.name
    except ValueError:
        exe_s = exe.name
    script = Path(sys.argv[0]).resolve()
    script_s = str(script.relative_to(ROOT)) if script.is_relative_to(ROOT) else str(script)
    return " ".join([exe_s, script_s] + [shlex.quote(a) for a in sys.argv[1:]])


def md_table(rows: list[dict], columns: list[str], headers: list[str] | None = None) -> str:
    """Markdown table of ``rows`` (dicts); floats printed with 3 significant digits."""
    def fmt(v):
        if v is None:
            return "–"
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, float):
            if v != v:
                return "–"
            if v == 0:
                return "0"
            if abs(v) >= 1000:
                return f"{v:,.0f}"
            if abs(v) >= 100:
                return f"{v:.0f}"
            if abs(v) < 1e-3:
                return f"{v:.2g}"
            return f"{v:.3g}"
        if isinstance(v, int):
            return f"{v:,}" if abs(v) >= 10000 else str(v)
        return str(v).replace("|", "\\|").replace("\n", " ")

    headers = headers or columns
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(out)


class Section:
    """One results section: ``results/<name>.md`` + ``results/<name>.json``.

    Records the command, the start time and the load average at start and end, so a reader
    can tell whether the numbers were taken on a busy machine.
    """

    def __init__(self, name: str, title: str):
        self.name, self.title = name, title
        self.started = now()
        self.load_start = loadavg()
        self.t0 = time.perf_counter()
        self.command = command_line()
        self.parts: list[str] = []
        self.data: dict = {"machine": machine(), "command": self.command, "started": self.started,
                           "load_start": self.load_start}

    def add(self, text: str) -> None:
        self.parts.append(text.rstrip() + "\n")

    def write(self) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        seconds = time.perf_counter() - self.t0
        self.data.update({"load_end": loadavg(), "seconds": round(seconds, 1)})
        head = (f"## {self.title}\n\n"
                f"Reproduce: `{self.command}` (from the repository root; {seconds / 60:.1f} min). "
                f"Measured {self.started} on {machine_line()}; load average (1/5/15 min) "
                f"{self.load_start} at start, {self.data['load_end']} at end.\n")
        text = head + "\n" + "\n".join(self.parts)
        path = RESULTS / f"{self.name}.md"
        path.write_text(text)
        (RESULTS / f"{self.name}.json").write_text(json.dumps(self.data, indent=1, default=_json_default))
        return path


def _json_default(o):
    # interpret's own conversion; anything else (versions, exceptions) recorded as its text
    from interpret.io import json_value

    try:
        return json_value(o)
    except TypeError:
        return str(o)


def run_child(cmd: list[str], env: dict | None = None, cwd=None, log=None, timeout: float | None = None) -> dict:
    """Run ``cmd`` and measure it: wall seconds, CPU seconds, peak RSS (bytes) and the exit code.

    Peak RSS comes from ``os.wait4`` (``ru_maxrss`` of the child, which on Linux includes any
    descendants it waited for), cross-checked by polling the process tree with psutil every
    0.2 s (sum of RSS over the tree), because a forked worker that is never reaped would escape
    ``ru_maxrss``. The larger of the two is reported as ``peak_rss``. ``cpu_seconds`` is user +
    system time of the child and of the descendants it waited for (forked workers, compilers).
    """
    import tempfile

    env = {**os.environ, **(env or {})}
    if log is None:
        fd, log = tempfile.mkstemp(prefix="bench_", suffix=".log")
        os.close(fd)
    out = open(log, "w")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    tree_peak = [0]
    stop = threading.Event()

    def poll():
        try:
            import psutil
        except ImportError:
            return
        try:
            root = psutil.Process(proc.pid)
        except psutil.Error:
            return
        while not stop.is_set():
            try:
                procs = [root] + root.children(recursive=True)
                rss = 0
                for p in procs:
                    try:
                        rss += p.memory_info().rss
                    except psutil.Error:
                        pass
                tree_peak[0] = max(tree_peak[0], rss)
            except psutil.Error:
                break
            stop.wait(0.2)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    try:
        if timeout is None:
            _, status, ru = os.wait4(proc.pid, 0)
        else:
            deadline = time.time() + timeout
            while True:
                pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.time() > deadline:
                    proc.kill()
                    _, status, ru = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.2)
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        stop.set()
        th.join()
        out.close()
    seconds = time.perf_counter() - t0
    stderr_tail = Path(log).read_text(errors="replace")[-2000:]
    maxrss = ru.ru_maxrss * 1024  # KiB on Linux
    return {"seconds": seconds, "cpu_seconds": ru.ru_utime + ru.ru_stime,
            "peak_rss": max(maxrss, tree_peak[0]), "ru_maxrss": maxrss,
            "tree_peak_rss": tree_peak[0], "returncode": proc.returncode, "tail": stderr_tail}


def gib(nbytes) -> float:
    return nbytes / 1024 ** 3
