"""Motif instances (issue #30): the joint sparse fit against values worked out by hand, motifs at and
off the sequence ends, competing families, planted instances in peak-like sequences recovered
position by position, sharded and resumed fits, and a whole run with composite and dimer motifs.

Models are hand-set (``simulate.pwm_model`` with sum pooling: every site a filter fires on carries
attribution), so what the model responds to is known without training.
"""

import numpy as np
import pytest

from interpret import io, simulate
from interpret.attribution.methods import DeepShap
from interpret.motifs import hits

P53_FAMILY = ("TP53", "TP63", "TP73")


def _onehot(seq: str) -> np.ndarray:
    return np.eye(4, dtype=np.float32)[["ACGT".index(c) for c in seq]]


def _projected_cwm(consensus: str, weights) -> np.ndarray:
    """A CWM with ``weights[j]`` on the consensus base of column ``j`` (what perfect sites give)."""
    return _onehot(consensus).astype(np.float64) * np.asarray(weights, dtype=np.float64)[:, None]


def _track(length: int, placements, rng) -> tuple:
    """Random sequence with CWM copies written in: ``placements`` = ``(cwm, start, amplitude, rc)``,
    ``start`` may be negative or run past the end. Returns ``x, contrib`` ``(1, L, 4)``."""
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, length)]
    contrib = np.zeros((length, 4))
    for cwm, start, amp, rc in placements:
        c = cwm[::-1, ::-1] if rc else cwm
        for j in range(len(c)):
            i = start + j
            if 0 <= i < length:
                x[i] = (c[j] != 0).astype(np.float32)
                contrib[i] = amp * c[j]
    return x[None], contrib[None]


CONS = "TGACTCAGCA"
WEIGHTS = [1.0, 2.0, 2.0, 1.5, 2.0, 2.0, 1.5, 1.0, 1.0, 0.5]


def test_an_isolated_instance_gets_the_lasso_solution_worked_out_by_hand():
    cwm = _projected_cwm(CONS, WEIGHTS)
    unit = cwm / np.linalg.norm(cwm)
    motifs = hits.prepare([cwm])
    x, contrib = _track(60, [(unit, 12, 3.0, False), (unit, 40, 2.0, True)], np.random.default_rng(0))
    h = hits.fit_batch(x, contrib, motifs, scale=1.0)
    assert h["start"].tolist() == [12, 40] and h["end"].tolist() == [22, 50] and h["strand"].tolist() == [1, -1]
    np.testing.assert_allclose(h["similarity"], 1.0, atol=1e-9)
    # one atom alone: c = (z - lambda) / ||a||^2 with z = A / sqrt(A^2 + eps) and ||a||^2 = 1 / (A^2 + eps)
    for amp, c in zip((3.0, 2.0), h["coefficient"]):
        assert c == pytest.approx((amp / np.sqrt(amp ** 2 + 1) - hits.LAMBDA) * (amp ** 2 + 1), rel=1e-4)
    np.testing.assert_allclose(h["contribution"], [3.0 * unit.sum(), 2.0 * unit.sum()], rtol=1e-9)
    # the run's scale: the same contributions in other units give the same hits, coefficients in those units
    h10 = hits.fit_batch(x, 10 * contrib, motifs, scale=10.0)
    np.testing.assert_allclose(h10["coefficient"], 10 * h["coefficient"], rtol=1e-6)
    np.testing.assert_allclose(h10["similarity"], h["similarity"])


def test_a_motif_running_off_either_end_is_called_when_the_part_inside_reaches_the_floor():
    cwm = _projected_cwm(CONS, np.ones(10))
    unit = cwm / np.linalg.norm(cwm)
    motifs = hits.prepare([cwm])
    rng = np.random.default_rng(1)
    for outside, called in ((0, True), (2, True), (3, True), (5, False), (7, False)):
        # similarity = the share of the matrix's norm inside: sqrt((10 - outside) / 10)
        for start in (-outside, 50 - 10 + outside):
            x, contrib = _track(50, [(unit, start, 4.0, False)], rng)
            h = hits.fit_batch(x, contrib, motifs, scale=1.0)
            assert (len(h["start"]) == 1) == called, (outside, start)
            if called:
                assert h["similarity"][0] == pytest.approx(np.sqrt((10 - outside) / 10), abs=1e-9)
                assert (h["start"][0], h["end"][0]) == (max(start, 0), min(start + 10, 50))


