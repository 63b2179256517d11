"""The HTML report: built from a fake-but-valid output directory (exact files of CONTRACTS.md).

``write_fake_output`` is also used by ``tests/browser_check.py`` and ``benchmarks/logo_speed.py``.
"""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from interpret import io

JASPAR = [("MA0035.5", "GATA1"), ("MA0466.4", "CEBPB"), ("MA0139.2", "CTCF"), ("MA0047.4", "FOXA2")]
SECTION_IDS = ["summary", "motifs", "filters", "heatmap", "examples", "howto"]


# --------------------------------------------------------------------------------------
# Fake output directory
# --------------------------------------------------------------------------------------
def write_fake_output(out, n_filters: int = 8, n_motifs: int = 3, n_seqs: int = 20, length: int = 101,
                      width: int = 19, methods=("gradxinput", "deepshap"), n_never: int = 1, seed: int = 0,
                      with_summary: bool = True) -> dict:
    """Write a small valid output directory (random PPMs); return the summary dict.

    Filters ``filter_{F-n_never}`` .. ``filter_{F-1}`` never fire (n_sites 0, NaN-free zero PPM).
    """
    rng = np.random.default_rng(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    # ---- filters
    ppm = rng.dirichlet(np.full(4, 0.4), size=(n_filters, width))
    weights = rng.normal(size=(n_filters, width, 4)).astype(np.float32)
    n_sites = rng.integers(5, 500, size=n_filters)
    never = list(range(n_filters - n_never, n_filters))
    n_sites[never] = 0
    ppm[never] = 0.25
    p = np.clip(ppm, 1e-9, 1)
    ic = (2 + (p * np.log2(p)).sum(-1)).sum(-1)
    influence = np.abs(rng.normal(size=n_filters))
    influence[never] = 0.0
    order = np.argsort(-influence, kind="stable")
    rank = np.empty(n_filters, int)
    rank[order] = np.arange(1, n_filters + 1)
    ids = [f"filter_{i}" for i in range(n_filters)]
    rows = []
    for i in order:
        jid, jname = JASPAR[i % len(JASPAR)] if i % 2 == 0 else ("", "")
        rows.append({"filter": ids[i], "n_sites": int(n_sites[i]), "ic": float(ic[i]),
                     "max_activation": float(rng.uniform(1, 5)) if n_sites[i] else 0.0,
                     "influence": float(influence[i]), "influence_rank": int(rank[i]), "jaspar_id": jid,
                     "jaspar_name": jname, "jaspar_q": float(rng.uniform(1e-5, 0.05)) if jid else None,
                     "group": f"g{i % 3}"})
    io.write_tsv(out / "filters.tsv", rows, ["filter", "n_sites", "ic", "max_activation", "influence",
                                             "influence_rank", "jaspar_id", "jaspar_name", "jaspar_q", "group"])
    io.write_meme(out / "filters.meme", [io.Motif(f, ppm[i], f"sites={int(n_sites[i])}", max(int(n_sites[i]), 1))
                                         for i, f in enumerate(ids)])
    io.write_h5(out / "filters.h5", {"": {"ppm": ppm, "weights": weights, "n_sites": n_sites, "ic": ic,
                                          "max_activation": np.ones(n_filters), "influence": influence}},
                attrs={"layer": "conv1d", "width": width, "threshold": 0.5})

    # ---- attributions
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(n_seqs, length))]
    index = np.sort(rng.choice(n_seqs * 3, size=n_seqs, replace=False)).astype(np.int64)
    store = io.AttributionStore.open(out / "attributions.h5", index, length, list(methods),
                                     {"explained": "logit (pre-sigmoid) of output 0", "target": 0, "params": "{}"},
                                     shard_size=n_seqs)
    shard = {}
    for k, m in enumerate(methods):
        hyp = rng.normal(scale=0.05, size=(n_seqs, length, 4)).astype(np.float32)
        score = rng.normal(size=n_seqs).astype(np.float32) + k
        shard[m] = {"contrib": hyp * x, "hypothetical": hyp, "score": score,
                    "delta": np.full(n_seqs, 1e-6, np.float32) if m == "deepshap" else None}
    store.commit(0, x, shard)
    store.close()

    # ---- motifs
    mrows, mids = [], []
    groups = {}
    for k in range(n_motifs):
        sign = "+" if k % 3 != 2 else "-"
        method = methods[-1]
        mid = f"{method}_{'pos' if sign == '+' else 'neg'}_{k}"
        mw = int(rng.integers(8, 16))
        mppm = rng.dirichlet(np.full(4, 0.3), size=mw)
        cwm = mppm * rng.uniform(0.1, 1.0, size=(mw, 1)) * (1 if sign == "+" else -1)
        mids.append(mid)
        groups[mid] = {"ppm": mppm, "cwm": cwm, "hcwm": cwm}
        jid, jname = JASPAR[k % len(JASPAR)] if k % 2 == 0 else ("", "")
        mrows.append({"motif": mid, "method": method, "sign": sign, "n_seqlets": int(rng.integers(20, 400)),
                      "width": mw, "trim_start": 2, "trim_end": 2 + mw, "jaspar_id": jid, "jaspar_name": jname,
                      "jaspar_q": float(rng.uniform(1e-6, 0.05)) if jid else None})
    comp = []
    for f in ids:
        for mid in mids:
            q = float(rng.uniform(1e-6, 1.0) ** 3)
            comp.append({"filter": f, "motif": mid, "tomtom_p": q / 10, "tomtom_q": q,
                         "offset": int(rng.integers(-3, 3)), "strand": "+-"[int(rng.integers(0, 2))],
                         "pearson_r": float(rng.uniform(-0.2, 0.9))})
    io.write_tsv(out / "comparison.tsv", comp, ["filter", "motif", "tomtom_p", "tomtom_q", "offset", "strand",
                                                "pearson_r"])
    for r in mrows:
        hits = sorted((c for c in comp if c["motif"] == r["motif"] and c["tomtom_q"] < 0.05),
                      key=lambda c: c["tomtom_q"])
        r.update({"filters": ",".join(h["filter"] for h in hits), "best_filter": hits[0]["filter"] if hits else "",
                  "best_filter_q": hits[0]["tomtom_q"] if hits else None})
    if n_motifs:
        io.write_tsv(out / "motifs.tsv", mrows, ["motif", "method", "sign", "n_seqlets", "width", "trim_start",
                                                 "trim_end", "jaspar_id", "jaspar_name", "jaspar_q", "filters",
                                                 "best_filter", "best_filter_q"])
        io.write_meme(out / "motifs.meme", [io.Motif(m, groups[m]["ppm"], m, 20) for m in mids])
        io.write_h5(out / "motifs.h5", groups, attrs={"explained": "see summary.json"})
    else:
        io.write_tsv(out / "motifs.tsv", [], ["motif", "method", "sign", "n_seqlets", "width", "trim_start",
                                              "trim_end", "jaspar_id", "jaspar_name", "jaspar_q", "filters",
                                              "best_filter", "best_filter_q"])
    seqlets = []
    for n in range(n_seqs):
        for _ in range(int(rng.integers(0, 3)) if mids else 0):
            mid = mids[int(rng.integers(0, len(mids)))]
            s = int(rng.integers(0, length - 12))
            seqlets.append({"seq_index": int(index[n]), "start": s, "end": s + 12, "strand": "+-"[n % 2],
                            "motif": mid, "method": methods[-1], "contribution": float(rng.uniform(0.1, 2))})
    io.write_tsv(out / "seqlets.tsv", seqlets, ["seq_index", "start", "end", "strand", "motif", "method",
                                                "contribution"])

    summary = {
        "version": "0.1.0", "command": f"interpret run model.h5 data.npz --out {out.name}",
        "created": "2026-01-01T00:00:00+00:00",
        "model": {"path": "model.h5", "layout": "1L4", "seq_len": length, "n_outputs": 1,
                  "output_activation": "sigmoid",
                  "architecture": [{"name": "conv2d", "type": "Conv2D", "output_shape": f"(1, {length - width + 1}, {n_filters})",
                                    "activation": "relu", "params": n_filters * (4 * width + 1)},
                                   {"name": "flatten", "type": "Flatten", "output_shape": "(1000,)", "activation": "",
                                    "params": 0},
                                   {"name": "dense", "type": "Dense", "output_shape": "(1,)", "activation": "sigmoid",
                                    "params": 1001}]},
        "data": {"path": "data.npz", "n_total": n_seqs * 3, "n_explained": n_seqs, "length": length,
                 "n_positive": n_seqs, "source_layout": "(N, L, 4)", "keys": {"x": "x", "y": "y"}},
        "explained": "logit (pre-sigmoid) of output 0", "target": 0, "methods": list(methods),
        "motifs_from": [methods[-1]],
        "attribution": {m: {"max_abs_delta": 1e-6 if m == "deepshap" else None,
                            "max_rel_delta": 1e-5 if m == "deepshap" else None,
                            "n_above_1e-3": 0 if m == "deepshap" else None, "seconds": 1.5} for m in methods},
        "motifs": {methods[-1]: {"n_patterns": n_motifs, "modisco_h5": "modisco.h5"}},
        "comparison": {"q_threshold": 0.05, "n_filters": n_filters, "n_motifs": n_motifs,
                       "motifs_without_filter": [r["motif"] for r in mrows if not r["filters"]],
                       "motif_jaspar": {r["motif"]: r["jaspar_id"] for r in mrows if r["jaspar_id"]}},
        "timings": {"filters": 1.2, "attributions": 3.0, "motifs": 10.0, "compare": 0.4},
        "parameters": {"target": 0, "methods": list(methods), "seed": seed, "motif_db": None},
        "versions": {"python": "3.11", "numpy": np.__version__},
    }
    if with_summary:
        io.write_json(out / "summary.json", summary)
    return summary


