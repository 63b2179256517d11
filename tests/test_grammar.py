"""Motif grammar: spacing enrichment among hits, and the in-silico interaction of two motifs.

The interaction is checked on hand-set models whose f(AB), f(A), f(B) and f(background) follow
from their weights: exact-match filters for two consensus motifs (a ReLU that fires 1 on a full
match and 0 otherwise), a second convolution that fires only when both sit at one offset, a
global max pool and a dense layer. In backgrounds of A and T only, neither consensus can occur by
chance, so every background gives the same four numbers.
"""

import numpy as np
import pytest

from interpret.evidence import edits, grammar

L = 80
GATA1 = "CTAATCT"          # MA0035.5's consensus (7 bp)
EBOX = "ACCATCTGTT"         # MA0091.2 TAL1::TCF3's consensus (10 bp); reverse complement AACAGATGGT
B0, U_A, U_B = -1.0, 2.0, 1.5  # dense bias, and the weights of A alone and B alone


def onehot(seq: str) -> np.ndarray:
    return np.eye(4, dtype=np.float32)[["ACGT".index(c) for c in seq]]


def and_model(a: str, b: str, offset: int, w_and: float, length: int = L):
    """``f = B0 + U_A [A] + U_B [B] + w_and [A and B, B starting offset bp after A on A's strand]``,
    the bracket 1 when the motif (either strand) or the arrangement (either strand) is present.

    Conv1D(4, width, same): exact-match filters for A, rc(A), B, rc(B), left-aligned, bias
    -(w - 1), ReLU (1 on a full match). Conv1D(4, K, same) on them: the arrangement on the forward
    strand (A at tap 0, B at tap offset), on the reverse (rc(B) at 0, rc(A) at offset + wB - wA),
    each with bias -1 and a ReLU (1 only with both), and A, B alone (either strand, at the centre
    tap). Global max pool, then Dense(1, sigmoid) with weights (w_and, w_and, U_A, U_B) and bias
    B0; the explained logit is its pre-activation.
    """
    import keras

    from interpret.model import Model

    wa, wb = len(a), len(b)
    width = max(wa, wb)
    k1 = np.zeros((width, 4, 4), np.float32)
    for j, s in enumerate((a, edits_rc(a), b, edits_rc(b))):
        k1[:len(s), :, j] = onehot(s)
    b1 = -np.array([wa - 1, wa - 1, wb - 1, wb - 1], np.float32)
    rev = offset + wb - wa
    assert offset >= 0 and rev >= 0
    taps = max(offset, rev) + 1
    k2 = np.zeros((taps, 4, 4), np.float32)
    k2[0, 0, 0] = k2[offset, 2, 0] = 1.0            # forward: A, then B offset bp later
    k2[0, 3, 1] = k2[rev, 1, 1] = 1.0               # reverse complement: rc(B), then rc(A)
    mid = (taps - 1) // 2
    k2[mid, 0, 2] = k2[mid, 1, 2] = 1.0             # A on either strand
    k2[mid, 2, 3] = k2[mid, 3, 3] = 1.0             # B on either strand
    b2 = np.array([-1, -1, 0, 0], np.float32)
    inp = keras.Input((length, 4))
    h = keras.layers.Conv1D(4, width, padding="same", activation="relu")(inp)
    h = keras.layers.Conv1D(4, taps, padding="same", activation="relu")(h)
    h = keras.layers.GlobalMaxPooling1D()(h)
    out = keras.layers.Dense(1, activation="sigmoid")(h)
    km = keras.Model(inp, out)
    km.layers[1].set_weights([k1, b1])
    km.layers[2].set_weights([k2, b2])
    km.layers[4].set_weights([np.array([[w_and], [w_and], [U_A], [U_B]], np.float32), np.array([B0], np.float32)])
    return Model.from_keras(km)


def edits_rc(s: str) -> str:
    return s[::-1].translate(str.maketrans("ACGT", "TGCA"))


def at_backgrounds(n: int = 24, seed: int = 0) -> np.ndarray:
    """Dinucleotide shuffles of A/T-only sequences: no C or G, so no chance match of either consensus."""
    rng = np.random.default_rng(seed)
    x = np.eye(4, dtype=np.float32)[rng.choice([0, 3], size=(8, L))]
    return edits.backgrounds(x, n, seed=seed)


def arrangement(offset: int, orientation: int = 1, kind: str = "enriched") -> grammar.Arrangement:
    """GATA1 then the E-box ``offset`` bp later (start to start); consensus PPMs, so every instance is exact."""
    wa, wb = len(GATA1), len(EBOX)
    return grammar.Arrangement("fam_a", "fam_b", "GATA1", "TAL1::TCF3", onehot(GATA1), onehot(EBOX), orientation,
                               2 * offset + wb - wa, kind)


