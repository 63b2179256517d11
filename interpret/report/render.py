"""The HTML report and the figures, rendered from a finished output directory only.

Nothing is recomputed here: :func:`render_report` reads the files listed in
``docs/CONTRACTS.md`` (``summary.json``, ``filters.*``, ``motifs.*``, ``comparison.tsv``,
``motif_filters.tsv``, ``seqlets.tsv``, ``attributions.h5``) and writes

- ``report.html``: one self-contained page (inline CSS, inline SVG, no scripts, no network),
  readable from a ``file://`` path; and
- ``figures/motifs.svg|.pdf`` and ``figures/filters.svg|.pdf``: journal-page figures.

Any optional piece may be missing (no motifs found, no attributions for a method, no JASPAR
match); the page then says so where the piece would have been.

Logos come from :mod:`interpret.report.logo`: the letter outlines are defined once per page and each
letter is a ``<use>``, so a 512-filter report stays a few MB and renders in well under a second.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import io
from . import combine, evaluation, instances, logo, names
from ..errors import InputError

logger = logging.getLogger(__name__)

#: Sequences shown in "Example sequences".
N_EXAMPLES = 5
#: Longer explained sequences are shown as a window of this many bp around the strongest signal.
EXAMPLE_WINDOW = 200
#: Filters listed per motif row in each list, builders by share, resemblers by q (the rest are counted).
MAX_FILTERS_PER_MOTIF = 4
#: Panels in the journal figures (the report shows everything).
FIGURE_FILTERS = 40
FIGURE_MOTIFS = 12
#: Journal page: 180 mm wide, at most 240 mm high.
PAGE_WIDTH_IN = 7.09
PAGE_MAX_HEIGHT_IN = 9.45

# Layout: every logo's plot area is drawn to a fixed width whatever the number of positions, so
# a 50-bp pattern takes the same column as an 8-bp one (the bp count is written beside it);
# short matrices stop at LOGO_MAX_BP_PX per position rather than being stretched. The page's CSS
# also lets each logo shrink with its column (max-width: 100%), so tables fit narrow windows.
#: Plot widths (px): motif logos (CWM, PPM), filter logos in the kernel-logo table, JASPAR matches,
#: and the small filter logos listed beside each motif.
MOTIF_LOGO_PX = 210
FILTER_LOGO_PX = 130
JASPAR_LOGO_PX = 110
LIST_LOGO_PX = 56
#: Widest a position is drawn (px).
LOGO_MAX_BP_PX = 14
#: Patterns of a family named in its row (the rest are counted).
MAX_MEMBERS = 3
#: Filters in the kernel-logo table by influence; the others are folded below it, still listed.
MAX_FILTER_ROWS = 48
#: Motifs named per line of the findings at the top of the page (the rest are counted).
MAX_FINDINGS = 5


def logo_px(n_positions: int, column_px: float, max_bp_px: float = LOGO_MAX_BP_PX) -> float:
    """Plot width (px) of a logo of ``n_positions`` in a column ``column_px`` wide: the column's
    width, or ``max_bp_px`` per position when that is narrower (short matrices)."""
    return float(min(column_px, max(n_positions, 1) * max_bp_px))


def capped(items: list, n: int) -> tuple[list, int]:
    """The first ``n`` of ``items`` and how many are left out."""
    return list(items[:n]), max(0, len(items) - n)


METHOD_NOTES = {
    "deepshap": "DeepSHAP (DeepLIFT rescale rule averaged over dinucleotide-shuffled references); "
                "contributions sum to the score minus the mean reference score.",
    "gradxinput": "gradient × input: the gradient of the score at the sequence, kept at the observed bases.",
    "saliency": "saliency: the gradient of the score with respect to the one-hot input.",
    "ig": "integrated gradients: gradients averaged along a straight path from a reference; "
          "contributions sum to the score difference.",
    "ism": "in-silico mutagenesis: the score change of every single-base substitution.",
}
SECTIONS = [("summary", "Run summary"), ("motifs", "Motifs"), ("filters", "Kernel logos"),
            ("heatmap", "Filter × motif usage and similarity"), ("examples", "Example sequences"),
            ("instances", "Motif instances"), ("grammar", "How motifs combine"),
            ("screen", "Known motifs this model responds to"),
            ("howto", "How to read this page")]
#: What the page says of a pattern whose effect does not pass the rule of :mod:`interpret.stats`.
NO_RESPONSE = "the model does not respond to this pattern"
PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
           "#1f78b4", "#b2182b"]


# --------------------------------------------------------------------------------------
# Reading the output directory
# --------------------------------------------------------------------------------------
@dataclass
class OutputData:
    """Everything the report shows, as read from an output directory (missing pieces empty).

    ``notes`` holds one sentence per piece that could not be read, shown on the page.
    """

    out: Path
    summary: dict
    filters: list = field(default_factory=list)           # filters.tsv rows (+ parsed numbers)
    filter_by_id: dict = field(default_factory=dict)       # id -> filters.tsv row
    filter_ppm: dict = field(default_factory=dict)         # id -> (W, 4)
    filter_weights: dict = field(default_factory=dict)     # id -> (W, 4) raw kernel
    motifs: list = field(default_factory=list)             # motifs.tsv rows
    motif_ppm: dict = field(default_factory=dict)          # id -> (W, 4)
    motif_cwm: dict = field(default_factory=dict)          # id -> (W, 4); families under "families/<id>"
    families: list = field(default_factory=list)           # families.tsv rows (absent in older runs)
    comparison: list = field(default_factory=list)         # comparison.tsv rows
    seqlets: list = field(default_factory=list)            # seqlets.tsv rows
    usage: list = field(default_factory=list)              # motif_filters.tsv rows (+ parsed numbers)
    usage_by_motif: dict = field(default_factory=dict)     # motif -> filter -> motif_filters.tsv row
    building: dict = field(default_factory=dict)           # motif -> summary's filter_usage motifs entry
    jaspar: dict = field(default_factory=dict)             # jaspar id -> io.Motif
    screen: list = field(default_factory=list)             # screen.tsv rows (+ parsed numbers), by effect
    screen_groups: list = field(default_factory=list)      # screen_groups.tsv rows (+ parsed numbers)
    notes: dict = field(default_factory=dict)              # piece -> sentence


def read_output(out_dir, summary: dict | None = None) -> OutputData:
    """Read the files of an output directory that the report needs.

    Parameters
    ----------
    out_dir : str or Path
    summary : dict, optional
        Defaults to ``summary.json`` in ``out_dir`` (an empty dict, noted, if absent).
    """
    out = Path(out_dir)
    if not out.is_dir():
        raise InputError(f"{out} is not a directory; give the --out directory of `interpret run`.")
    notes = {}
    if summary is None:
        if (out / "summary.json").exists():
            summary = io.read_json(out / "summary.json")
        else:
            summary = {}
            notes["summary"] = "summary.json is missing: the run did not finish, so run details are unknown."
    d = OutputData(out=out, summary=summary, notes=notes)
    _read_filters(d)
    _read_motifs(d)
    _read_families(d)
    d.comparison = _read_table(d, "comparison.tsv", "comparison")
    d.seqlets = _read_table(d, "seqlets.tsv", "seqlets")
    _read_screen(d)
    _read_screen_groups(d)
    _read_usage(d)
    _read_jaspar(d)
    return d


def _read_usage(d: OutputData) -> None:
    """``motif_filters.tsv`` and the summary's building filters (runs before filter usage have neither)."""
    if not (d.out / "motif_filters.tsv").exists():
        return
    rows = _read_table(d, "motif_filters.tsv", "usage")
    for r in rows:
        r["rank"], r["n_top3"] = _int(r.get("rank")), _int(r.get("n_top3"))
        for k in ("share", "share_mean", "mean_contribution", "tomtom_q"):
            r[k] = _float(r.get(k))
    d.usage = rows
    for r in rows:
        d.usage_by_motif.setdefault(r.get("motif"), {})[r.get("filter")] = r
    d.building = ((d.summary.get("filter_usage") or {}).get("motifs")) or {}