# --------------------------------------------------------------------------------------
# HTML parsing
# --------------------------------------------------------------------------------------
class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []          # (tag, attrs dict)
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag=None, **attrs):
        out = []
        for t, a in self.tags:
            if tag and t != tag:
                continue
            if all((a.get(k.replace("_", "-")) == v) if v is not True else k.replace("_", "-") in a
                   for k, v in attrs.items()):
                out.append(a)
        return out

    def with_class(self, cls, tag=None):
        return [a for t, a in self.tags if (tag is None or t == tag) and cls in (a.get("class") or "").split()]


def parse(path) -> _Page:
    p = _Page()
    p.feed(Path(path).read_text(encoding="utf-8"))
    return p


@pytest.fixture(scope="module")
def fake_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("out")
    write_fake_output(d)
    return d


@pytest.fixture(scope="module")
def rendered(fake_dir):
    from interpret.report import render_report

    path = render_report(fake_dir)
    return path, parse(path)


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------
def test_every_section_present(rendered):
    _, page = rendered
    ids = [a["id"] for t, a in page.tags if t == "section" and "id" in a]
    assert ids == SECTION_IDS


def test_no_external_urls_and_every_image_inline(rendered):
    path, page = rendered
    html = path.read_text()
    assert not page.find("link"), "no <link> elements"
    assert not [a for a in page.find("script") if "src" in a], "no external scripts"
    for tag, a in page.tags:
        for k in ("src", "href", "xlink:href", "data", "poster", "srcset", "action"):
            v = a.get(k)
            if v is None:
                continue
            assert v.startswith(("#", "data:")) or (tag == "svg" and k == "xmlns"), f"<{tag} {k}={v!r}>"
    for a in page.find("img"):
        assert a["src"].startswith("data:image/")
    # no URL anywhere except the SVG namespace declaration
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    assert "url(" not in html and "@import" not in html