def test_families_compete_for_the_same_contributions():
    half = _projected_cwm("ACATGCCC", [1, 2, 2, 2, 2, 1, 1, 1])
    dimer = np.concatenate([half, half[::-1, ::-1]])          # a palindromic dimer of two half-sites
    motifs = hits.prepare([half, dimer])
    rng = np.random.default_rng(2)
    unit_d = dimer / np.linalg.norm(dimer)
    unit_h = half / np.linalg.norm(half)
    x, contrib = _track(80, [(unit_d, 10, 4.0, False), (unit_h, 60, 3.0, False)], rng)
    h = hits.fit_batch(x, contrib, motifs, scale=1.0)
    # the dimer explains both of its halves: no half-site hit inside it; the lone half is a half-site
    assert sorted(zip(h["motif"].tolist(), h["start"].tolist())) == [(0, 60), (1, 10)]


def _planted_hits(n=400, seed=0):
    sim = simulate.instances_like(n=n, length=200, seed=seed)
    ids = simulate.INSTANCE_MOTIFS
    model = simulate.pwm_model(ids, length=200, width=24, pool="sum", threshold=0.6)
    contrib = DeepShap(model).attribute(sim.x, n_references=10, seed=0).contrib
    t = sim.instances
    cwms = []
    for mid in ids:   # the mean contribution over the planted full instances: what TF-MoDISco pools
        sel = np.flatnonzero((t["motif"] == mid) & (t["kind"] == "full"))
        segs = [contrib[t["seq_index"][j], t["start"][j]:t["end"][j]] for j in sel]
        cwms.append(np.mean([s[::-1, ::-1] if t["strand"][j] == "-" else s for s, j in zip(segs, sel)], axis=0))
    motifs = hits.prepare(cwms)
    return sim, model, contrib, motifs


@pytest.fixture(scope="module")
def planted():
    sim, model, contrib, motifs = _planted_hits()
    h = hits.fit_batch(sim.x, contrib, motifs, hits.contribution_scale([contrib]))
    return sim, model, contrib, motifs, h


def test_planted_instances_are_recovered_position_by_position_at_both_ends_too(planted):
    sim, model, contrib, motifs, h = planted
    t, ids = sim.instances, simulate.INSTANCE_MOTIFS
    seen = simulate.pwm_fires(model, sim, ids)
    by_seq: dict = {}
    for j, i in enumerate(t["seq_index"]):
        by_seq.setdefault(int(i), []).append(j)
    true_hit = np.zeros(len(h["start"]), bool)
    found, strand_ok = np.zeros(len(t["start"]), bool), []
    for n, (i, m, a, b, st) in enumerate(zip(h["row"], h["motif"], h["start"], h["end"], h["strand"])):
        for j in by_seq.get(int(i), []):
            a_j, b_j = t["start"][j], t["end"][j]
            if t["motif"][j] == ids[m] and min(b, b_j) - max(a, a_j) >= 0.5 * (b_j - a_j):
                true_hit[n] = found[j] = True
                if ids[m] == "MA0139.2":   # CTCF; TP53 and MAFK's core (TGACTCA) are palindromes
                    strand_ok.append((st > 0) == (t["strand"][j] == "+"))
    full = t["kind"] == "full"
    ends = full & ((t["start"] <= 3) | (t["end"] >= 197))
    assert ends.sum() > 60 and (ends & (t["start"] <= 3)).any() and (ends & (t["end"] >= 197)).any()
    # precision against the planted instances alone (chance sites the model responds to count as false)
    assert true_hit.mean() >= 0.9, true_hit.mean()
    # recall of the full instances the model responds to, and of those within 3 bp of an end
    assert found[full & seen].mean() >= 0.9, found[full & seen].mean()
    assert found[ends & seen].mean() >= 0.9, found[ends & seen].mean()
    assert np.mean(strand_ok) >= 0.98
    # what the model ignores (weak, half and cut instances below its threshold) carries no
    # attribution, and is not called: the hits follow the model, not the sequence
    assert found[~seen].mean() <= 0.1


def test_sharded_fit_resumes_from_saved_shards_with_the_same_hits(planted, tmp_path):
    sim, _, contrib, motifs, h = planted
    scale = hits.contribution_scale([contrib])
    bounds = [(a, min(a + 128, len(sim.x))) for a in range(0, len(sim.x), 128)]
    rows = np.arange(len(sim.x)) + 1000       # the user's rows need not be 0..n-1
    read_calls = []

    def read(k):
        read_calls.append(k)
        a, b = bounds[k]
        return rows[a:b], sim.x[a:b], contrib[a:b]

    store = io.ShardFiles(tmp_path / "shards", {"run": 1})
    first = hits.call_sharded(2, read, motifs, scale, store, batch=50)       # interrupted after two shards
    again = hits.call_sharded(len(bounds), read, motifs, scale, io.ShardFiles(tmp_path / "shards", {"run": 1}),
                              batch=50)
    assert read_calls == [0, 1] + list(range(2, len(bounds)))                # saved shards are not refitted
    np.testing.assert_array_equal(again["seq_index"], rows[h["row"]])
    for key in ("start", "end", "strand", "motif"):
        np.testing.assert_array_equal(again[key], h[key])
    np.testing.assert_allclose(again["coefficient"], h["coefficient"], rtol=1e-6)
    assert len(first["start"]) < len(again["start"])
    # other parameters: the saved shards are dropped
    io.ShardFiles(tmp_path / "shards", {"run": 2})
    assert not (tmp_path / "shards" / "0.npz").exists()


