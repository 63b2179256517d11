"""The pages that set findings side by side: the index of ``--target all`` (motif × output matrix,
families × outputs, kernel logos with their influence on each output) and ``interpret compare``
(runs × families). Read from the output directory's files only; nothing is recomputed but the
display order (hierarchical clustering of the matrix's rows and columns)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .. import io
from . import logo

#: Known motifs of each sign taken per output into the matrix (strongest first) ...
TOP_PER_OUTPUT = 5
#: ... and at most this many rows in all.
MAX_MATRIX_ROWS = 40
#: Filters shown with their influence on each output (by the strongest influence on any).
MAX_FILTER_ROWS = 24
#: Families shown in the family tables (the files have all).
MAX_FAMILY_ROWS = 60
#: Cell width (px) from which a cell holds its number; narrower cells carry it as a tooltip.
NUMBER_CELL_PX = 26
#: The width (px) the cells of a row share, within [MIN_CELL_PX, MAX_CELL_PX] per cell.
STRIP_PX = 900
MIN_CELL_PX, MAX_CELL_PX = 3.0, 40.0
CELL_HEIGHT = 18

_NEG, _MID, _POS = np.array([33, 102, 172]), np.array([247, 247, 247]), np.array([178, 24, 43])


def run_title(summary: dict, out: Path) -> str:
    """The page's title: the run's name (``summary["run"]``), never the staging folder's."""
    name = summary.get("run") or out.name
    if name.startswith(".") and name.endswith(".partial"):
        name = name[1:-len(".partial")]
    return f"interpret: {name}"


def diverging(v: float, scale: float) -> str:
    """Blue (negative) through near-white (0) to red (positive); ``|v| >= scale`` is full colour."""
    t = max(-1.0, min(1.0, v / scale)) if scale > 0 else 0.0
    rgb = _MID + (_POS - _MID) * t if t >= 0 else _MID + (_NEG - _MID) * (-t)
    r, g, b = np.round(rgb).astype(int)
    return f"#{r:02x}{g:02x}{b:02x}"


def _fmt(v: float) -> str:
    if v is None or not math.isfinite(v):
        return ""
    if abs(v) < 0.005:
        return "0"
    return f"{v:.1f}" if abs(v) >= 0.95 else f"{v:.2f}".replace("0.", ".", 1).replace("-0.", "-.", 1)


def cell_px(n_cols: int, max_px: float = MAX_CELL_PX) -> float:
    """Width of one cell when ``n_cols`` share a row (at most ``max_px``)."""
    return float(min(max_px, max(MIN_CELL_PX, STRIP_PX / max(n_cols, 1))))


def strip_svg(values, scale: float, strong=None, marked=None, titles=None, cw: float | None = None,
              kind: str = "cells") -> str:
    """One row of a heatmap as inline SVG: a cell per value, coloured by :func:`diverging`.

    Parameters
    ----------
    values : sequence of float (NaN: an empty cell)
    scale : float
        The value drawn in full colour.
    strong : sequence of bool, optional
        Cells that pass the response rule; the others are drawn faded with grey numbers.
    marked : sequence of bool, optional
        Cells drawn with a dark frame (e.g. the outputs whose own run found the family).
    titles : sequence of str, optional
        Tooltips.
    cw : float, optional
        Cell width (default :func:`cell_px` of the number of values).
    """
    values = [float(v) if v is not None else float("nan") for v in values]
    n = len(values)
    cw = cell_px(n) if cw is None else cw
    width, h = n * cw, CELL_HEIGHT
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="strip" data-kind="{kind}" width="{width:.0f}" '
             f'height="{h}" viewBox="0 0 {width:.1f} {h}" font-family="sans-serif" font-size="9">']
    for j, v in enumerate(values):
        x = j * cw
        tip = f"<title>{_esc(titles[j])}</title>" if titles is not None else ""
        if not math.isfinite(v):
            parts.append(f'<rect x="{x:.1f}" y="0" width="{cw:.2f}" height="{h}" fill="#ffffff" '
                         f'stroke="#eee">{tip}</rect>')
            continue
        ok = True if strong is None else bool(strong[j])
        mark = marked is not None and bool(marked[j])
        faded = "" if ok else ' fill-opacity="0.35"'
        frame = ' stroke="#111" stroke-width="1.5"' if mark else ' stroke="#fff" stroke-width="0.5"'
        parts.append(f'<rect x="{x:.1f}" y="0" width="{cw:.2f}" height="{h}" fill="{diverging(v, scale)}"{faded}{frame}'
                     f' data-value="{v:.4g}">{tip}</rect>')
        if cw >= NUMBER_CELL_PX:
            dark = ok and scale > 0 and abs(v) / scale > 0.55
            colour = "#fff" if dark else ("#222" if ok else "#888")
            weight = ' font-weight="600"' if ok else ""
            parts.append(f'<text x="{x + cw / 2:.1f}" y="{h - 5}" text-anchor="middle" fill="{colour}"{weight}>'
                         f'{_fmt(v)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def header_svg(labels: list, cw: float) -> str:
    """Column labels over :func:`strip_svg` rows of cell width ``cw``: level when they fit, else rotated."""
    n = len(labels)
    width = n * cw
    level = all(len(str(lab)) * 5.5 <= cw for lab in labels)
    height = 16 if level else min(120, 8 + 5.5 * max((len(str(lab)) for lab in labels), default=1))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="strip-head" width="{width:.0f}" height="{height:.0f}" '
             f'viewBox="0 0 {width:.1f} {height:.1f}" font-family="sans-serif" font-size="9">']
    step = max(1, int(math.ceil(9 / cw)))        # label every k-th column when cells are thinner than a glyph
    for j in range(0, n, step):
        x = j * cw + cw / 2
        if level:
            parts.append(f'<text x="{x:.1f}" y="{height - 4:.0f}" text-anchor="middle">{_esc(labels[j])}</text>')
        else:
            parts.append(f'<text transform="translate({x + 3:.1f} {height - 2:.0f}) rotate(-90)">'
                         f'{_esc(labels[j])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def colour_bar(scale: float, what: str) -> str:
    """A legend: ``-scale`` to ``+scale`` in the diverging colours."""
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" class="colour-bar" width="330" height="24" viewBox="0 0 330 24" '
             'font-family="sans-serif" font-size="9">']
    for k in range(60):
        v = (k / 59 * 2 - 1) * scale
        parts.append(f'<rect x="{60 + k * 3}" y="2" width="3" height="9" fill="{diverging(v, scale)}"/>')
    parts.append(f'<text x="56" y="10" text-anchor="end">{-scale:.2g}</text><text x="244" y="10">+{scale:.2g}</text>'
                 f'<text x="60" y="22">{_esc(what)}</text></svg>')
    return "".join(parts)


