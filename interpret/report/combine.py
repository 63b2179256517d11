"""The report's "How motifs combine" section and the partners the findings name, from ``grammar.tsv``.

Nothing is recomputed: :func:`context` reads ``grammar.tsv`` (:mod:`interpret.evidence.grammar`)
and the run summary's ``grammar`` block and returns the template's variables. A motif that
moves the score only with a partner is named with it (:func:`partner_of`), so the findings
never list it among the motifs the model ignores.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from .. import io

#: Arrangements shown in the section's table (grammar.tsv has every one tested).
MAX_ROWS = 30
_COLOURS = ("#1b9e77", "#d95f02")


def read_grammar(out: Path) -> list[dict] | None:
    """Rows of ``grammar.tsv`` with numbers parsed; None when the run wrote none (runs before it)."""
    path = Path(out) / "grammar.tsv"
    if not path.exists():
        return None
    rows = io.read_tsv(path)
    for r in rows:                       # grammar.tsv leaves NaN cells empty
        for k in ("spacing", "enrichment", "enrichment_q", "interaction", "interaction_se", "interaction_q",
                  "n_expected"):
            r[k] = float(r[k]) if r.get(k) not in (None, "") else None
        r["n_observed"] = int(r.get("n_observed") or 0)
        r["interaction_significant"] = str(r.get("interaction_significant")).strip().lower() == "true"
    return rows


def context(out, summary: dict) -> dict:
    """Template variables of the section, and ``partners``: the significant interactions (controls
    excluded), largest first, each with its control, for the findings."""
    g = (summary or {}).get("grammar") or {}
    rows = read_grammar(out)
    if rows is None:
        return {"available": False, "partners": [],
                "reason": "This run has no grammar.tsv (it was made before motif grammar was measured)."}
    controls = {_pair(r): r for r in rows if r["kind"] == "control"}
    shown = []
    for r in rows:
        if r["kind"] == "control":
            continue
        c = controls.get(_pair(r))
        c = None if c is None else {**c, "bp": f"{abs(c['spacing']):g}"}
        shown.append({**r, "control": c, "where": where(r), "svg": arrangement_svg(r)})
    shown.sort(key=lambda r: (not r["interaction_significant"], -abs(r["interaction"] or 0.0)))
    partners = [r for r in shown if r["interaction_significant"]]
    return {"available": True, "rows": shown[:MAX_ROWS], "n_rows": len(shown), "partners": partners,
            "n_cooperative": sum(1 for r in partners if r["interaction"] > 0),
            "n_antagonistic": sum(1 for r in partners if r["interaction"] < 0),
            "n_composite": sum(1 for r in shown if r["kind"] == "composite"),
            "n_enriched_tested": sum(1 for r in shown if r["kind"] == "enriched"),
            "enriched": g.get("enriched"), "pairs_tested": g.get("family_pairs_tested"),
            "min_pairs": g.get("min_pairs"), "hits": g.get("hits"), "sequences": g.get("sequences"),
            "backgrounds": g.get("backgrounds"), "null": g.get("null"), "min_effect": g.get("min_effect"),
            "explained": g.get("explained") or (summary or {}).get("explained", "")}


def partner_of(partners: list, name: str | None = None, family: str | None = None) -> dict | None:
    """The strongest significant interaction of a motif, by its name (a JASPAR name, compared
    case-insensitively) or its family id; None when it has none."""
    key = (name or "").strip().lower()
    for p in partners:
        if family and family in (p["motif_a"], p["motif_b"]):
            return p
        if key and key in (p["name_a"].lower(), p["name_b"].lower()):
            return p
    return None


def where(r: dict) -> str:
    """B's place relative to A in words: ``"21.5 bp downstream on the same strand"``."""
    s = r.get("spacing")
    if s is None:
        return ""
    side = "downstream" if s >= 0 else "upstream"
    strand = "on the same strand" if r.get("orientation") == "same" else "on the other strand"
    return f"{abs(s):g} bp {side} {strand}"


def arrangement_svg(r: dict, width: float = 150, height: float = 20) -> str:
    """Inline SVG of an arrangement: A and B as arrows on a line (B's arrow points back when it reads
    on the other strand), centre to centre to scale, as far as the width allows."""
    s = r.get("spacing") or 0.0
    box = 26.0
    scale = min(3.0, (width - 2 * box - 8) / max(abs(s), 1.0))
    mid = width / 2
    xa, xb = mid - s * scale / 2, mid + s * scale / 2
    y = height / 2

    def arrow(x, forward, colour, label):
        # a box with a point at its 3' end: tail, head, point
        tail, head = (x - box / 2, x + box / 2) if forward else (x + box / 2, x - box / 2)
        tip = head + (5 if forward else -5)
        pts = (f"{tail:.1f},{y - 5:.1f} {head:.1f},{y - 5:.1f} {tip:.1f},{y:.1f} {head:.1f},{y + 5:.1f} "
               f"{tail:.1f},{y + 5:.1f}")
        return f'<polygon points="{pts}" fill="{colour}" opacity="0.85"><title>{escape(str(label))}</title></polygon>'

    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="arrangement" style="display:block" '
            f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}">'
            f'<line x1="2" x2="{width - 2:.0f}" y1="{y}" y2="{y}" stroke="#bbb" stroke-width="1"/>'
            + arrow(xa, True, _COLOURS[0], r.get("name_a", "A"))
            + arrow(xb, r.get("orientation") == "same", _COLOURS[1], r.get("name_b", "B")) + "</svg>")


def _pair(r: dict) -> tuple:
    return r["motif_a"], r["motif_b"], r["name_a"], r["name_b"]