def _read_table(d: OutputData, name: str, key: str) -> list:
    path = d.out / name
    if not path.exists():
        d.notes[key] = f"{name} is missing."
        return []
    try:
        return io.read_tsv(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        d.notes[key] = f"{name} could not be read ({type(exc).__name__})."
        return []


def _read_filters(d: OutputData) -> None:
    rows = _read_table(d, "filters.tsv", "filters")
    for r in rows:
        for k in ("n_sites", "influence_rank"):
            r[k] = _int(r.get(k))
        for k in ("ic", "max_activation", "influence", "jaspar_q", "main_motif_share", "seqlet_share"):
            r[k] = _float(r.get(k))
    d.filters = rows
    d.filter_by_id = {r["filter"]: r for r in rows}
    ppm = weights = None
    if (d.out / "filters.h5").exists():
        try:
            arrays, _ = io.read_h5(d.out / "filters.h5")
            ppm, weights = arrays.get("ppm"), arrays.get("weights")
        except (OSError, KeyError, InputError) as exc:
            d.notes["filters_h5"] = f"filters.h5 could not be read ({type(exc).__name__})."
    if ppm is None and (d.out / "filters.meme").exists():
        try:
            d.filter_ppm = {m.id: m.ppm for m in io.read_meme(d.out / "filters.meme")}
        except InputError:
            pass
    ids = [r["filter"] for r in rows]
    for i, fid in enumerate(ids):
        k = _filter_index(fid, i)
        if ppm is not None and k < len(ppm):
            d.filter_ppm[fid] = np.asarray(ppm[k], dtype=np.float64)
        if weights is not None and k < len(weights):
            d.filter_weights[fid] = np.asarray(weights[k], dtype=np.float64)
    if rows and weights is None:
        d.notes["weights"] = "filters.h5 has no kernel weights, so weight logos are not shown."


def _filter_index(fid: str, default: int) -> int:
    m = re.search(r"(\d+)$", str(fid))
    return int(m.group(1)) if m else default


def _read_motifs(d: OutputData) -> None:
    rows = _read_table(d, "motifs.tsv", "motifs")
    for r in rows:
        r["n_seqlets"] = _int(r.get("n_seqlets"))
        for k in ("jaspar_q", "best_filter_q"):
            r[k] = _float(r.get(k))
    d.motifs = rows
    if not rows:
        return
    if (d.out / "motifs.h5").exists():
        try:
            arrays, _ = io.read_h5(d.out / "motifs.h5")
            for key, arr in arrays.items():
                mid, _, name = key.rpartition("/")
                if name == "ppm":
                    d.motif_ppm[mid] = np.asarray(arr, dtype=np.float64)
                elif name == "cwm":
                    d.motif_cwm[mid] = np.asarray(arr, dtype=np.float64)
        except (OSError, InputError) as exc:
            d.notes["motifs_h5"] = f"motifs.h5 could not be read ({type(exc).__name__})."
    if not d.motif_ppm and (d.out / "motifs.meme").exists():
        try:
            d.motif_ppm = {m.id: m.ppm for m in io.read_meme(d.out / "motifs.meme")}
        except InputError:
            pass


def _read_families(d: OutputData) -> None:
    """``families.tsv`` when the run wrote one (runs before motif families had none: no note)."""
    if not (d.out / "families.tsv").exists():
        return
    rows = _read_table(d, "families.tsv", "families")
    for r in rows:
        for k in ("n_seqlets", "n_patterns", "width"):
            r[k] = _int(r.get(k))
        r["jaspar_q"] = _float(r.get("jaspar_q"))
    d.families = rows


def _read_jaspar(d: OutputData) -> None:
    wanted = {r.get("jaspar_id") for r in d.filters + d.motifs + d.families} - {None, ""}
    wanted |= {r["id"] for r in d.screen_groups}
    if not wanted:
        return
    db_path = (d.summary.get("parameters") or {}).get("motif_db")
    try:
        db = io.load_motif_db(db_path if db_path and Path(db_path).exists() else None)
    except InputError as exc:
        d.notes["jaspar"] = f"the motif database could not be read ({exc}); match logos are not shown."
        return
    d.jaspar = {m.id: m for m in db if m.id in wanted}


def _read_screen(d: OutputData) -> None:
    """screen.tsv (absent after ``--no-screen``; the section says so)."""
    if not (d.out / "screen.tsv").exists():
        return
    rows = _read_table(d, "screen.tsv", "screen")
    for r in rows:
        for k in ("mean_delta", "se", "z", "p", "q", "delta_forward", "delta_reverse", "consensus_delta", "raw_delta"):
            r[k] = _float(r.get(k))
        r["width"] = _int(r.get("width"))
        r["effect_significant"] = _bool(r.get("effect_significant"))
    d.screen = rows


def _read_screen_groups(d: OutputData) -> None:
    """screen_groups.tsv; for a run made before it existed, the screen grouped here, unlinked (noted)."""
    if (d.out / "screen_groups.tsv").exists():
        rows = _read_table(d, "screen_groups.tsv", "screen_groups")
        for r in rows:
            for k in ("mean_delta", "se", "q"):
                r[k] = _float(r.get(k))
            for k in ("n_members", "n_responding"):
                r[k] = _int(r.get(k))
        d.screen_groups = rows
    elif d.screen:
        d.screen_groups = names.group_screen(d.screen, d.summary)
        d.notes["screen_groups"] = ("This run has no screen_groups.tsv (made before motif groups): the screen is "
                                    "grouped here, without the patterns and filters that carry each group.")


def _read_examples(out: Path, methods: list, n: int) -> dict | None:
    """Top-``n`` explained sequences by score (see :func:`interpret.io.read_top_attributions`)."""
    return io.read_top_attributions(out / "attributions.h5", methods, n)


# --------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------
def render_report(out_dir, summary: dict | None = None, *, n_examples: int = N_EXAMPLES,
                  figures: bool = True) -> Path:
    """Write ``report.html`` (and ``figures/``) for a finished output directory.

    Parameters
    ----------
    out_dir : str or Path
        An output directory of ``interpret run`` (or its staging directory).
    summary : dict, optional
        The run summary; defaults to ``summary.json`` in ``out_dir``. The pipeline passes it
        because the report is rendered before ``summary.json`` is written.
    n_examples : int
        Top-scoring explained sequences drawn in "Example sequences".
    figures : bool
        Also write ``figures/motifs.svg|.pdf`` and ``figures/filters.svg|.pdf``.

    Returns
    -------
    Path
        Of ``report.html``. Nothing is recomputed; missing optional pieces are stated on the page.
    """
    import time

    t0 = time.perf_counter()
    out = Path(out_dir)
    if summary is None and (out / "summary.json").exists():
        summary = io.read_json(out / "summary.json")
    if summary and ("targets" in summary or "compare" in summary):  # an index of outputs, or a comparison of runs
        from . import across

        ctx = across.targets_context(out, summary) if "targets" in summary else across.compare_context(out, summary)
        page = "targets.html.j2" if "targets" in summary else "compare.html.j2"
        path = out / "report.html"
        io.write_text(path, _env().get_template(page).render(**ctx))
        return path
    data = read_output(out, summary)
    ctx = build_context(data, n_examples=n_examples)
    html = _env().get_template("report.html.j2").render(**ctx)
    path = out / "report.html"
    io.write_text(path, html)
    logger.info("report.html: %.1f MB in %.2f s", len(html) / 1e6, time.perf_counter() - t0)
    if figures:
        try:
            write_figures(data)
        except Exception as exc:  # a figure must never cost the user the report
            logger.warning("figures were not written: %s", exc)
    return path


def _env():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("interpret.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.ChainableUndefined)
    env.filters["num"] = _fmt_num
    env.filters["q"] = _fmt_q
    env.filters["secs"] = _fmt_secs
    env.filters["share"] = _fmt_share
    env.filters["breakable"] = _breakable
    env.filters["pm"] = _fmt_pm
    return env


def _title(summary: dict, out: Path) -> str:
    model = (summary.get("model") or {}).get("path")
    return f"interpret: {Path(model).name}" if model else f"interpret: {out.name}"


def build_context(d: OutputData, n_examples: int = N_EXAMPLES) -> dict:
    """Template variables for ``report.html.j2`` (logos already drawn as SVG strings)."""
    s = d.summary
    methods = list(s.get("methods") or [])
    cmp_index = {(r.get("filter"), r.get("motif")): r for r in d.comparison}
    ctx = {
        "title": _title(s, d.out),
        "sections": SECTIONS,
        "num": {sid: k for k, (sid, _) in enumerate(SECTIONS, 1)},  # section numbers, in the order of SECTIONS
        "glyph_defs": logo.glyph_defs_svg(),
        "summary": s,
        "notes": d.notes,
        "run": _run_summary(s, methods),
        "filters": _filter_rows(d),
        "motifs": _motif_rows(d, cmp_index),
        "heatmap": _heatmap(d),
        "usage_heatmap": _usage_heatmap(d),
        "motif_names": {r["motif"]: r.get("motif_group") or r.get("jaspar_name") or "" for r in d.motifs},
        # a filter's main motif is shown where the filter is among that motif's building filters
        "builds_main": {r["filter"] for r in d.filters
                        if r.get("filter") in (d.building.get(r.get("main_motif")) or {}).get("filters", [])},
        "examples": _examples(d, methods, n_examples),
        "instances": instances.context(d.out, s, PALETTE, n_examples),
        "screen": _screen_context(d),
        "no_response": NO_RESPONSE,
        "sample_notes": sample_notes(s),
        "resumed": list(s.get("resumed") or []),
        "quality": evaluation.quality_context(s),
        "truth": evaluation.truth_context(s),
    }
    ctx["families"] = _family_rows(d, ctx["motifs"])
    ctx["grammar"] = g = combine.context(d.out, s)
    scale = max([abs(r["interaction"] or 0) + 1.96 * (r["interaction_se"] or 0) for r in g.get("rows", [])] or [1.0])
    for r in g.get("rows", []):
        r["bar"] = _effect_bar(r["interaction"], r["interaction_se"], scale or 1.0)
    for r in ctx["screen"].get("ignored", []):     # a look-alike the model uses only with a partner
        r["partner"] = combine.partner_of(g["partners"], name=r["name"])
    fams = ctx["families"]["main"] + ctx["families"]["minor"]
    ctx["screen_groups"] = names.screen_context(d.screen_groups, "screen_groups" not in d.notes, fams, d.motifs,
                                                d.jaspar, _effect_bar, logo_px)
    ctx["findings"] = _findings(ctx["families"]["main"], ctx["screen"], ctx["screen_groups"], g["partners"])
    ctx["max_filter_rows"] = MAX_FILTER_ROWS
    ctx["n_never_fire"] = sum(1 for f in ctx["filters"] if f["never_fires"])
    ctx["has_filters_file"] = (d.out / "filters.tsv").exists()
    ctx["has_motifs_file"] = (d.out / "motifs.tsv").exists()
    return ctx


def sample_notes(s: dict) -> list[str]:
    """One sentence per TF-MoDISco run that saw a sample rather than everything (``summary.json``
    ``motifs.<method>.sample``): which sequences it read and which seqlets it clustered."""
    out = []
    for method, m in (s.get("motifs") or {}).items():
        smp = (m or {}).get("sample") if isinstance(m, dict) else None
        if not smp:
            continue
        parts, seqlets = [], []
        if smp.get("sequences", 0) < smp.get("of_sequences", 0):
            parts.append(f"read a random sample of {smp['sequences']:,} of the {smp['of_sequences']:,} explained sequences")
        for sign, word in (("pos", "positive"), ("neg", "negative")):
            used, found = (smp.get("seqlets") or {}).get(sign, 0), (smp.get("of_seqlets") or {}).get(sign, 0)
            if used and used < found:
                seqlets.append(f"{used:,} of the {found:,} {word}")
        if seqlets:
            parts.append("clustered a random sample of " + " and ".join(seqlets) + " seqlets")
        if parts:
            out.append(f"TF-MoDISco on {method} " + " and ".join(parts)
                       + f" (seed {smp.get('seed')}); its motifs and seqlet counts describe that sample.")
    return out


def _run_summary(s: dict, methods: list) -> dict:
    model = s.get("model") or {}
    arch = model.get("architecture") or []
    if arch and isinstance(arch[0], dict):
        cols = list(dict.fromkeys(k for row in arch for k in row))
        arch_rows = [[row.get(c, "") for c in cols] for row in arch]
    else:
        cols = ["layer"]
        arch_rows = [[a] if not isinstance(a, (list, tuple)) else list(a) for a in arch]
    attribution = s.get("attribution") or {}
    method_rows = []
    for m in methods or list(attribution):
        a = attribution.get(m) or {}
        method_rows.append({"name": m, "note": METHOD_NOTES.get(m, ""), "max_abs_delta": a.get("max_abs_delta"),
                            "max_rel_delta": a.get("max_rel_delta"), "n_above": a.get("n_above_1e-3"),
                            "seconds": a.get("seconds"), "reused_from": a.get("reused_from"),
                            "motifs": m in (s.get("motifs_from") or [])})
    data = s.get("data") or {}
    return {"model": model, "input": _input_text(model), "arch_cols": cols, "arch_rows": arch_rows, "data": data,
            "methods": method_rows, "timings": s.get("timings") or {}, "versions": s.get("versions") or {},
            "comparison": s.get("comparison") or {}, "parameters": s.get("parameters") or {},
            "fallback": s.get("method_fallback"),
            "motif_stats": s.get("motifs") if isinstance(s.get("motifs"), dict) else {}}


def _input_text(model: dict) -> str:
    """The model's input as a reader writes it: ``"(1, 101, 4), Conv2D"`` (its first convolution's type)."""
    length = model.get("seq_len")
    shape = {"L4": f"({length}, 4)", "1L4": f"(1, {length}, 4)", "4L": f"(4, {length})"}.get(model.get("layout"))
    if shape is None or length is None:
        return model.get("layout") or ""
    conv = next((a.get("type") for a in model.get("architecture") or [] if isinstance(a, dict)
                 and "Conv" in str(a.get("type"))), None)
    return f"{shape}, {conv}" if conv else shape


def _filter_rows(d: OutputData) -> list:
    rows = sorted(d.filters, key=lambda r: (r["influence_rank"] if r["influence_rank"] is not None else 10**9,
                                           -(r["influence"] if r["influence"] is not None else -np.inf)))
    out = []
    for r in rows:
        fid = r["filter"]
        ppm = d.filter_ppm.get(fid)
        w = d.filter_weights.get(fid)
        never = not _fires(d, fid)
        act = None
        if ppm is not None and not never:
            act = logo.logo_svg(ppm, "bits", height=36, width=logo_px(len(ppm), FILTER_LOGO_PX), defs=False,
                                attrs={"data-kind": "activation", "data-filter": fid},
                                title=f"{fid}: activation PPM (bits)")
        wl = None
        if w is not None:
            centred = w - w.mean(axis=1, keepdims=True)
            wl = logo.logo_svg(centred, "contrib", height=36, width=logo_px(len(w), FILTER_LOGO_PX), defs=False,
                               faded=never,
                               attrs={"data-kind": "weight", "data-filter": fid},
                               title=f"{fid}: kernel weights, mean-centred per position")
        jid = r.get("jaspar_id") or ""
        # a filter row is narrow: the groups it resembles only when it has no name (all in filters.tsv)
        out.append({**r, **names.decorate(r, 0 if r.get("jaspar_id") else 2), "never_fires": never, "activation_logo": act, "weight_logo": wl,
                    "effect": _effect(r, _floor(d)),
                    "jaspar_id": jid, "jaspar_name": r.get("jaspar_name") or "",
                    "width_bp": len(ppm) if ppm is not None else (len(w) if w is not None else None),
                    "jaspar_logo": _jaspar_logo(d, jid, height=22, column_px=JASPAR_LOGO_PX - 30)})
    return out


def _fires(d: OutputData, fid: str) -> bool:
    """False for a filter that never fires: no sites, or an empty / NaN activation PPM."""
    row = d.filter_by_id.get(fid)
    if row is not None and row.get("n_sites") == 0:
        return False
    ppm = d.filter_ppm.get(fid)
    return ppm is None or (bool(np.isfinite(ppm).all()) and float(ppm.sum()) > 0)


def _jaspar_logo(d: OutputData, jid: str, height=36, column_px=JASPAR_LOGO_PX):
    m = d.jaspar.get(jid) if jid else None
    if m is None:
        return None
    return logo.logo_svg(m.ppm, "bits", height=height, width=logo_px(len(m.ppm), column_px), defs=False,
                         attrs={"data-kind": "jaspar"}, title=f"{m.id} {m.name} ({len(m.ppm)} bp)")


def _list_logo(ppm, rc: bool, kind: str, fid: str, title: str) -> str:
    """A filter's small logo in a motif row's lists, in the motif's orientation."""
    return logo.logo_svg(logo.reverse_complement(ppm) if rc else ppm, "bits", height=18,
                         width=logo_px(len(ppm), LIST_LOGO_PX, max_bp_px=4), defs=False, axis=False,
                         attrs={"data-kind": kind, "data-filter": fid}, title=title)


def _motif_rows(d: OutputData, cmp_index: dict) -> list:
    rows = []
    for r in d.motifs:
        mid = r["motif"]
        ppm, cwm = d.motif_ppm.get(mid), d.motif_cwm.get(mid)
        cwm_logo = _motif_logo(cwm, "contrib", {"data-kind": "cwm", "data-motif": mid},
                               f"{mid}: contribution weight matrix")
        ppm_logo = _motif_logo(ppm, "bits", {"data-kind": "ppm", "data-motif": mid},
                               f"{mid}: position probability matrix (bits)")
        fids = [f for f in re.split(r"[,;\s|]+", r.get("filters") or "") if f]
        if not fids and r.get("best_filter"):
            fids = [r["best_filter"]]
        # most similar first (motifs.tsv lists them so; older runs may not)
        fids = sorted(fids, key=lambda f: _float((cmp_index.get((f, mid)) or {}).get("tomtom_q")) or 0.0)
        flogos = []
        shown, n_more = capped(fids, MAX_FILTERS_PER_MOTIF)
        for fid in shown:
            c = cmp_index.get((fid, mid)) or {}
            q = _float(c.get("tomtom_q"))
            if q is None and fid == r.get("best_filter"):
                q = r.get("best_filter_q")
            fppm = d.filter_ppm.get(fid)
            rc = (c.get("strand") or "+") == "-"
            svg = None
            if fppm is not None and _fires(d, fid):
                svg = _list_logo(fppm, rc, "motif-filter", fid,
                                 f"{fid}{' (reverse complement)' if rc else ''}, q = {_fmt_q(q)}")
            flogos.append({"id": fid, "q": q, "rc": rc, "logo": svg})
        jid = r.get("jaspar_id") or ""
        rows.append({**r, **names.decorate(r), "cwm_logo": cwm_logo, "ppm_logo": ppm_logo, "jaspar_id": jid,
                     "effect": _effect(r, _floor(d)),
                     "jaspar_name": r.get("jaspar_name") or "",
                     "jaspar_logo": _jaspar_logo(d, jid), "width_bp": _width(cwm, ppm),
                     "filter_logos": flogos, "n_more_filters": n_more,
                     **_builders(d, mid), "sign_word": {"+": "positive", "-": "negative"}.get(str(r.get("sign")), str(r.get("sign") or ""))})
    return rows


def _motif_logo(values, kind: str, attrs: dict, title: str) -> str | None:
    """A CWM or PPM of the motif table, :data:`MOTIF_LOGO_PX` wide whatever its width."""
    if values is None:
        return None
    return logo.logo_svg(values, kind, height=40, width=logo_px(len(values), MOTIF_LOGO_PX), defs=False,
                         attrs=attrs, title=f"{title}, {len(values)} bp")


def _width(*matrices):
    """Positions of the first matrix given (None if none is)."""
    return next((len(m) for m in matrices if m is not None), None)


def _builders(d: OutputData, mid: str) -> dict:
    """The filters that build motif ``mid`` (the summary's building set, largest share first), capped
    at :data:`MAX_FILTERS_PER_MOTIF` logos, each in the motif's orientation. ``build_logos`` is None
    when the run has no per-filter decomposition of the motif."""
    entry = d.building.get(mid)
    if entry is None:
        return {"build_logos": None, "n_more_build": 0, "n_build": 0, "build_cover": None}
    alpha = _float((d.summary.get("comparison") or {}).get("q_threshold")) or 0.05
    usage = d.usage_by_motif.get(mid, {})
    fids = list(entry.get("filters") or [])
    out = []
    shown, n_more = capped(fids, MAX_FILTERS_PER_MOTIF)
    for fid in shown:
        u = usage.get(fid) or {}
        rc, share, q = u.get("strand") == "-", u.get("share"), u.get("tomtom_q")
        fppm = d.filter_ppm.get(fid)
        svg = None
        if fppm is not None and _fires(d, fid):
            svg = _list_logo(fppm, rc, "motif-builder", fid,
                             f"{fid}{' (reverse complement)' if rc else ''}: carries {_fmt_share(share)} of {mid}")
        out.append({"id": fid, "share": share, "rc": rc, "q": q, "logo": svg,
                    "resembles": q is not None and q < alpha})
    shares = [s for s in (usage.get(f, {}).get("share") for f in fids) if s is not None]
    return {"build_logos": out, "n_more_build": n_more, "n_build": len(fids),
            "build_cover": sum(shares) if shares else None}


def _heatmap_filters(d: OutputData, seen: set) -> list:
    """Heatmap columns: filters by influence, then any other filter in ``seen`` by number."""
    fids = [r["filter"] for r in sorted(d.filters, key=lambda r: r["influence_rank"] or 10**9)]
    return [f for f in fids if f in seen] + sorted(seen - set(fids), key=lambda f: _filter_index(f, 0))


def _family_rows(d: OutputData, motif_rows: list) -> dict:
    """Motif table rows: one per family (``families.tsv``), main ones and minor ones apart.

    A family row shows the family's pooled matrices (``families/<id>`` in ``motifs.h5``) and
    JASPAR match, its members, and the filters matching its representative (first member).
    Without ``families.tsv`` (runs before families existed) every pattern is a family of one and
    nothing is minor.
    """
    by_id = {r["motif"]: r for r in motif_rows}
    fams = d.families or [{"family": r["motif"], "members": r["motif"], "n_seqlets": r.get("n_seqlets"),
                           "minor": "", "jaspar_id": r.get("jaspar_id"), "jaspar_name": r.get("jaspar_name"),
                           "jaspar_q": r.get("jaspar_q"), **{k: r.get(k) for k in names.COLUMNS}} for r in motif_rows]
    main, minor = [], []
    for f in fams:
        members = [by_id[m] for m in (f.get("members") or "").split(",") if m in by_id]
        if not members:
            continue
        fid, rep = f["family"], members[0]
        ppm, cwm = d.motif_ppm.get(f"families/{fid}"), d.motif_cwm.get(f"families/{fid}")
        row = {**rep, "family": fid, "n_seqlets": f.get("n_seqlets"), "members": members,
               "minor": f.get("minor") or "", "jaspar_id": f.get("jaspar_id") or "",
               "jaspar_name": f.get("jaspar_name") or "", "jaspar_q": _float(f.get("jaspar_q")),
               "pooled": len(members) > 1 and cwm is not None, **{k: f.get(k) or "" for k in names.COLUMNS}}
        row.update(names.decorate(row))
        row["members_shown"], row["n_more_members"] = capped(members, MAX_MEMBERS)
        if row["minor"]:
            small = cwm if cwm is not None else d.motif_cwm.get(rep["motif"])
            row["cwm_logo"] = None if small is None else logo.logo_svg(
                small, "contrib", height=24, width=logo_px(len(small), 120, max_bp_px=8), defs=False, axis=False,
                attrs={"data-kind": "minor-cwm", "data-family": fid}, title=f"{fid}: contribution weight matrix")
            minor.append(row)
            continue
        if cwm is not None and ppm is not None:
            row["cwm_logo"] = _motif_logo(cwm, "contrib", {"data-kind": "cwm", "data-motif": rep["motif"],
                                                           "data-family": fid},
                                          f"{fid}: contribution weight matrix, seqlets pooled")
            row["ppm_logo"] = _motif_logo(ppm, "bits", {"data-kind": "ppm", "data-motif": rep["motif"],
                                                        "data-family": fid},
                                          f"{fid}: position probability matrix (bits), seqlets pooled")
            row["width_bp"] = _width(cwm, ppm)
        row["jaspar_logo"] = _jaspar_logo(d, row["jaspar_id"])
        main.append(row)
    summary = d.summary.get("families") or {}
    return {"main": main, "minor": minor, "grouped": bool(d.families),
            "n_patterns": sum(len(r["members"]) for r in main + minor),
            "n_minor_patterns": sum(len(r["members"]) for r in minor),
            "minor_seqlets": summary.get("minor_seqlets"), "minor_by_effect": summary.get("minor_by_effect")}


def _heatmap(d: OutputData) -> dict | None:
    """Filter × motif matrix as an inline SVG: motifs in rows, filters (by influence) in columns."""
    if not d.comparison or not d.motifs:
        return None
    motif_ids = [r["motif"] for r in d.motifs]
    fids = _heatmap_filters(d, {r.get("filter") for r in d.comparison})
    mi = {m: i for i, m in enumerate(motif_ids)}
    fi = {f: j for j, f in enumerate(fids)}
    have_q = any(_float(r.get("tomtom_q")) is not None for r in d.comparison)
    metric = "-log10 q (TOMTOM)" if have_q else "Pearson r"
    val = np.full((len(motif_ids), len(fids)), np.nan)
    for r in d.comparison:
        i, j = mi.get(r.get("motif")), fi.get(r.get("filter"))
        if i is None or j is None:
            continue
        if have_q:
            q = _float(r.get("tomtom_q"))
            val[i, j] = -math.log10(max(q, 1e-300)) if q is not None else np.nan
        else:
            val[i, j] = _float(r.get("pearson_r"))
    vmax = 1.0 if not have_q else max(2.0, min(10.0, float(np.nanmax(val)) if np.isfinite(val).any() else 2.0))
    svg, show_cols = _matrix_svg(d, motif_ids, fids, val, vmax, metric, skip_small=have_q, at_least=have_q,
                                 cell=(lambda v: f"q = {_fmt_q(10 ** -v)}") if have_q else (lambda v: f"r = {v:.2f}"))
    n_sig = int(np.sum(val > -math.log10(0.05))) if have_q else None
    return {"svg": svg, "metric": metric, "n_filters": len(fids), "n_motifs": len(motif_ids),
            "n_significant": n_sig, "labelled": show_cols}


def _usage_heatmap(d: OutputData) -> dict | None:
    """Filter × motif usage (share of each motif's seqlet attribution a filter carries, from
    ``motif_filters.tsv``), same rows and columns as :func:`_heatmap`."""
    if not d.usage or not d.motifs:
        return None
    motif_ids = [r["motif"] for r in d.motifs]
    fids = _heatmap_filters(d, {r.get("filter") for r in d.comparison + d.usage})
    mi = {m: i for i, m in enumerate(motif_ids)}
    fi = {f: j for j, f in enumerate(fids)}
    val = np.full((len(motif_ids), len(fids)), np.nan)
    for r in d.usage:
        i, j = mi.get(r.get("motif")), fi.get(r.get("filter"))
        if i is not None and j is not None and r["share"] is not None:
            val[i, j] = r["share"]
    if not np.isfinite(val).any():
        return None
    vmax = max(0.2, min(1.0, float(np.nanmax(val))))
    svg, show_cols = _matrix_svg(d, motif_ids, fids, val, vmax, "share of the motif's attribution",
                                 skip_small=True, at_least=float(np.nanmax(val)) > vmax,
                                 cell=lambda v: f"share = {100 * v:.1f}%")
    n_rows = int(np.isfinite(val).any(axis=1).sum())
    return {"svg": svg, "n_filters": len(fids), "n_motifs": n_rows, "labelled": show_cols,
            "n_building": sum(len(v.get("filters") or []) for v in d.building.values())}


def _matrix_svg(d, motif_ids, fids, val, vmax, metric, skip_small, at_least, cell) -> tuple[str, bool]:
    """``val`` (motifs, filters) from 0 (white) to ``vmax`` (dark blue) as an SVG heatmap with a
    colour bar; ``cell(v)`` is a cell's tooltip. Returns the SVG and whether columns are labelled."""
    vmin = 0.0
    n_f = len(fids)
    cw = max(2.0, min(14.0, 900.0 / max(n_f, 1)))
    ch = 14.0
    label_w = 190.0
    show_cols = cw >= 10
    top = 50.0 if show_cols else 8.0
    width = label_w + n_f * cw + 10
    height = top + len(motif_ids) * ch + 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" width="{width:.0f}" height="{height:.0f}" '
             f'viewBox="0 0 {width:.1f} {height:.1f}" font-family="sans-serif" font-size="9">',
             f'<rect x="{label_w}" y="{top}" width="{n_f * cw:.1f}" height="{len(motif_ids) * ch:.1f}" fill="#f4f4f4"/>']
    labels = {r["motif"]: (r.get("motif_group") or r.get("jaspar_name") or "") for r in d.motifs}
    for i, m in enumerate(motif_ids):
        lab = m + (f" ({labels[m]})" if labels.get(m) else "")
        parts.append(f'<text x="{label_w - 4}" y="{top + i * ch + ch - 4:.1f}" text-anchor="end">{_esc(lab)}</text>')
    if show_cols:
        for j, f in enumerate(fids):
            x = label_w + j * cw + cw / 2 + 3
            parts.append(f'<text transform="translate({x:.1f} {top - 3}) rotate(-90)" font-size="8">{_esc(f)}</text>')
    cells = []
    for i, j in zip(*np.nonzero(np.isfinite(val))):
        v = float(val[i, j])
        t = (v - vmin) / (vmax - vmin)
        if skip_small and t < 0.02:
            continue
        cells.append(f'<rect x="{label_w + j * cw:.1f}" y="{top + i * ch:.1f}" width="{cw:.2f}" height="{ch}" '
                     f'fill="{_blue(t)}"><title>{_esc(fids[j])} × {_esc(motif_ids[i])}: {cell(v)}</title></rect>')
    parts.append("<g>" + "".join(cells) + "</g>")
    # colour bar
    y = top + len(motif_ids) * ch + 14
    for k in range(50):
        parts.append(f'<rect x="{label_w + k * 3}" y="{y}" width="3" height="8" fill="{_blue(k / 49)}"/>')
    parts.append(f'<text x="{label_w - 4}" y="{y + 8}" text-anchor="end">{_esc(metric)}</text>'
                 f'<text x="{label_w}" y="{y + 19}">{vmin:g}</text>'
                 f'<text x="{label_w + 150}" y="{y + 19}" text-anchor="end">{"≥ " if at_least else ""}{vmax:.3g}</text>')
    parts.append("</svg>")
    return "".join(parts), show_cols


def _examples(d: OutputData, methods: list, n: int) -> dict:
    ex = _read_examples(d.out, methods, n)
    if ex is None:
        return {"available": False, "reason": "attributions.h5 is missing, so no attribution logos are shown."}
    if not ex["rows"]:
        return {"available": False, "reason": "attributions.h5 holds no attributions for any method."}
    colours = {}
    for r in d.motifs:
        colours[r["motif"]] = PALETTE[len(colours) % len(PALETTE)]
    by_seq: dict = {}
    for s in d.seqlets:
        k = _int(s.get("seq_index"))
        if k is not None:
            by_seq.setdefault(k, []).append(s)
    rows = []
    for e in ex["rows"]:
        length = len(e["x"])
        first = e["contrib"][ex["methods"][0]]
        start, stop = _window(np.abs(first).sum(axis=1), EXAMPLE_WINDOW)
        seqlets = by_seq.get(e["seq_index"], [])
        tracks = []
        for m in ex["methods"]:
            c = e["contrib"][m][start:stop]
            spans = []
            for s in seqlets:
                if s.get("method") and s.get("method") != m:
                    continue
                a, b = _int(s.get("start")), _int(s.get("end"))
                if a is None or b is None or b <= start or a >= stop:
                    continue
                mid = s.get("motif", "")
                spans.append((a - start, b - start, f"{mid}{'' if s.get('strand') in (None, '', '+') else ' (−)'}",
                              colours.get(mid, "#555")))
            svg = logo.track_svg(c, spans, start, {"data-kind": "attribution", "data-method": m,
                                                   "data-seq": e["seq_index"]},
                                 f"sequence {e['seq_index']}: {m} contributions")
            tracks.append({"method": m, "logo": svg, "score": e["score"].get(m),
                           "total": float(e["contrib"][m].sum()), "n_seqlets": len(spans)})
        seq = "".join("ACGT"[int(k)] if v > 0 else "N" for k, v in zip(e["x"].argmax(1), e["x"].max(1)))
        rows.append({"seq_index": e["seq_index"], "row": e["row"], "tracks": tracks, "window": (start, stop),
                     "length": length, "cropped": (stop - start) < length,
                     "seqlets": [s for s in seqlets], "sequence": seq[start:stop]})
    return {"available": True, "rows": rows, "methods": ex["methods"], "absent": ex["absent"],
            "explained": ex.get("explained") or d.summary.get("explained", ""), "n": n}


def _window(signal: np.ndarray, size: int) -> tuple[int, int]:
    length = len(signal)
    if length <= size:
        return 0, length
    c = np.concatenate([[0.0], np.cumsum(signal)])
    sums = c[size:] - c[:-size]
    start = int(np.argmax(sums))
    return start, start + size


def _effect(r: dict, floor) -> dict:
    """Effect sizes of a motifs.tsv / filters.tsv row (columns of :mod:`interpret.evidence.effects`); ``floor``
    is the rule's smallest effect (``summary.json`` ``effects.min_effect``)."""
    ins, ins_se = _float(r.get("insertion_effect")), _float(r.get("insertion_se"))
    abl, abl_se = _float(r.get("ablation_effect")), _float(r.get("ablation_se"))
    raw = _float(r.get("insertion_raw"))
    responds = _bool(r.get("effect_significant"))
    # what the pattern's GC content alone does (raw insertion minus the GC-matched one), worth a
    # word when it is at least the rule's floor: GC-rich patterns of a model that learned GC content
    composition = (raw - ins) if raw is not None and ins is not None else None
    if composition is None or floor is None or abs(composition) < floor:
        composition = None
    return {"has": ins is not None or abl is not None, "responds": responds, "insertion": ins,
            "insertion_se": ins_se, "ablation": abl, "ablation_se": abl_se, "ablation_n": _int(r.get("ablation_n")),
            "composition": composition,
            # its GC content moves the score more than its base order does
            "gc_driven": composition is not None and abs(composition) > abs(ins)}


def _findings(families: list, screen: dict, groups: dict, partners: list = ()) -> dict:
    """The page's first lines: the main motif families by what the model does with them (raises the
    score, lowers it, works with a partner, no response), each named by JASPAR; unnamed ones are
    counted, GC-rich ones apart; then the screen's strongest motif groups (``groups``:
    :func:`names.screen_context`). A family or screen motif with a significant interaction
    (``partners``, :func:`interpret.report.combine.context`) is named with its partner and never
    among those the model ignores: a single insertion cannot show a motif that needs a partner.
    Lists are capped at :data:`MAX_FINDINGS`."""
    out = {}
    paired = {r["family"] for r in families if combine.partner_of(partners, family=r["family"])}
    for key, rows in (("raise", [r for r in families if _responds(r) and r.get("sign") != "-"]),
                      ("lower", [r for r in families if _responds(r) and r.get("sign") == "-"]),
                      ("ignored", [r for r in families if not _responds(r) and r["family"] not in paired])):
        named = [r for r in rows if r.get("jaspar_name")]
        gc = [r for r in rows if not r.get("jaspar_name") and "GC-rich" in (r.get("composition") or "")]
        other = [r for r in rows if not r.get("jaspar_name") and r not in gc]
        out[key] = {"named": capped(named, MAX_FINDINGS), "gc": capped(gc, MAX_FINDINGS),
                    "gc_driven": sum(r["effect"]["gc_driven"] for r in gc), "other": capped(other, MAX_FINDINGS),
                    "n": len(rows)}
    out["n_families"] = len(families)
    out["measured"] = any(r["effect"]["has"] for r in families)
    out["partners"] = capped(partners, MAX_FINDINGS)
    if screen.get("available"):
        out["screen_raise"], out["screen_lower"] = (
            [{**g, "partner": combine.partner_of(partners, name=g["name"])} for g in groups[k]]
            for k in ("findings_raise", "findings_lower"))
        out["screen_ignored"] = [g for g in screen["ignored"] if not combine.partner_of(partners, name=g["name"])]
    return out


def _responds(row: dict) -> bool:
    """Whether the model responds to a motif row; a run without effect sizes counts every motif."""
    e = row["effect"]
    return e["responds"] or not e["has"]


def _floor(d: OutputData):
    return _float((d.summary.get("effects") or {}).get("min_effect"))


def _screen_context(d: OutputData) -> dict:
    """The screen section's numbers and the run's own matches that get no response (its tables of motif
    groups: :func:`names.screen_context`)."""
    s = d.summary.get("screen") or {}
    if not d.screen:
        why = d.notes.get("screen") or ("The known-motif screen was not run (--no-screen); the effect sizes of "
                                        "the run's own motifs and filters are in their tables.")
        return {"available": False, "reason": why}
    by_id = {r["id"]: r for r in d.screen}
    found: dict = {}
    for kind, rows in (("motifs", d.motifs), ("filters", d.filters)):
        for r in rows:
            jid = r.get("jaspar_id") or ""
            # a match whose own matrix is ignored but whose motif group responds is no look-alike
            if jid in by_id and not by_id[jid]["effect_significant"] and not names.group_responds(r):
                found.setdefault(jid, {"motifs": [], "filters": []})[kind].append(r.get("motif") or r.get("filter"))
    # the resemblers named, the first MAX_MEMBERS of each kind (motifs by seqlets, filters by influence)
    ignored = [{"id": j, "name": by_id[j]["name"], "mean_delta": by_id[j]["mean_delta"], "se": by_id[j]["se"],
                "motifs": capped(by["motifs"], MAX_MEMBERS), "filters": capped(by["filters"], MAX_MEMBERS),
                "n_motifs": len(by["motifs"]), "n_filters": len(by["filters"])} for j, by in found.items()]
    return {"available": True, "ignored": ignored, "n": len(d.screen),
            "n_raise": sum(1 for r in d.screen if r["effect_significant"] and r["mean_delta"] > 0),
            "n_lower": sum(1 for r in d.screen if r["effect_significant"] and r["mean_delta"] < 0),
            "backgrounds": s.get("backgrounds"), "sequential": s.get("sequential"), "positions": s.get("positions"),
            "database": s.get("database"),
            "rule": s.get("rule"), "explained": s.get("explained") or d.summary.get("explained", "")}


def _effect_bar(mean, se, scale: float, width: float = 150, height: float = 14) -> str:
    """Inline SVG: a bar from 0 to ``mean`` and a whisker over mean ± 1.96 SE, on ``[-scale, scale]``."""
    mid = width / 2

    def x(v):
        return mid + max(-1.0, min(1.0, v / scale)) * (mid - 2)

    colour = "#1a7f37" if mean >= 0 else "#b42318"
    lo, hi = x(mean - 1.96 * (se or 0)), x(mean + 1.96 * (se or 0))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="effect-bar" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}"><title>{_fmt_num(mean)} ± {_fmt_num(se)} (95%: ±1.96 SE)</title>'
            f'<rect x="{min(mid, x(mean)):.1f}" y="3" width="{abs(x(mean) - mid):.1f}" height="{height - 6:.0f}" '
            f'fill="{colour}" opacity="0.75"/><line x1="{lo:.1f}" x2="{hi:.1f}" y1="{height / 2:.1f}" '
            f'y2="{height / 2:.1f}" stroke="#333" stroke-width="1"/><line x1="{mid:.1f}" x2="{mid:.1f}" y1="0" '
            f'y2="{height:.0f}" stroke="#999" stroke-width="0.8"/></svg>')