def test_family_stats_count_recall_and_enrichment():
    res = hits.HitResult(
        seq_index=np.array([0, 0, 1, 2, 5]), start=np.array([10, 40, 5, 7, 0]), end=np.array([20, 50, 15, 17, 9]),
        strand=np.array([1, -1, 1, 1, 1], np.int8), motif=np.array([0, 1, 0, 0, 1]),
        coefficient=np.ones(5), similarity=np.ones(5), contribution=np.ones(5), families=("a", "b"),
        names=("A", "B"), widths=(10, 10), parts=(((0, 10, "A"),), ((0, 10, "B"),)), methods=("m", "m"),
        scanned=np.arange(8), hits_on="all", scale={"m": 1.0})
    seqlets = [(0, 0, 12, 22), (0, 0, 30, 40), (0, 1, 14, 24), (1, 5, 0, 10)]   # covered: 0.8, 0, 0.1, 0.9
    positive = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    stats = hits.family_stats(res, seqlets, positive)
    assert [s["n_hits"] for s in stats] == [3, 2] and stats[0]["hits_per_seq"] == 3 / 8
    assert stats[0]["seqlet_recall"] == pytest.approx(1 / 3) and stats[1]["seqlet_recall"] == 1.0
    assert (stats[0]["hit_seqs_pos"], stats[0]["hit_seqs_neg"]) == (3, 0)
    assert (stats[1]["hit_seqs_pos"], stats[1]["hit_seqs_neg"]) == (1, 1)
    assert stats[0]["hit_enrichment"] == pytest.approx((3.5 / 5) / (0.5 / 5))
    assert stats[0]["hit_p"] == pytest.approx(0.142857, rel=1e-4)     # Fisher exact, [[3, 1], [0, 4]]
    assert stats[0]["hit_q"] == pytest.approx(0.285714, rel=1e-4)     # BH over the two families
    assert "hit_q" not in hits.family_stats(res, seqlets)[0]            # no labels, no enrichment


# ------------------------------------------------------------------------------------------
# A whole run: a composite that counts only as a pair, a p53 dimer, CTCF, hits on every sequence
# ------------------------------------------------------------------------------------------
def grammar_model():
    """Three hand-set filters (sum pooled, firing above 0.6 of the best score): the GATA1–TAL1::TCF3
    pair at ``simulate.COMPOSITE_SPACING`` (uniform columns between weigh nothing, and neither half
    alone reaches 0.6), the TP53 dimer read mostly at its two CATG cores (the six columns between
    the half-sites flattened towards uniform, as a model trained on real p53 peaks weighs them),
    CTCF, which counts alone, and a weak preference that fires everywhere (a near-uniform random
    matrix), so that every base carries some attribution, as in a trained model."""
    gata, tal = simulate.COMPOSITE_PARTS
    pp = simulate.jaspar_ppms([gata, tal, simulate.DIMER, simulate.COMPOSITE_ALONE])
    gap = np.full((simulate.COMPOSITE_SPACING - len(pp[gata]), 4), 0.25)
    p53 = pp[simulate.DIMER].copy()
    p53[6:12] = 0.2 * p53[6:12] + 0.2
    dense = np.random.default_rng(0).dirichlet(np.full(4, 2000.0), size=24)
    return simulate.pwm_model({"pair": np.concatenate([pp[gata], gap, pp[tal]]), "p53": p53,
                               "CTCF": pp[simulate.COMPOSITE_ALONE], "dense": dense}, length=200, width=32,
                              pool="sum", threshold={"pair": 0.6, "p53": 0.6, "CTCF": 0.6, "dense": -1.0})


@pytest.fixture(scope="module")
def grammar_run(tmp_path_factory):
    from interpret import pipeline

    comp, dimer = simulate.composite_like(n=300, seed=0), simulate.dimer_like(n=300, seed=1)
    seqs = io.Sequences(x=np.concatenate([comp.x, dimer.x]), y=np.concatenate([comp.y, dimer.y]))
    out = tmp_path_factory.mktemp("grammar") / "out"
    res = pipeline.run(grammar_model(), seqs, out, methods=("deepshap",), screen=False,
                       screen_backgrounds=20, hits_on="all", chunk_size=128)
    return out, res.summary, comp, dimer