def test_insert_pair_writes_the_arrangement_on_either_strand():
    rng = np.random.default_rng(1)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (4, 50))]
    a = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (4, 6))]
    b = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (4, 9))]
    rev = np.array([False, True, False, True])
    only_a, only_b, both = edits.insert_pair(x, a, b, -13, rev)
    sa, sb = edits.pair_starts(50, 6, 9, -13)
    assert (sa, sb) == (28, 15)                     # the 19-bp pair 15..34, centred in 50 bp
    for i in range(4):
        fwd = edits.reverse_complement(both[i]) if rev[i] else both[i]
        assert np.array_equal(fwd[sa:sa + 6], a[i]) and np.array_equal(fwd[sb:sb + 9], b[i])
        alone = edits.reverse_complement(only_a[i]) if rev[i] else only_a[i]
        assert np.array_equal(alone[sa:sa + 6], a[i])
        # each copy differs from the background only where its own instance goes
        for copy, s, w in ((only_a[i], sa, 6), (only_b[i], sb, 9)):
            lo = 50 - s - w if rev[i] else s
            changed = np.flatnonzero((copy != x[i]).any(axis=1))
            assert changed.min() >= lo and changed.max() < lo + w
    assert np.array_equal(x, np.eye(4, dtype=np.float32)[np.random.default_rng(1).integers(0, 4, (4, 50))])


def test_and_model_interaction_is_its_weight():
    """f(AB) - f(A) - f(B) + f(0) = w_and at the model's offset, in every background and on both
    strands; 0 at another offset (and at the far control)."""
    model = and_model(GATA1, EBOX, 20, 3.0)
    bg = at_backgrounds()
    res = grammar.interactions(model, bg, [arrangement(20), arrangement(26), arrangement(20, -1)], seed=0)
    assert np.array_equal(res.base, np.full(len(bg), B0))
    assert np.allclose(res.alone_a, B0 + U_A) and np.allclose(res.alone_b, B0 + U_B)
    assert np.allclose(res.both[0], B0 + U_A + U_B + 3.0)
    assert res.reverse.sum() == len(bg) // 2        # half the backgrounds hold the pair's reverse complement
    assert np.allclose(res.deltas[0], 3.0, atol=1e-6) and res.effects.mean[0] == pytest.approx(3.0, abs=1e-6)
    assert np.allclose(res.deltas[1:], 0.0, atol=1e-6)   # another spacing; the E-box on the other strand
    assert res.significant.tolist() == [True, False, False]
    assert res.q[0] < 0.05


def test_additive_model_interaction_is_zero():
    model = and_model(GATA1, EBOX, 20, 0.0)
    res = grammar.interactions(model, at_backgrounds(), [arrangement(20)], seed=0)
    assert np.allclose(res.both, B0 + U_A + U_B)
    assert abs(res.effects.mean[0]) < 1e-6 and res.q[0] >= 0.05 and not res.significant[0]