def test_filter_logo_counts_match_filters_tsv(rendered, fake_dir):
    _, page = rendered
    rows = io.read_tsv(fake_dir / "filters.tsv")
    n_never = sum(int(r["n_sites"]) == 0 for r in rows)
    assert len(page.with_class("filter-row", "tr")) == len(rows) == 8
    assert len(page.find("svg", data_kind="weight")) == len(rows)
    assert len(page.find("svg", data_kind="activation")) == len(rows) - n_never == 7
    assert len(page.find("span", data_kind="never")) == n_never == 1
    # sorted by influence rank
    order = [a["data-filter"] for a in page.with_class("filter-row", "tr")]
    by_rank = [r["filter"] for r in sorted(rows, key=lambda r: int(r["influence_rank"]))]
    assert order == by_rank


def test_motif_rows_match_motifs_tsv(rendered, fake_dir):
    _, page = rendered
    rows = io.read_tsv(fake_dir / "motifs.tsv")
    assert [a["data-motif"] for a in page.with_class("motif-row", "tr")] == [r["motif"] for r in rows]
    assert len(page.find("svg", data_kind="cwm")) == len(page.find("svg", data_kind="ppm")) == 3
    n_jaspar_motifs = sum(bool(r["jaspar_id"]) for r in rows)
    n_jaspar_filters = sum(bool(r["jaspar_id"]) for r in io.read_tsv(fake_dir / "filters.tsv"))
    assert len(page.find("svg", data_kind="jaspar")) == n_jaspar_motifs + n_jaspar_filters
    n_listed = sum(min(len([f for f in r["filters"].split(",") if f]), 6) for r in rows)
    assert len(page.find("svg", data_kind="motif-filter")) + len(
        [1 for r in rows for f in r["filters"].split(",")[:6] if f == "filter_7"]) == n_listed


