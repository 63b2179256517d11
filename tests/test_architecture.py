"""The one-way flow, checked from the source:
load -> (filters | attributions | screen) -> motifs -> (compare | usage) -> effects -> report,
in wings: attribution/, motifs/, evidence/, report/, io/, with the shared pieces at the top."""

import ast
import re
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "interpret"

# What each module may import from the package, by dotted name under interpret/ (a wing's
# __init__ is the wing's name; io/ counts as one module). Stages never reach back up to the
# pipeline, the CLI or the report; only io touches files.
ALLOWED = {
    "errors": set(),
    "stats": set(),                       # the statistics shared by compare, screen and effects
    "model": {"errors"},
    "regions": {"errors"},                # load boundary: peak windows and their genome coordinates (no files)
    "io": {"errors", "model", "regions"},
    "filters": {"errors", "model"},
    # attribution wing
    "attribution": {"attribution.methods"},
    "attribution.shuffle": {"errors"},
    "attribution.recurrent": set(),      # recurrent layers split into gates and products for deeplift
    "attribution.deeplift": {"errors", "model", "attribution.recurrent"},
    "attribution.methods": {"errors", "model", "attribution.shuffle", "attribution.deeplift"},
    "attribution.usage": {"errors", "model", "attribution.methods", "filters"},  # which filters build each motif
    "attribution.distributed": {"errors", "io", "model", "attribution.methods", "__init__"},
    # motifs wing
    "motifs": {"motifs.modisco"},
    "motifs.modisco": {"errors"},
    "motifs.tomtom": {"errors"},
    "motifs.compare": {"errors", "io", "stats", "motifs.tomtom"},
    "motifs.composition": {"errors", "motifs.compare"},
    "motifs.hits": {"errors", "stats"},                                  # instances: the families fitted to contributions
    # evidence wing
    "evidence": set(),
    "evidence.edits": {"errors", "attribution.shuffle"},                 # array surgery for in-silico experiments
    "evidence.screen": {"errors", "model", "evidence.edits", "stats"},  # beside filters and attributions
    "evidence.effects": {"errors", "model", "evidence.edits", "stats", "evidence.screen"},
    # after the instances: spacing among the hits, and pairs inserted together and apart
    "evidence.grammar": {"errors", "model", "evidence.edits", "stats", "evidence.screen"},
    "evidence.names": {"motifs.compare"},  # motif groups, the screen by group, links to the run's patterns
    # the compare step after the run's own findings: planted truth, and findings across outputs and runs
    "evidence.truth": {"errors", "stats", "motifs.compare"},
    "evidence.across": {"stats", "motifs.compare", "evidence.screen"},
    # report wing
    "report": {"report.render"},
    "report.logo": set(),
    "report.combine": {"io"},             # "How motifs combine" and the partners the findings name
    "report.instances": {"io", "report.logo"},          # the "Motif instances" section, from hits.tsv
    "report.names": {"io", "evidence.names", "report.logo"},   # motif groups, the screen by group, links
    "report.across": {"io", "report.logo"},     # the index of --target all and the interpret compare page
    "report.evaluation": set(),                 # model quality and planted-truth figures
    "report.render": {"errors", "io", "report.logo", "report.combine", "report.instances", "report.names",
                      "report.across", "report.evaluation"},
    # beside the stages, and the wiring
    "jit": {"motifs.modisco", "motifs.hits", "attribution.deeplift", "attribution.shuffle"},  # numba kernels ahead of a run
    "simulate": {"io", "model"},
    "pipeline": {"errors", "io", "model", "regions", "filters", "stats", "jit", "__init__", "attribution.methods",
                 "attribution.distributed", "attribution.usage", "motifs.modisco", "motifs.compare", "motifs.hits",
                 "motifs.composition", "evidence.edits", "evidence.screen", "evidence.effects", "evidence.names",
                 "evidence.grammar", "evidence.truth", "evidence.across", "report.render"},
    "cli": {"errors", "io", "model", "pipeline", "attribution.distributed", "report.render", "jit", "__init__"},
    "__init__": {"errors", "io", "model", "pipeline"},
}