def planted_hits(n_seq: int = 600, seed: int = 0):
    """Hits in 200-bp sequences. Families 0 (7 bp) and 1 (10 bp): in 60% of sequences 1 starts 20
    bp after 0 on its strand (centres 21.5 bp apart), the pair on either strand; else both at random.
    Families 2 and 3: independent, both near the centre (as peaks' motifs are). Family 4 (8 bp) with
    itself: an inverted repeat, 15 bp centre to centre, in half the sequences."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_seq):
        s = int(rng.integers(0, 160))
        if rng.random() < 0.6:
            rows += ([(i, s, s + 7, 1, 0), (i, s + 20, s + 30, 1, 1)] if rng.random() < 0.5
                     else [(i, s + 23, s + 30, -1, 0), (i, s, s + 10, -1, 1)])
        else:
            a, b = int(rng.integers(0, 193)), int(rng.integers(0, 190))
            rows += [(i, a, a + 7, int(rng.choice([-1, 1])), 0), (i, b, b + 10, int(rng.choice([-1, 1])), 1)]
        for f, w in ((2, 8), (3, 12)):
            c = int(np.clip(rng.normal(100, 12), 0, 200 - w))
            rows.append((i, c, c + w, int(rng.choice([-1, 1])), f))
        if rng.random() < 0.5:
            t = int(rng.integers(0, 170))
            rows += [(i, t, t + 8, 1, 4), (i, t + 15, t + 23, -1, 4)]
        else:
            u = int(rng.integers(0, 192))
            rows.append((i, u, u + 8, int(rng.choice([-1, 1])), 4))
    return np.array(rows).T


def test_spacing_enrichment_finds_the_planted_spacing_and_no_other():
    seq, start, end, strand, motif = planted_hits()
    sp = grammar.spacing_enrichment(seq, start, end, strand, motif, 5, 200)
    sig = np.flatnonzero(sp.q < 0.05)
    found = {(int(sp.a[k]), int(sp.b[k]), int(sp.orientation[k]), float(sp.spacing[k])) for k in sig}
    assert found == {(0, 1, 1, 21.5), (4, 4, -1, 15.0)}
    k = sp.lookup(0, 1, 1, 43)
    assert sp.n_observed[k] >= 0.6 * 600 * 0.9 and sp.enrichment[k] > 20
    # the null keeps each family's positions: two families near the centre are no pair
    both_central = (sp.a == 2) & (sp.b == 3)
    assert both_central.any() and sp.q[both_central].min() > 0.5
    # every pair of families had as many expected pairs as observed (the null is conditional on N)
    for pr in sp.pairs:
        m = (sp.a == pr["a"]) & (sp.b == pr["b"])
        assert sp.n_observed[m].sum() == pr["n_pairs"] and sp.n_expected[m].sum() == pytest.approx(pr["n_pairs"])


def test_grammar_tests_the_enriched_spacing_against_its_control():
    """From hits to grammar.tsv rows: the enriched arrangement is inserted at the spacing the hits
    show (the AND model's), with its far control."""
    seq, start, end, strand, motif = planted_hits(300)
    keep = motif < 2
    hits = [v[keep] for v in (seq, start, end, strand, motif)]
    # the model reads 200-bp sequences; its AND offset is the planted one (20 bp start to start)
    model = and_model(GATA1, EBOX, 20, 3.0, length=200)
    rng = np.random.default_rng(0)
    bg = edits.backgrounds(np.eye(4, dtype=np.float32)[rng.choice([0, 3], size=(8, 200))], 16, seed=0)
    res = grammar.grammar(model, bg, *hits, ["fam_a", "fam_b"], ["GATA1", "TAL1::TCF3"],
                          [onehot(GATA1), onehot(EBOX)])
    rows = res.rows()
    assert [(r["kind"], r["orientation"], r["spacing"]) for r in rows] == [
        ("enriched", "same", 21.5), ("control", "same", grammar.far_spacing(200, 7, 10) / 2)]
    assert rows[0]["interaction"] == pytest.approx(3.0, abs=1e-6) and rows[0]["interaction_significant"]
    assert rows[1]["interaction"] == pytest.approx(0.0, abs=1e-6) and not rows[1]["interaction_significant"]
    assert rows[0]["enrichment_q"] < 1e-10 and list(rows[0]) == grammar.COLUMNS


def test_composite_is_reported_as_a_pair_not_as_ignored(tmp_path):
    """The issue's case: TF-MoDISco's composite (GATA1 ... TAL1::TCF3) trimmed to its E-box reads
    "TAL1::TCF3: insertion -0.5, ignored" and the screen puts GATA1 among the motifs that lower the
    score. With the composite's parts tested as a pair (the grammar stage on a family with two
    named parts, and a model that needs both at 20 bp), the findings name the pair and its
    interaction, and neither part as ignored."""
    import re
    from types import SimpleNamespace

    from interpret import io, stats
    from interpret.evidence import effects, screen
    from interpret.pipeline import RunOptions, _grammar_stage
    from interpret.report.render import render_report

    fid, pid = "deepshap_pos_family_0", "deepshap_pos_0"
    ppm = np.full((30, 4), 0.25)
    ppm[:7], ppm[20:] = onehot(GATA1), onehot(EBOX)
    family = SimpleNamespace(id=fid, ppm=ppm)
    io.write_tsv(tmp_path / "families.tsv", [{"family": fid, "method": "deepshap", "sign": "+", "n_patterns": 1,
                                              "members": pid, "n_seqlets": 527, "width": 10, "jaspar_id": "MA0091.2",
                                              "jaspar_name": "TAL1::TCF3", "jaspar_q": 1e-4, "minor": ""}],
                 ["family", "method", "sign", "n_patterns", "members", "n_seqlets", "width", "jaspar_id",
                  "jaspar_name", "jaspar_q", "minor"])
    io.write_tsv(tmp_path / "motifs.tsv", [{"motif": pid, "method": "deepshap", "sign": "+", "n_seqlets": 527,
                                            "width": 10, "jaspar_id": "MA0091.2", "jaspar_name": "TAL1::TCF3",
                                            "jaspar_q": 1e-4, "family": fid, "insertion_effect": -0.5,
                                            "insertion_se": 0.1, "insertion_q": 0.3, "ablation_effect": 0.1,
                                            "ablation_se": 0.1, "ablation_q": 0.4, "effect_significant": False}],
                 ["motif", "method", "sign", "n_seqlets", "width", "jaspar_id", "jaspar_name", "jaspar_q", "family"]
                 + effects.MOTIF_COLUMNS)
    srows = [{"id": i, "name": n, "width": w, "mean_delta": m, "se": 0.05, "z": m / 0.05, "p": p, "q": p,
              "effect_significant": p < 0.05, "delta_forward": m, "delta_reverse": m, "consensus_delta": m,
              "raw_delta": m} for i, n, w, m, p in (("MA0139.2", "CTCF", 15, 2.1, 1e-9),
                                                    ("MA0091.2", "TAL1::TCF3", 10, -0.05, 0.4),
                                                    ("MA0035.5", "GATA1", 7, -0.4, 1e-6))]
    io.write_tsv(tmp_path / "screen.tsv", srows, screen.COLUMNS)
    # the instances stage's HitResult: its hits, its families' names and parts
    hits = SimpleNamespace(seq_index=np.arange(40), start=np.full(40, 20), end=np.full(40, 50),
                           strand=np.ones(40, int), motif=np.zeros(40, int), families=(fid,),
                           names=("GATA1 + TAL1::TCF3",), parts=(((0, 7, "GATA1"), (20, 30, "TAL1::TCF3")),))
    x = at_backgrounds(40, seed=2)
    model = and_model(GATA1, EBOX, 20, 3.0)
    summary = {"explained": "logit (pre-sigmoid) of output 0", "effects": {"min_effect": 0.2},
               "screen": {"backgrounds": 24, "positions": 1, "rule": stats.rule("logit")}}
    summary["grammar"] = _grammar_stage(model, x, np.arange(40), hits, [family], at_backgrounds(), tmp_path,
                                        RunOptions(screen_backgrounds=24))
    rows = io.read_tsv(tmp_path / "grammar.tsv")
    assert [(r["kind"], r["name_a"], r["name_b"], r["spacing"]) for r in rows] == [
        ("composite", "GATA1", "TAL1::TCF3", "21.5"), ("control", "GATA1", "TAL1::TCF3", "63.5")]
    assert float(rows[0]["interaction"]) == pytest.approx(3.0, abs=1e-5)
    assert rows[0]["interaction_significant"] == "True"
    assert abs(float(rows[1]["interaction"])) < 1e-5 and rows[1]["interaction_significant"] == "False"
    assert rows[0]["n_observed"] == "40" and summary["grammar"]["interacting"][0]["name_a"] == "GATA1"

    html = render_report(tmp_path, summary, figures=False).read_text().replace("<wbr>", "")

    def line(kind):
        m = re.search(rf'<li data-kind="finding-{kind}">(.*?)</li>', html, re.S)
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", m.group(1))) if m else None

    assert line("partners") == ("Work with a partner (how motifs combine): GATA1 raises the score with TAL1::TCF3 "
                                "21.5 bp downstream on the same strand: +3 beyond the two alone (63.5 bp apart: 0).")
    assert line("ignored") is None and line("expected") is None       # neither part is called ignored
    assert "GATA1 -0.40 ± 0.05 alone; with TAL1::TCF3: +3" in line("screen").replace("−", "-")
    section = html[html.index('<section id="grammar">'):html.index('<section id="screen"')]
    assert section.count('class="grammar-row"') == 1 and 'data-kind="composite"' in section



def test_spacing_counts_do_not_depend_on_how_many_pairs_are_counted_at_once(monkeypatch):
    hits = planted_hits(200, seed=3)
    whole = grammar.spacing_enrichment(*hits, 5, 200)
    monkeypatch.setattr(grammar, "_CHUNK_PAIRS", 7)
    parts = grammar.spacing_enrichment(*hits, 5, 200)
    for k in ("a", "b", "orientation", "spacing2", "n_observed", "n_expected", "p"):
        assert np.array_equal(getattr(whole, k), getattr(parts, k)), k
    assert len(whole.q) > 100 and whole.pairs == parts.pairs


def test_a_hit_callers_jitter_is_one_arrangement_not_three():
    """Hits shifted by a base in a third of the pairs spread the planted 21.5 bp over 20.5 and 22.5
    (all enriched); the in-silico test takes the 21.5 bp arrangement once."""
    seq, start, end, strand, motif = planted_hits(600)
    rng = np.random.default_rng(5)
    shift = np.where((motif == 1) & (rng.random(len(motif)) < 0.3), rng.choice([-1, 1], len(motif)), 0)
    shift[(start + shift < 0) | (end + shift > 200)] = 0
    sp = grammar.spacing_enrichment(seq, start + shift, end + shift, strand, motif, 5, 200)
    pair = (sp.a == 0) & (sp.b == 1) & (sp.q < 0.05) & (sp.orientation == 1)
    assert set(sp.spacing[pair]) >= {20.5, 21.5, 22.5}
    chosen = [k for k in grammar.favoured(sp, 200) if (sp.a[k], sp.b[k]) == (0, 1)]
    assert [sp.spacing[k] for k in chosen] == [21.5]