def test_examples_one_track_per_method(rendered):
    _, page = rendered
    tracks = page.find("svg", data_kind="attribution")
    assert len(tracks) == 5 * 2
    assert {a["data-method"] for a in tracks} == {"gradxinput", "deepshap"}


def test_examples_are_the_top_scoring_sequences(rendered, fake_dir):
    _, page = rendered
    a = io.read_attributions(fake_dir / "attributions.h5")
    top = a["index"][np.argsort(-a["gradxinput"]["score"])[:5]]
    shown = [int(x["data-seq"]) for x in page.find("div") if "data-seq" in x]
    assert shown == top.tolist()


def test_glyphs_defined_once_and_referenced(rendered):
    path, page = rendered
    html = path.read_text()
    assert html.count('id="lgA"') == 1
    uses = page.find("use")
    assert uses and all(u["href"] in ("#lgA", "#lgC", "#lgG", "#lgT") for u in uses)


def test_figures_written(rendered, fake_dir):
    for name in ("motifs", "filters"):
        for ext in ("svg", "pdf"):
            f = fake_dir / "figures" / f"{name}.{ext}"
            assert f.exists() and f.stat().st_size > 1000, f


def test_rerender_reads_summary_json_and_is_identical(rendered, fake_dir):
    from interpret.report import render_report

    first = rendered[0].read_text()
    render_report(fake_dir, figures=False)
    assert (fake_dir / "report.html").read_text() == first


def test_summary_passed_before_summary_json_exists(tmp_path):
    from interpret.report import render_report

    summary = write_fake_output(tmp_path / "o", with_summary=False)
    page = parse(render_report(tmp_path / "o", summary, figures=False))
    text = " ".join(page.text)
    assert "logit (pre-sigmoid) of output 0" in text
    assert "summary.json is missing" not in text