def _composite(rows):
    return [r for r in rows if len(r["parts"].split(";")) == 2 and set(r["part_names"].split(";")) ==
            {"GATA1", "TAL1::TCF3"}]


def test_the_composite_is_kept_whole_and_named_part_by_part(grammar_run):
    out = grammar_run[0]
    motifs, families = io.read_tsv(out / "motifs.tsv"), io.read_tsv(out / "families.tsv")
    pattern, family = _composite(motifs), _composite(families)
    assert len(pattern) == 1 and len(family) == 1
    (a0, b0), (a1, b1) = (map(int, p.split("-")) for p in pattern[0]["parts"].split(";"))
    # both parts kept with the spacer between: GATA1 then TAL1::TCF3 starting 20 bp later, or on the
    # other strand TAL1::TCF3 then GATA1 ending 20 bp later (cores gain a base or two at soft edges)
    assert abs(a1 - a0 - simulate.COMPOSITE_SPACING) <= 2 or abs(b1 - b0 - simulate.COMPOSITE_SPACING) <= 2
    assert int(pattern[0]["width"]) >= 27
    # TOMTOM's best match covers the E-box half only: the whole is named by its parts, not TAL1::TCF3
    assert pattern[0]["jaspar_name"] == "" and family[0]["name"] in ("GATA1 + TAL1::TCF3", "TAL1::TCF3 + GATA1")
    # each part alone does nothing to the model; the pair does
    parts = [r for r in io.read_tsv(out / "parts.tsv") if r["motif"] == pattern[0]["motif"]]
    assert len(parts) == 2 and all(r["effect_significant"] == "False" for r in parts)
    assert max(abs(float(r["insertion_effect"])) for r in parts) < 0.2
    assert pattern[0]["effect_significant"] == "True" and float(pattern[0]["insertion_effect"]) > 1.0


def test_the_p53_dimer_keeps_both_half_sites_and_is_named_in_the_p53_family(grammar_run):
    out = grammar_run[0]
    dimers = [r for r in io.read_tsv(out / "motifs.tsv") if r["jaspar_name"] in P53_FAMILY]
    assert len(dimers) == 1 and len(dimers[0]["parts"].split(";")) == 2
    # the two CATG cores, 10 bp apart in MA0106.3, are both in the exported motif
    assert int(dimers[0]["width"]) >= 16
    assert all(n in P53_FAMILY for n in dimers[0]["part_names"].split(";"))


def test_hits_on_every_sequence_find_the_pairs_and_only_in_positives(grammar_run):
    out, summary, comp, dimer = grammar_run
    rows = io.read_tsv(out / "hits.tsv")
    assert list(rows[0]) == hits.COLUMNS
    s = summary["instances"]
    assert s["hits_on"] == "all" and s["n_scanned"] == 600 and s["n_hits"] == len(rows)
    rest = io.read_attributions(out / "attributions_rest.h5", "deepshap", names=("contrib",))
    y = np.concatenate([comp.y, dimer.y])
    np.testing.assert_array_equal(rest["index"], np.flatnonzero(y == 0))   # the negatives, explained now
    fam = _composite(io.read_tsv(out / "families.tsv"))[0]
    pair_hits = {int(r["seq_index"]): (int(r["start"]), int(r["end"])) for r in rows if r["motif"] == fam["family"]}
    t = comp.instances
    gata = (t["motif"] == simulate.COMPOSITE_PARTS[0])
    found = [i in pair_hits and pair_hits[i][0] <= a and b <= pair_hits[i][1]
             for i, a, b in zip(t["seq_index"][gata & (t["kind"] == "pair")], t["start"][gata & (t["kind"] == "pair")],
                                t["end"][gata & (t["kind"] == "pair")])]
    assert np.mean(found) >= 0.9
    # lone halves and other spacings carry no attribution: (almost) no composite hit in those sequences
    decoys = np.unique(t["seq_index"][np.isin(t["kind"], ["lone", "spaced"])])
    assert np.mean([i in pair_hits for i in decoys]) <= 0.05
    assert int(fam["hit_seqs_pos"]) > 10 * int(fam["hit_seqs_neg"]) and float(fam["hit_q"]) < 1e-10
    assert float(fam["seqlet_recall"]) >= 0.85
    html = (out / "report.html").read_text()
    assert 'id="instances"' in html and html.count('class="instance-row"') == len(io.read_tsv(out / "families.tsv"))
    assert html.count('data-kind="hits"') >= 3 and html.count('data-kind="hit-positions"') >= 3
