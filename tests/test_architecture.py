"""The one-way flow, checked from the source:
load -> (filters | attributions | screen) -> motifs -> (compare | usage) -> effects -> report."""

import ast
import re
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "interpret"

# What each module may import from the package. Stages never reach back up to the pipeline,
# the CLI or the report; only io (a package: interpret/io/) touches files (the scripts-like simulate and
# distributed through it).
ALLOWED = {
    "errors": set(),
    "model": {"errors"},
    "regions": {"errors"},  # load boundary: peak windows and their genome coordinates (no files)
    "io": {"errors", "model", "regions"},
    "shuffle": {"errors"},
    "recurrent": set(),  # attribution internals: recurrent layers split into gates and products for deeplift
    "deeplift": {"errors", "model", "recurrent"},
    "attribution": {"errors", "model", "shuffle", "deeplift"},
    "filters": {"errors", "model"},
    "stats": set(),                                            # statistics of compare, screen, effects
    "tomtom": {"errors"},                                      # compare's TOMTOM statistic (NumPy)
    "compare": {"errors", "io", "stats", "tomtom"},
    "composition": {"errors", "compare"},     # compare stage: flags on the cores compare matches
    "edits": {"errors", "shuffle"},                            # array surgery for in-silico experiments
    "screen": {"errors", "model", "edits", "stats"},           # stage beside filters and attributions
    "effects": {"errors", "model", "edits", "stats", "screen"},  # after motifs: effect sizes of findings
    "motifs": {"errors"},
    "usage": {"errors", "model", "attribution", "filters"},  # beside compare: which filters build each motif
    "jit": {"motifs", "deeplift", "shuffle"},  # beside the stages: compiles numba kernels ahead of a run
    "logo": set(),
    "report": {"errors", "io", "logo"},
    "simulate": {"io", "model"},
    "distributed": {"errors", "io", "attribution", "__init__"},
    "pipeline": {"errors", "io", "model", "regions", "attribution", "distributed", "filters", "compare", "composition",
                 "motifs", "usage", "jit", "report", "__init__", "edits", "screen", "effects", "stats"},
    "cli": {"errors", "io", "pipeline", "distributed", "report", "jit", "__init__"},  # jit: before TF imports
    "__init__": {"errors", "io", "model", "pipeline"},
}


def _package_imports(path: Path, level: int = 1) -> set:
    """Package modules ``path`` imports; ``level`` 2 for a file of a subpackage (its siblings are not counted)."""
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == level:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update("__init__" if a.name == "__version__" else a.name for a in node.names)
    return out


def _modules() -> dict:
    """Module name -> its files: ``interpret/x.py``, and the subpackage ``interpret/io/`` as the one module io."""
    mods = {p.stem: [(p, 1)] for p in sorted(PKG.glob("*.py"))}
    for sub in sorted(d for d in PKG.iterdir() if (d / "__init__.py").exists()):
        assert sub.name not in mods, sub
        mods[sub.name] = [(p, 2) for p in sorted(sub.glob("*.py"))]
    return mods


def test_every_module_imports_only_what_its_stage_may():
    mods = _modules()
    assert len(mods["io"]) > 1  # io is a package: its files are checked together
    for name, files in mods.items():
        assert name in ALLOWED, f"new module {name}: add it to ALLOWED with its place in the flow"
        for path, level in files:
            extra = _package_imports(path, level) - ALLOWED[name]
            assert not extra, f"{path.name} of {name} imports {sorted(extra)}: that reaches against the one-way flow"
    assert set(mods) == set(ALLOWED)


def test_only_io_opens_files():
    pattern = re.compile(r"h5py\.File|np\.load\(|np\.save|(?<![.\w])open\(|(?<!io)\.write_text\(|(?<!io)\.read_text\(")
    mods = _modules()
    assert any(pattern.search(p.read_text()) for p, _ in mods["io"])  # the pattern finds io's own file access
    offenders = [p.name for name, files in mods.items() for p, _ in files
                 if name not in ("io", "cli") and pattern.search(p.read_text())]
    assert offenders == []