def _esc(s) -> str:
    from html import escape

    return escape(str(s))


def scale_of(values) -> float:
    """The colour scale: the 98th percentile of the absolute values shown (at least 0.2), so one
    extreme cell does not wash out the rest."""
    v = np.abs(np.asarray(values, dtype=np.float64))
    v = v[np.isfinite(v)]
    return float(max(0.2, np.percentile(v, 98))) if v.size else 1.0


def cluster_order(values: np.ndarray) -> np.ndarray:
    """Rows of ``values`` (R, C) in the order of average-linkage hierarchical clustering on their
    Euclidean distances (NaN as 0), leaves optimally ordered up to 200 rows."""
    from scipy.cluster.hierarchy import leaves_list, linkage

    v = np.nan_to_num(np.asarray(values, dtype=np.float64))
    if len(v) < 3:
        return np.arange(len(v))
    return leaves_list(linkage(v, method="average", metric="euclidean", optimal_ordering=len(v) <= 200))


def strongest_rows(effect: np.ndarray, significant: np.ndarray, per_output: int = TOP_PER_OUTPUT,
                   max_rows: int = MAX_MATRIX_ROWS) -> np.ndarray:
    """Rows (motifs) for the matrix: each output's ``per_output`` strongest significant responses of
    each sign, taken rank by rank over the outputs (strongest first within a rank) up to ``max_rows``."""
    cand = []
    for t in range(effect.shape[1]):
        e = np.nan_to_num(effect[:, t])
        for sign in (1, -1):
            ok = np.flatnonzero(significant[:, t] & (np.sign(e) == sign))
            for rank, i in enumerate(ok[np.argsort(-sign * e[ok], kind="stable")][:per_output]):
                cand.append((rank, -abs(e[i]), int(i)))
    rows = list(dict.fromkeys(i for _, _, i in sorted(cand)))[:max_rows]
    return np.array(rows, dtype=np.int64)


