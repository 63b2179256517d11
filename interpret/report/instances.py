"""The report's "Motif instances" section: every hit of every family (``hits.tsv``), read from the
output directory and drawn: a table of families (hits, seqlet recall, positives against negatives),
each family's positions along the sequence, and the hits over the example sequences' attribution
logos. Nothing is recomputed; a run without ``hits.tsv`` (older versions) shows a sentence instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import io
from . import logo

#: Bins of the position histograms along the sequence.
HIST_BINS = 20
#: Longer sequences are drawn as a window of this many bp around their hits.
WINDOW = 200


def _num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def histogram_svg(counts, length: int, colour: str, width: float = 160, height: float = 28) -> str:
    """Bars of hit counts along the sequence (``counts`` ``(bins,)``), 0 to ``length`` bp, as inline SVG."""
    counts = np.asarray(counts, dtype=float)
    top = counts.max() if counts.size and counts.max() > 0 else 1.0
    bw = width / max(len(counts), 1)
    bars = "".join(f'<rect x="{i * bw:.1f}" y="{height - h:.1f}" width="{max(bw - 1, 0.5):.1f}" height="{h:.1f}" '
                   f'fill="{colour}"><title>{int(c)} hits at {int(i * length / len(counts))}–'
                   f'{int((i + 1) * length / len(counts))} bp</title></rect>'
                   for i, c in enumerate(counts) for h in [height * c / top])
    return (f'<svg class="hist" width="{width + 2:.0f}" height="{height + 12:.0f}" role="img" '
            f'data-kind="hit-positions"><g transform="translate(1,0)">{bars}'
            f'<line x1="0" y1="{height}" x2="{width}" y2="{height}" stroke="#999" stroke-width="0.5"/>'
            f'<text x="0" y="{height + 10}" font-size="9" fill="#666">0</text>'
            f'<text x="{width}" y="{height + 10}" font-size="9" fill="#666" text-anchor="end">{length} bp</text>'
            f'</g></svg>')


def context(out, summary: dict, palette: list, n_examples: int = 5) -> dict:
    """Template variables of ``instances.html.j2`` for the output directory ``out``."""
    out = Path(out)
    info = (summary or {}).get("instances") or {}
    if not (out / "hits.tsv").exists():
        return {"available": False, "reason": "hits.tsv is missing (a run from before motif instances were called)."}
    hits = io.read_tsv(out / "hits.tsv")
    families = io.read_tsv(out / "families.tsv") if (out / "families.tsv").exists() else []
    length = int(((summary or {}).get("data") or {}).get("length") or 0) or max(
        (int(h["end"]) for h in hits), default=1)
    colour = {f["family"]: palette[i % len(palette)] for i, f in enumerate(families)}
    by_family: dict = {}
    for h in hits:
        by_family.setdefault(h["motif"], []).append(h)
    rows = []
    for f in families:
        fid = f["family"]
        mine = by_family.get(fid, [])
        centres = [(int(h["start"]) + int(h["end"])) / 2 for h in mine]
        counts = np.histogram(centres, bins=HIST_BINS, range=(0, length))[0]
        rows.append({"family": fid, "name": f.get("name") or fid, "colour": colour[fid], "minor": f.get("minor"),
                     "n_hits": len(mine), "hits_per_seq": _num(f.get("hits_per_seq")),
                     "seqlet_recall": _num(f.get("seqlet_recall")), "n_seqlets": f.get("n_seqlets"),
                     "pos": f.get("hit_seqs_pos"), "neg": f.get("hit_seqs_neg"),
                     "enrichment": _num(f.get("hit_enrichment")), "q": _num(f.get("hit_q")),
                     "parts": (f.get("parts") or "").replace("-", "–").replace(";", ", ")
                     if ";" in (f.get("parts") or "") else "",
                     "partial": sum(1 for h in mine if int(h["end"]) - int(h["start"]) < int(f.get("width") or 0)),
                     "histogram": histogram_svg(counts, length, colour[fid])})
    return {"available": True, "families": rows, "n_hits": len(hits), "hits_on": info.get("hits_on", "explained"),
            "n_scanned": info.get("n_scanned"), "lambda": info.get("lambda"),
            "min_similarity": info.get("min_similarity"), "labelled": any(r["pos"] not in (None, "") for r in rows),
            "examples": _examples(out, hits, families, colour, n_examples)}


def _examples(out: Path, hits: list, families: list, colour: dict, n: int) -> list:
    """The top-scoring explained sequences' contributions (the hits' method) with every hit boxed."""
    methods = list(dict.fromkeys(f.get("method") for f in families if f.get("method")))
    ex = io.read_top_attributions(out / "attributions.h5", methods, n) if methods else None
    if not ex or not ex["rows"]:
        return []
    name = {f["family"]: f.get("name") or f["family"] for f in families}
    method_of = {f["family"]: f.get("method") for f in families}
    by_seq: dict = {}
    for h in hits:
        by_seq.setdefault(int(h["seq_index"]), []).append(h)
    rows = []
    for e in ex["rows"]:
        seq_hits = by_seq.get(e["seq_index"], [])
        length = len(e["x"])
        start, stop = 0, length
        if length > WINDOW:
            mid = (min((int(h["start"]) for h in seq_hits), default=length // 2)
                   + max((int(h["end"]) for h in seq_hits), default=length // 2)) // 2
            start = int(np.clip(mid - WINDOW // 2, 0, length - WINDOW))
            stop = start + WINDOW
        tracks = []
        for m in ex["methods"]:
            if m not in methods:
                continue
            c = e["contrib"][m][start:stop]
            spans = [(max(int(h["start"]), start) - start, min(int(h["end"]), stop) - start,
                      f"{name.get(h['motif'], h['motif'])} ({h['strand']}) sim {float(h['similarity']):.2f}",
                      colour.get(h["motif"], "#555"))
                     for h in seq_hits if method_of.get(h["motif"]) == m and int(h["end"]) > start
                     and int(h["start"]) < stop]
            svg = logo.track_svg(c, spans, start, {"data-kind": "hits", "data-method": m, "data-seq": e["seq_index"]},
                                 f"sequence {e['seq_index']}: {m} contributions and motif instances")
            tracks.append({"method": m, "logo": svg, "n": len(spans)})
        rows.append({"seq_index": e["seq_index"], "tracks": tracks, "window": (start, stop), "length": length,
                     "hits": [{"name": name.get(h["motif"], h["motif"]), "start": h["start"], "end": h["end"],
                               "strand": h["strand"], "similarity": _num(h["similarity"]),
                               "colour": colour.get(h["motif"], "#555")} for h in seq_hits]})
    return rows