# Wings, in the order data flows: a wing imports only from wings before it (and the top-level
# shared modules errors, stats, model, regions, io, filters).
WINGS = ["attribution", "motifs", "evidence", "report"]
SHARED = {"errors", "stats", "model", "regions", "io", "filters", "__init__"}


def _name(path: Path) -> str:
    """Dotted module name under interpret/ of ``path``: ``motifs.compare``; a wing's __init__ is
    the wing; every file of io/ is ``io``."""
    parts = list(path.relative_to(PKG).with_suffix("").parts)
    if parts[0] == "io":
        return "io"
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _is_module(parts: list) -> bool:
    return bool(parts) and ((PKG.joinpath(*parts) / "__init__.py").exists()
                            or PKG.joinpath(*parts[:-1], parts[-1] + ".py").exists())


def _package_imports(path: Path) -> set:
    """Package modules ``path`` imports, resolved to the names of :data:`ALLOWED`."""
    here = list(path.relative_to(PKG).parts[:-1])  # the package the file is in
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        base = here[: len(here) - (node.level - 1)]
        mod = base + (node.module.split(".") if node.module else [])
        for t in (mod + [a.name] for a in node.names):  # a submodule, or a name from the module `mod`
            if not _is_module(t):
                t = t[:-1]
            out.add("__init__" if not t else "io" if t[0] == "io" else ".".join(t))
    here_name = _name(path)
    out.discard(here_name)
    return out


def _modules() -> dict:
    """Module name -> its files."""
    mods: dict = {}
    for p in sorted(PKG.rglob("*.py")):
        mods.setdefault(_name(p), []).append(p)
    return mods


def test_every_module_imports_only_what_its_stage_may():
    mods = _modules()
    assert len(mods["io"]) > 1  # io is a package: its files are checked together
    for name, files in mods.items():
        assert name in ALLOWED, f"new module {name}: add it to ALLOWED with its place in the flow"
        for path in files:
            extra = _package_imports(path) - ALLOWED[name]
            assert not extra, f"{path.relative_to(PKG)} imports {sorted(extra)}: that reaches against the one-way flow"
    assert set(mods) == set(ALLOWED)


def test_wings_import_only_from_wings_before_them():
    for name, allowed in ALLOWED.items():
        wing = name.split(".")[0]
        if wing not in WINGS:
            continue
        for other in allowed:
            o = other.split(".")[0]
            assert o in SHARED or o == wing or (o in WINGS and WINGS.index(o) < WINGS.index(wing)), (name, other)


def test_the_resolver_sees_a_reaching_import(tmp_path):
    """The check above can fail: an import against the flow is found in every form."""
    fake = PKG / "motifs" / "_probe_reach.py"
    fake.write_text("from ..report import render\nfrom ..evidence.screen import screen\nfrom .. import pipeline\n")
    try:
        assert _package_imports(fake) == {"report.render", "evidence.screen", "pipeline"}
    finally:
        fake.unlink()


def test_public_names_stay_where_the_readme_shows_them():
    import interpret
    from interpret.attribution import DeepShap, GradientXInput
    from interpret.attribution.usage import filter_contributions
    from interpret.motifs import discover
    from interpret.report import render_report

    assert callable(interpret.load_model) and callable(interpret.run) and callable(filter_contributions)
    assert DeepShap.__module__ == GradientXInput.__module__ == "interpret.attribution.methods"
    assert discover.__module__ == "interpret.motifs.modisco" and render_report.__module__ == "interpret.report.render"


def test_only_io_opens_files():
    pattern = re.compile(r"h5py\.File|np\.load\(|np\.save|(?<![.\w])open\(|(?<!io)\.write_text\(|(?<!io)\.read_text\(")
    mods = _modules()
    assert any(pattern.search(p.read_text()) for p in mods["io"])  # the pattern finds io's own file access
    offenders = [str(p.relative_to(PKG)) for name, files in mods.items() for p in files
                 if name not in ("io", "cli") and pattern.search(p.read_text())]
    assert offenders == []