# --------------------------------------------------------------------------------------------
# --target all: the index page
# --------------------------------------------------------------------------------------------
def targets_context(out: Path, summary: dict) -> dict:
    """Template variables of ``targets.html.j2``."""
    targets = summary.get("targets") or {}
    outputs = sorted(int(t) for t in targets)
    quality = summary.get("model_quality") or {}
    rows = []
    for t in outputs:
        r = targets[str(t)]
        q = quality.get(str(t)) or {}
        auc = ((q.get("all") or {}).get("auroc")) if q.get("available") else None
        rows.append({"output": t, "explained": r.get("explained"), "dir": r.get("dir"), "auroc": auc,
                     "warning": bool(q.get("warning")), "screen_top": r.get("screen_top") or [],
                     "n_families": r.get("n_families")})
    ctx = {"title": run_title(summary, out), "summary": summary, "glyph_defs": logo.glyph_defs_svg(),
           "outputs": rows, "labels": [str(t) for t in outputs],
           "matrix": _matrix(out, outputs, (summary.get("parameters") or {}).get("motif_db")),
           "families": _output_families(out, outputs),
           "filters": _filter_influence(out, outputs), "per_output_runs": summary.get("per_output_runs"),
           "max_output_runs": summary.get("max_output_runs"), "screen": summary.get("screen_outputs") or {},
           "families_summary": summary.get("output_families") or {}, "top_per_output": TOP_PER_OUTPUT}
    ctx["n_warnings"] = sum(r["warning"] for r in rows)
    return ctx


def _matrix(out: Path, outputs: list, motif_db=None) -> dict | None:
    """The motif × output matrix: the strongest known motifs of each output, clustered."""
    if not (out / "screen_outputs.h5").exists():
        return None
    a, attrs = io.read_h5(out / "screen_outputs.h5")
    effect, sig = np.asarray(a["effect"], dtype=np.float64), np.asarray(a["significant"], dtype=bool)
    ids, names = list(a["ids"]), list(a["names"])
    rows = strongest_rows(effect, sig)
    if len(rows) == 0:
        return {"rows": [], "n_motifs": len(ids), "attrs": attrs}
    cols = cluster_order(effect[rows].T) if effect.shape[1] > 2 else np.arange(effect.shape[1])
    rows = rows[cluster_order(effect[rows][:, cols])]
    scale = scale_of(effect[rows])
    cw = cell_px(len(cols))
    db = {}
    try:
        db = {m.id: m for m in io.load_motif_db(motif_db if motif_db and Path(motif_db).exists() else None)}
    except io.InputError:
        pass
    out_rows = []
    for i in rows:
        m = db.get(ids[i])
        titles = [f"{names[i]} ({ids[i]}) on output {outputs[j]}: {effect[i, j]:.3g} ± {a['se'][i, j]:.2g}, "
                  f"q = {a['q'][i, j]:.2g}" for j in cols]
        out_rows.append({"id": ids[i], "name": names[i],
                         "logo": None if m is None else logo.logo_svg(
                             m.ppm, "bits", height=18, width=min(90, 6 * len(m.ppm)), defs=False, axis=False,
                             attrs={"data-kind": "matrix-motif"}, title=f"{ids[i]} {names[i]}"),
                         "strip": strip_svg(effect[i, cols], scale, sig[i, cols], titles=titles, cw=cw,
                                            kind="matrix")})
    return {"rows": out_rows, "header": header_svg([str(outputs[j]) for j in cols], cw), "scale": scale,
            "bar": colour_bar(scale, f"effect on the score ({attrs.get('explained', 'logit')})"),
            "n_motifs": len(ids), "numbers": cw >= NUMBER_CELL_PX, "attrs": attrs, "n_outputs": len(cols)}


def _output_families(out: Path, outputs: list) -> dict | None:
    """Families matched across the outputs' runs: one row per family, one cell per output."""
    if not (out / "output_families.tsv").exists():
        return None
    rows = io.read_tsv(out / "output_families.tsv")
    mats = io.read_h5(out / "output_families.h5")[0] if (out / "output_families.h5").exists() else {}
    return _family_table(rows, mats, "output", [str(t) for t in outputs], effect_key="effect",
                         strong_key="effect_significant")


def _family_table(rows: list, mats: dict, by: str, columns: list, effect_key: str, strong_key: str,
                  cell_max: float = MAX_CELL_PX) -> dict:
    """Rows of a family × source table (``output_families.tsv`` or ``families_by_run.tsv``)."""
    fams: dict = {}
    for r in rows:
        fams.setdefault(r["family"], []).append(r)
    values = np.array([[_f(next((r.get(effect_key) for r in rs if r[by] == c), None)) for c in columns]
                       for rs in fams.values()]) if fams else np.zeros((0, len(columns)))
    scale = scale_of(values) if values.size else 1.0
    cw = cell_px(len(columns), max_px=cell_max)
    out = []
    for k, (fid, rs) in enumerate(list(fams.items())[:MAX_FAMILY_ROWS]):
        by_col = {r[by]: r for r in rs}
        cells = [by_col.get(c, {}) for c in columns]
        present = [str(c.get("present")) == "True" for c in cells]
        titles = [f"{fid} in {c}: {'found' if p else 'not found'}"
                  + (f" ({cell.get('member')}, {cell.get('n_seqlets')} seqlets)" if p else "")
                  + (f"; effect {_f(cell.get(effect_key)):.3g}" if _f(cell.get(effect_key)) is not None else "")
                  for c, p, cell in zip(columns, present, cells)]
        cwm, ppm = mats.get(f"{fid}/cwm"), mats.get(f"{fid}/ppm")
        mat, kind = (cwm, "contrib") if cwm is not None else (ppm, "bits")
        svg = None if mat is None else logo.logo_svg(np.asarray(mat, dtype=np.float64), kind, height=30,
                                                     width=min(150, 7 * len(mat)), defs=False,
                                                     attrs={"data-kind": "family-logo", "data-family": fid},
                                                     title=f"{fid}, {len(mat)} bp")
        out.append({"id": fid, "name": rs[0].get("name") or "", "sign": rs[0].get("sign"), "logo": svg,
                    "n_present": sum(present), "seqlets": sum(int(_f(c.get("n_seqlets")) or 0) for c in cells),
                    "strip": strip_svg(values[k], scale, [str(c.get(strong_key)) == "True" for c in cells],
                                       marked=present, titles=titles, cw=cw, kind="families")})
    return {"rows": out, "n": len(fams), "header": header_svg(columns, cw), "scale": scale,
            "bar": colour_bar(scale, "effect on the score"), "numbers": cw >= NUMBER_CELL_PX}


