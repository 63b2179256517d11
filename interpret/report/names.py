"""The report's names: motif groups beside JASPAR names, the screen read by motif group, and the
links between the screen's responding groups and the run's own patterns and filters.

It shows what the names stage wrote (:mod:`interpret.evidence.names`): the group and link columns
of ``filters.tsv``, ``motifs.tsv`` and ``families.tsv``, and ``screen_groups.tsv``
(:func:`interpret.report.render.read_output` reads them). For a run made before that stage existed
the screen is grouped here from ``screen.tsv`` (:func:`group_screen`), with no links (the section
says so). Templates: ``templates/names.html.j2`` (macros beside every name) and
``templates/screen_groups.html.j2`` (the screen's tables).
"""

from __future__ import annotations

import re

from .. import io
from ..evidence import names as evidence
from . import logo

#: The names stage's columns of filters.tsv, motifs.tsv and families.tsv.
COLUMNS = evidence.GROUP_COLUMNS + evidence.LINK_COLUMNS
#: Motif groups shown per sign in the screen section (the rest are folded below the table).
N_GROUPS = 10
#: Groups a pattern or filter is said to resemble, and carriers named per group (the rest counted).
MAX_LINKS = 3
#: Screen groups of each sign in the findings at the top of the page.
N_FINDINGS = 3


def group_screen(screen: list, summary: dict) -> list:
    """Rows like ``screen_groups.tsv``'s, unlinked (``carried`` empty), from parsed ``screen.tsv`` rows
    grouped by the run's database's motif groups: for runs made before the names stage."""
    groups = io.load_motif_groups((summary.get("parameters") or {}).get("motif_db"))
    valid = [r for r in screen if r["mean_delta"] is not None]
    return [{"motif_group": g.group, "tf_family": g.tf_family, "tf_class": g.tf_class,
             "sign": "+" if g.sign > 0 else "-", "n_members": g.n_members, "n_responding": len(g.members),
             **{k: g.best[k] for k in ("id", "name", "mean_delta", "se", "q")}, "carried": ""}
            for g in evidence.screen_groups(valid, groups)]


def tf_label(row: dict) -> tuple[str, str]:
    """JASPAR's TF class and family, short and in full: ``("bZIP · CREB-related factors",
    "Basic leucine zipper factors (bZIP) · CREB-related factors")``; the short one keeps a class
    only where JASPAR abbreviates it (in parentheses), so it fits a table cell."""
    classes = [c for c in (row.get("tf_class") or "").split("::") if c]
    short = "::".join(dict.fromkeys(m.group(1) for m in (re.search(r"\(([^()]+)\)\s*$", c) for c in classes) if m))
    family = row.get("tf_family") or ""
    return (" · ".join(x for x in (short, family) if x),
            " · ".join(x for x in (row.get("tf_class") or "", family) if x))


def decorate(row: dict, max_links: int = MAX_LINKS) -> dict:
    """What a motif, family or filter row shows beside its name: ``tf_label`` (``tf_title`` in
    full), the screen's word on its name (``check``: ``{"kind", "text", "short"}`` or None) and the
    responding groups it resembles besides its own (the first ``max_links`` of them)."""
    name = row.get("jaspar_name") or row.get("jaspar_id") or ""
    group = row.get("motif_group") or ""
    kind = row.get("screen_check") or ""
    relatives = f" or its group {group}" if group else ""
    text = {evidence.NO_RESPONSE: f"the screen: no response to {name}{relatives}",
            evidence.OPPOSITE: f"the screen: {name}{relatives} moves the score the other way",
            evidence.GROUP_SUPPORTS: f"the screen: {name} itself no response; other {group} members respond"}.get(kind)
    short = {evidence.NO_RESPONSE: "screen: no response", evidence.OPPOSITE: "screen: opposite sign",
             evidence.GROUP_SUPPORTS: "screen: group only"}.get(kind)
    # its own group goes without saying
    resembled = [g for g in (row.get("resembles_groups") or "").split(";") if g and g != group]
    shown, n_more = resembled[:max_links], max(0, len(resembled) - max_links)
    label, full = tf_label(row)
    return {"tf_label": label, "tf_title": full, "check": {"kind": kind, "text": text, "short": short} if text else None,
            "resembles_shown": shown, "n_more_resembles": n_more, "resembles_also": bool(group)}


def group_responds(row: dict) -> bool:
    """Whether the screen finds no response to a row's named matrix but one to its motif group, with
    the sign the row claims (``screen_check``: :data:`interpret.evidence.names.GROUP_SUPPORTS`)."""
    return row.get("screen_check") == evidence.GROUP_SUPPORTS


def screen_context(rows: list, linked: bool, families: list, motifs: list, jaspar: dict, effect_bar,
                   logo_px) -> dict:
    """The screen section's motif-group tables and the findings' groups.

    Parameters
    ----------
    rows : list of dict
        ``screen_groups.tsv`` (numbers parsed), or :func:`group_screen`.
    linked : bool
        Whether ``rows`` hold the links (``screen_groups.tsv``) or not (:func:`group_screen`).
    families, motifs : list of dict
        The report's family rows (main and minor) and motifs.tsv rows: carriers are named by them.
    jaspar : dict
        ``{id: io.Motif}`` of the database motifs the page draws.
    effect_bar, logo_px : callable
        The page's effect bar and logo width (``render._effect_bar``, ``render.logo_px``).
    """
    scale = max([abs(r["mean_delta"]) + 1.96 * (r["se"] or 0) for r in rows if r["mean_delta"] is not None] or [1.0])
    fam_by_id = {f["family"]: f for f in families}
    family_of = {m["motif"]: m.get("family") for m in motifs}
    out = {"raise": [], "lower": []}
    for r in rows:
        m = jaspar.get(r["id"])
        carriers = list(dict.fromkeys([f for f in (r.get("families") or "").split(",") if f]
                                      + [family_of.get(p) for p in (r.get("patterns") or "").split(",") if p]))
        carriers = [{"id": f, "label": _family_label(fam_by_id.get(f)), "minor": bool((fam_by_id.get(f) or {}).get("minor"))}
                    for f in carriers if f]
        filters = [f for f in (r.get("filters") or "").split(",") if f]
        out["raise" if r["sign"] == "+" else "lower"].append({
            **r, **dict(zip(("tf_label", "tf_title"), tf_label(r))), "bar": effect_bar(r["mean_delta"], r["se"], scale),
            "logo": None if m is None else logo.logo_svg(m.ppm, "bits", height=26, width=logo_px(len(m.ppm), 100, 6),
                                                         defs=False, attrs={"data-kind": "screen"},
                                                         title=f"{m.id} {m.name} ({len(m.ppm)} bp)"),
            "carriers": carriers[:MAX_LINKS], "n_more_carriers": max(0, len(carriers) - MAX_LINKS),
            "filters": filters[:MAX_LINKS], "n_more_filters": max(0, len(filters) - MAX_LINKS)})
    n_none = sum(r.get("carried") == "none" for r in rows)
    return {**out, "linked": linked, "n_groups": N_GROUPS, "n_none": n_none,
            "n_filter_only": sum(r.get("carried") == "filter" for r in rows),
            "findings_raise": out["raise"][:N_FINDINGS], "findings_lower": out["lower"][:N_FINDINGS]}


def _family_label(f: dict | None) -> str:
    """A carrier's name on the page: its motif group (or JASPAR name), else "unnamed"."""
    if not f:
        return "unnamed"
    return f.get("motif_group") or f.get("jaspar_name") or "unnamed"

