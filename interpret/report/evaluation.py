"""The report's figures of merit: how well the model separates its labels, and how right the run is
on planted truth (``summary.json`` ``model_quality`` and ``truth``)."""

from __future__ import annotations

import math


def _num(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def quality_context(summary: dict) -> dict | None:
    """The model-quality lines at the top of the page (None without labels).

    ``rows``: the explained sequences, and every labelled input row when that differs; a warning
    when the AUROC on every labelled row (else on the explained ones) is under ``min_auroc``.
    """
    q = summary.get("model_quality")
    if not q:
        return None
    if not q.get("available"):
        return {"available": False, "reason": q.get("reason", "")}
    rows = []
    n_explained = (q.get("explained") or {}).get("n")
    for key, what in (("all", "every labelled input sequence"), ("explained", "the explained sequences")):
        r = q.get(key) or {}
        if key == "explained" and n_explained == (q.get("all") or {}).get("n"):
            continue          # the same rows twice
        rows.append({"what": what, "n": r.get("n"), "n_positive": r.get("n_positive"), "auroc": _num(r.get("auroc")),
                     "aupr": _num(r.get("aupr")), "accuracy": _num(r.get("accuracy"))})
    auc = next((r["auroc"] for r in rows if r["auroc"] is not None), None)
    return {"available": True, "rows": rows, "called_positive": q.get("called_positive"), "auroc": auc,
            "warning": auc is not None and auc < q.get("min_auroc", 0.7), "min_auroc": q.get("min_auroc", 0.7),
            "one_class_explained": (q.get("explained") or {}).get("auroc") is None
            or _num((q.get("explained") or {}).get("auroc")) is None}


def truth_context(summary: dict) -> dict | None:
    """The planted-truth subsection (None without ``--truth``)."""
    t = summary.get("truth")
    if not t:
        return None
    methods = [{"name": m, **{k: _num(v) for k, v in r.items()}} for m, r in (t.get("methods") or {}).items()]
    seqlets = [{"method": m, **r} for m, r in (t.get("seqlets") or {}).items()]
    return {"file": t.get("file"), "form": t.get("form"), "label": t.get("label"), "score": t.get("score"),
            "methods": methods, "seqlets": seqlets, "hits": t.get("hits"), "planted": t.get("planted") or [],
            "not_in_database": t.get("not_in_database") or [], "sequences_read": t.get("sequences_read"),
            "n_explained": t.get("n_explained")}