def _filter_influence(out: Path, outputs: list) -> dict | None:
    """The most influential filters with their activation logo and their influence on each output."""
    if not (out / "filters.h5").exists() or not (out / "filters.tsv").exists():
        return None
    a, _ = io.read_h5(out / "filters.h5")
    infl = a.get("influence_outputs")
    if infl is None:
        return None
    infl = np.asarray(infl, dtype=np.float64)
    by_id = {r["filter"]: r for r in io.read_tsv(out / "filters.tsv")}
    order = np.argsort(-np.nan_to_num(np.abs(infl).max(axis=1), nan=-1.0), kind="stable")[:MAX_FILTER_ROWS]
    scale = scale_of(infl[order])
    cw = cell_px(len(outputs))
    rows = []
    for i in order:
        fid = f"filter_{i}"
        r = by_id.get(fid, {})
        fires = str(r.get("n_sites", "0")) not in ("0", "")
        ppm = a["ppm"][i]
        rows.append({"id": fid, "name": r.get("jaspar_name") or "", "group_name": r.get("group_name") or "",
                     "logo": logo.logo_svg(np.asarray(ppm, dtype=np.float64), "bits", height=24,
                                           width=min(120, 5 * len(ppm)), defs=False,
                                           attrs={"data-kind": "activation", "data-filter": fid},
                                           title=f"{fid}: activation PPM (bits)") if fires else None,
                     "strip": strip_svg(infl[i], scale, titles=[f"{fid} on output {t}: {v:.3g}"
                                                                for t, v in zip(outputs, infl[i])], cw=cw,
                                        kind="influence")})
    return {"rows": rows, "n": len(infl), "header": header_svg([str(t) for t in outputs], cw),
            "bar": colour_bar(scale, "influence: mean drop of the output's logit when the filter is silenced"),
            "numbers": cw >= NUMBER_CELL_PX}


def _f(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


# --------------------------------------------------------------------------------------------
# interpret compare
# --------------------------------------------------------------------------------------------
def compare_context(out: Path, summary: dict) -> dict:
    """Template variables of ``compare.html.j2``: the runs, their designs, the families × runs table."""
    c = summary.get("compare") or {}
    runs = io.read_tsv(out / "compare.tsv") if (out / "compare.tsv").exists() else []
    fams = io.read_tsv(out / "families_by_run.tsv") if (out / "families_by_run.tsv").exists() else []
    mats = io.read_h5(out / "families_by_run.h5")[0] if (out / "families_by_run.h5").exists() else {}
    names = [r["run"] for r in runs]
    methods = c.get("methods") or []
    for r in runs:
        for k in ("filters_named", "filters_building", "model_auroc", "design_shared",
                  *(f"{m}_{x}" for x in methods for m in ("auroc", "aupr"))):
            r[k] = _f(r.get(k))
        r["n_filters"], r["n_families"] = _f(r.get("n_filters")), _f(r.get("n_families"))
        r["truth"] = [{"method": m, "auroc": _f(r.get(f"auroc_{m}")), "aupr": _f(r.get(f"aupr_{m}"))} for m in methods]
    return {"title": run_title(summary, out), "summary": summary, "glyph_defs": logo.glyph_defs_svg(), "runs": runs,
            "methods": methods, "designs": c.get("designs") or {}, "names": names,
            "families": _family_table(fams, mats, "run", names, effect_key="effect", strong_key="effect_significant",
                                      cell_max=72)
            if fams else None, "n_families": c.get("n_families"), "match": c.get("match"),
            "building_share": c.get("building_share")}