# --------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------
def write_figures(d: OutputData, backend: str = "fast") -> list[Path]:
    """``figures/filters.svg|.pdf`` and ``figures/motifs.svg|.pdf``, one journal page each.

    Filters: the :data:`FIGURE_FILTERS` most influential filters that fire (activation logos).
    Motifs: the :data:`FIGURE_MOTIFS` motif families with most seqlets (CWM, PPM, JASPAR match of
    their pooled seqlets; minor families are not drawn), or motifs for runs without families.
    The report shows all of them; the captions on the figures say how many are drawn.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figdir = d.out / "figures"
    figdir.mkdir(exist_ok=True)
    written = []
    plt.rcParams.update({"font.size": 6, "font.family": "DejaVu Sans", "svg.fonttype": "none",
                         "pdf.fonttype": 42, "axes.linewidth": 0.4})
    # matplotlib subsets the PDF fonts with fontTools, which logs every table at INFO
    ft_logger = logging.getLogger("fontTools")
    level = ft_logger.level
    ft_logger.setLevel(logging.WARNING)
    try:
        for name, make in (("filters", _filters_figure), ("motifs", _motifs_figure)):
            fig = make(d, backend, plt)
            if fig is None:
                continue
            try:
                for ext in ("svg", "pdf"):
                    fig.savefig(figdir / f"{name}.{ext}")
                    written.append(figdir / f"{name}.{ext}")
            finally:
                plt.close(fig)
    finally:
        ft_logger.setLevel(level)
    return written


def _style_axis(ax, kind):
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=1.5, width=0.4, pad=1, labelsize=5)
    if kind == "bits":
        ax.set_yticks([0, 2])


def _filters_figure(d: OutputData, backend, plt):
    fired = [r for r in sorted(d.filters, key=lambda r: r["influence_rank"] or 10**9)
             if d.filter_ppm.get(r["filter"]) is not None and _fires(d, r["filter"])]
    if not fired:
        return None
    shown = fired[:FIGURE_FILTERS]
    ncol = 4
    nrow = math.ceil(len(shown) / ncol)
    h = min(PAGE_MAX_HEIGHT_IN, 0.55 + 0.72 * nrow)
    fig, axes = plt.subplots(nrow, ncol, figsize=(PAGE_WIDTH_IN, h), squeeze=False)
    for ax in axes.flat[len(shown):]:
        ax.set_visible(False)
    for ax, r in zip(axes.flat, shown):
        logo.draw_logo(ax, d.filter_ppm[r["filter"]], "bits", backend=backend)
        _style_axis(ax, "bits")
        name = r.get("motif_group") or r.get("jaspar_name") or ""
        q = r.get("jaspar_q")
        label = f"{r['filter']} (#{r['influence_rank']})" + (f"\n{name} q={_fmt_q(q)}" if name else "")
        ax.set_title(label, fontsize=5.5, pad=2, loc="left")
    n_all = len(d.filters)
    fig.suptitle(f"First-layer filters: activation logos of the {len(shown)} most influential that fire "
                 f"(of {n_all}; y in bits)", fontsize=7, x=0.01, ha="left", y=1 - 0.08 / h, va="top")
    # fixed margins (tight_layout costs more than drawing every logo): 0.27 in above each row for its title
    fig.subplots_adjust(left=0.03, right=0.99, top=1 - 0.45 / h, bottom=0.1 / h, wspace=0.18,
                        hspace=0.27 / 0.45)
    return fig


def _motifs_figure(d: OutputData, backend, plt):
    rows = [r for r in d.motifs if d.motif_ppm.get(r["motif"]) is not None]
    what, n_all = "Motifs (TF-MoDISco)", len(d.motifs)
    if d.families:
        # one panel per main family, its seqlets pooled (minor families are not drawn)
        rows = [{**f, "motif": f"families/{f['family']}", "label": f["family"]} for f in d.families
                if not f.get("minor") and d.motif_ppm.get(f"families/{f['family']}") is not None]
        what, n_all = "Motif families (TF-MoDISco, seqlets pooled)", sum(not f.get("minor") for f in d.families)
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: -(r["n_seqlets"] or 0))[:FIGURE_MOTIFS]
    h = min(PAGE_MAX_HEIGHT_IN, 0.5 + 0.72 * len(rows))  # 0.47 in axes + 0.25 in title per row
    fig, axes = plt.subplots(len(rows), 3, figsize=(PAGE_WIDTH_IN, h), squeeze=False,
                             gridspec_kw={"width_ratios": [1.2, 1.2, 1]})
    for k, r in enumerate(rows):
        mid = r["motif"]
        ax_c, ax_p, ax_j = axes[k]
        cwm = d.motif_cwm.get(mid)
        if cwm is not None:
            logo.draw_logo(ax_c, cwm, "contrib", backend=backend)
            _style_axis(ax_c, "contrib")
        else:
            ax_c.set_axis_off()
        logo.draw_logo(ax_p, d.motif_ppm[mid], "bits", backend=backend)
        _style_axis(ax_p, "bits")
        ax_c.set_title(f"{r.get('label', mid)} ({r.get('sign', '')}, {r['n_seqlets']} seqlets): contribution",
                       fontsize=5.5, loc="left", pad=4)
        ax_p.set_title("PPM (bits)", fontsize=5.5, loc="left", pad=4)
        m = d.jaspar.get(r.get("jaspar_id") or "")
        if m is not None:
            logo.draw_logo(ax_j, m.ppm, "bits", backend=backend)
            _style_axis(ax_j, "bits")
            group = f"{r['motif_group']}: " if r.get("motif_group") else ""
            ax_j.set_title(f"{group}JASPAR {m.id} {m.name} q={_fmt_q(r.get('jaspar_q'))}", fontsize=5.5, loc="left",
                           pad=4)
        else:
            ax_j.set_axis_off()
            ax_j.text(0, 0.5, "no JASPAR match", fontsize=5.5, color="#777", transform=ax_j.transAxes)
    fig.suptitle(f"{what}: the {len(rows)} with most seqlets (of {n_all})",
                 fontsize=7, x=0.01, ha="left", y=1 - 0.08 / h, va="top")
    fig.subplots_adjust(left=0.05, right=0.99, top=1 - 0.4 / h, bottom=0.1 / h, wspace=0.15,
                        hspace=0.25 / 0.47)
    return fig


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------
def _blue(t: float) -> str:
    """White (0) to dark blue (1)."""
    t = min(1.0, max(0.0, t))
    lo, hi = np.array([247, 251, 255]), np.array([8, 48, 107])
    r, g, b = (lo + (hi - lo) * t).round().astype(int)
    return f"#{r:02x}{g:02x}{b:02x}"


def _esc(s) -> str:
    from html import escape

    return escape(str(s))


def _int(v):
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return None


def _float(v):
    if _undefined(v):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _bool(v) -> bool:
    """A True/False cell of a TSV (anything else is False)."""
    return str(v).strip().lower() in ("true", "1", "yes")


def _undefined(v) -> bool:
    import jinja2

    return isinstance(v, jinja2.Undefined)


def _fmt_num(v, digits: int = 3) -> str:
    if v is None or v == "" or _undefined(v):
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(f):
        return "—"
    if f != 0 and (abs(f) < 1e-3 or abs(f) >= 1e5):
        return f"{f:.{max(1, digits - 1)}e}"
    return f"{f:.{digits}g}"


def _fmt_q(v) -> str:
    v = _float(v)
    if v is None:
        return "—"
    if v < 1e-3:
        return f"{v:.1e}"
    return f"{v:.3f}" if v < 0.1 else f"{v:.2f}"


def _fmt_pm(v, se) -> str:
    """``v ± se`` to the decimal of the standard error's first digit (0.0684, 0.08 -> "0.07 ± 0.08")."""
    v, se = _float(v), _float(se)
    if v is None:
        return "—"
    if se is None or se <= 0 or not math.isfinite(se):
        return _fmt_num(v)
    decimals = min(4, max(0, -math.floor(math.log10(se))))
    return f"{v:.{decimals}f} ± {se:.{decimals}f}"


def _fmt_share(v) -> str:
    """A share (fraction) as a percentage: ``0.613 -> "61%"``, ``0.004 -> "0.4%"``."""
    v = _float(v)
    if v is None:
        return "—"
    return f"{100 * v:.0f}%" if abs(v) >= 0.095 else f"{100 * v:.1f}%"


def _breakable(s):
    """Escaped text with a line-break opportunity after each ``_`` (long ids in narrow columns)."""
    from markupsafe import Markup

    return Markup(_esc(s).replace("_", "_<wbr>"))


def _fmt_secs(v) -> str:
    v = _float(v)
    if v is None:
        return "—"
    if v < 60:
        return f"{v:.1f} s"
    return f"{int(v // 60)} min {v % 60:.0f} s"