def test_no_motifs_says_so(tmp_path):
    from interpret.report import render_report

    write_fake_output(tmp_path / "o", n_motifs=0)
    page = parse(render_report(tmp_path / "o"))
    text = " ".join(page.text)
    assert "TF-MoDISco found no motifs" in text
    assert not page.with_class("motif-row")
    assert [a["id"] for t, a in page.tags if t == "section"] == SECTION_IDS
    assert (tmp_path / "o" / "figures" / "filters.pdf").exists()


def test_missing_pieces_do_not_crash(tmp_path):
    from interpret.report import render_report

    d = tmp_path / "o"
    write_fake_output(d)
    for name in ("attributions.h5", "comparison.tsv", "motifs.h5", "motifs.tsv", "filters.h5", "summary.json",
                 "seqlets.tsv"):
        (d / name).unlink()
    page = parse(render_report(d))
    text = " ".join(page.text)
    assert "attributions.h5 is missing" in text
    assert "summary.json is missing" in text
    assert "motifs.tsv is missing" in text
    # filters still drawn from filters.meme; no weights without filters.h5
    assert len(page.with_class("filter-row", "tr")) == 8
    assert len(page.find("svg", data_kind="activation")) == 7
    assert not page.find("svg", data_kind="weight")


def test_method_without_attributions_says_so(tmp_path):
    import h5py

    from interpret.report import render_report

    d = tmp_path / "o"
    write_fake_output(d)
    with h5py.File(d / "attributions.h5", "a") as f:
        del f["gradxinput"]
    page = parse(render_report(d, figures=False))
    assert "No attributions for: gradxinput" in " ".join(page.text)
    assert {a["data-method"] for a in page.find("svg", data_kind="attribution")} == {"deepshap"}


def test_multi_target_index_page(tmp_path):
    from interpret.report import render_report

    io.write_json(tmp_path / "summary.json", {"version": "0.1.0", "targets": {
        "0": {"dir": "target_0", "explained": "logit of output 0"},
        "1": {"dir": "target_1", "explained": "logit of output 1"}}})
    page = parse(render_report(tmp_path))
    assert [a["href"] for a in page.find("a")] == ["target_0/report.html", "target_1/report.html"]


def test_512_filters_50_motifs_under_20_mb(tmp_path):
    from interpret.report import render_report

    d = tmp_path / "big"
    write_fake_output(d, n_filters=512, n_motifs=50, n_seqs=200, length=1000, width=24, n_never=40, seed=3)
    t = time.perf_counter()
    path = render_report(d, figures=False)
    seconds = time.perf_counter() - t
    size = path.stat().st_size
    assert size < 20e6, f"{size / 1e6:.1f} MB"
    page = parse(path)
    assert len(page.with_class("filter-row", "tr")) == 512
    assert len(page.with_class("motif-row", "tr")) == 50
    assert seconds < 60, seconds


def test_report_states_the_tf_modisco_sample():
    from interpret.report import sample_notes

    s = {"motifs": {"deepshap": {"sample": {"seed": 7, "sequences": 100_000, "of_sequences": 1_000_000,
                                            "seqlets": {"pos": 20_000, "neg": 900},
                                            "of_seqlets": {"pos": 183_412, "neg": 900}}},
                    "gradxinput": {"sample": {"seed": 7, "sequences": 50, "of_sequences": 50,
                                              "seqlets": {"pos": 10, "neg": 0}, "of_seqlets": {"pos": 10, "neg": 3}}}}}
    notes = sample_notes(s)
    assert notes == ["TF-MoDISco on deepshap read a random sample of 100,000 of the 1,000,000 explained sequences "
                     "and clustered a random sample of 20,000 of the 183,412 positive seqlets (seed 7); its motifs "
                     "and seqlet counts describe that sample."]
    s["motifs"]["deepshap"]["sample"]["seqlets"]["neg"] = 800
    assert "20,000 of the 183,412 positive and 800 of the 900 negative seqlets (seed 7)" in sample_notes(s)[0]
