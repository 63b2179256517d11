"""Names a reader can trust: the bundled motif groups, resemblance, the screen by group, the screen's
check of a name, and a response that no pattern carries (``interpret.evidence.names``)."""

import numpy as np
import pytest

from interpret import io, simulate
from interpret.evidence import names
from interpret.motifs import compare

CTCF, REST = "MA0139.2", "MA0138.3"


@pytest.fixture(scope="module")
def db():
    return io.load_motif_db()


@pytest.fixture(scope="module")
def groups():
    return io.load_motif_groups()


def _group(groups, db, name):
    return groups[next(m.id for m in db if m.name == name)]["motif_group"]


def test_every_bundled_matrix_has_a_group_and_a_family_unless_jaspar_has_none(db, groups):
    assert [m.id for m in db] == list(groups) and len(groups) == 1019
    assert all(g["motif_group"] for g in groups.values())
    # JASPAR 2026 records no family for three matrices and no class for two
    assert sorted(g["name"] for g in groups.values() if not g["tf_family"]) == ["CGGBP1", "TIGD3", "ZNF367"]
    assert sorted(g["name"] for g in groups.values() if not g["tf_class"]) == ["FLYWCH1", "TIGD3"]
    summary = names.group_summary(groups)
    assert len(summary) == 190 and sum(g["n_members"] for g in summary.values()) == 1019
    for g in groups.values():                                   # one family and class per group
        assert (summary[g["motif_group"]]["tf_family"], summary[g["motif_group"]]["tf_class"]) == \
            (g["group_family"], g["group_class"])
    assert io.load_motif_groups("my_motifs.meme") == {}          # a user's database has no groups
    assert io.load_motif_groups(io.jaspar_path()) == groups


def test_groups_join_paralogues_and_keep_other_families_apart(db, groups):
    def same(a, b):
        return _group(groups, db, a) == _group(groups, db, b)

    for a, b in (("Yy1", "ZFP42"), ("MAX", "Mlxip"), ("MAX", "MLX"), ("TP53", "TP63"), ("TP53", "TP73"),
                 ("SOX2", "SOX13"), ("CEBPB", "CEBPA"), ("CREB1", "Atf1"), ("MAFK", "Mafg"), ("FOXA2", "FOXA1")):
        assert same(a, b), (a, b)
    for a, b in (("TP53", "IRX1"), ("MAFK", "JUNB"), ("CREB1", "CEBPB"), ("CREB1", "CTCF"), ("SOX2", "FOXA2")):
        assert not same(a, b), (a, b)
    assert _group(groups, db, "TP53") == "TP53/TP63/TP73" and names.group_summary(groups)["TP53/TP63/TP73"]["n_members"] == 3
    assert (_group(groups, db, "Yy1"), _group(groups, db, "SOX2"), _group(groups, db, "CEBPB")) == ("YY1/ZFP42", "SOX", "C/EBP")


def test_resemblance_finds_planted_relatives_and_rarely_shuffled_copies(db, groups):
    """Seqlet-like copies of 30 JASPAR PPMs (diluted with a uniform third, 3 bp of flank) resemble
    a member of their own group; column-shuffled copies resemble any of 300 candidates rarely."""
    rng = np.random.default_rng(0)
    picked = rng.choice(len(db), 30, replace=False)
    flank = np.full((3, 4), 0.25)
    planted = [np.vstack([flank, 2 / 3 * db[j].ppm + 1 / 9, flank]) for j in picked]
    candidates = sorted(set(rng.choice(len(db), 300, replace=False)) | set(picked))
    found = compare.resemblance(planted, db, candidates)
    own = [any(groups[db[r.target].id]["motif_group"] == groups[db[j].id]["motif_group"] for r in f)
           for j, f in zip(picked, found)]
    assert np.mean(own) >= 0.8, np.mean(own)
    assert all(r.q < compare.RESEMBLANCE_Q and r.r >= compare.RESEMBLANCE_R and r.target in candidates
               for f in found for r in f)
    shuffled = [p[rng.permutation(len(p))] for p in planted for _ in range(3)]
    null = np.mean([bool(f) for f in compare.resemblance(shuffled, db, candidates)])
    assert null <= 0.15, null


def _row(i, name, mean, sig):
    return {"id": i, "name": name, "mean_delta": mean, "se": 0.1, "q": 1e-4 if sig else 0.5, "effect_significant": sig}


def test_screen_groups_and_name_checks_on_hand_made_screens(groups):
    tp53, tp63, tp73, ctcf, irx1 = "MA0106.3", "MA0525.2", "MA0861.2", CTCF, "MA2678.1"
    assert [groups[i]["name"] for i in (tp53, tp63, tp73, irx1)] == ["TP53", "TP63", "TP73", "IRX1"]
    rows = [_row(tp53, "TP53", 2.0, True), _row(tp63, "TP63", 2.5, True), _row(tp73, "TP73", 0.1, False),
            _row(ctcf, "CTCF", -0.8, True), _row(irx1, "IRX1", 0.05, False)]
    sg = names.screen_groups(rows, groups)
    assert [(g.group, g.sign, g.best["id"], g.members, g.n_members) for g in sg] == [
        ("TP53/TP63/TP73", 1, tp63, [tp63, tp53], 3), ("CTCF", -1, ctcf, [ctcf], 1)]   # of the motifs screened
    screen = {r["id"]: r for r in rows}
    assert names.check_name(tp53, +1, screen, groups) == names.SUPPORTED
    assert names.check_name(tp73, +1, screen, groups) == names.GROUP_SUPPORTS     # TP73 itself: no response
    assert names.check_name(tp73, -1, screen, groups) == names.OPPOSITE           # a negative pattern named TP73
    assert names.check_name(ctcf, +1, screen, groups) == names.OPPOSITE
    assert names.check_name(ctcf, 0, screen, groups) == names.SUPPORTED            # a filter without an effect
    assert names.check_name(irx1, +1, screen, groups) == names.NO_RESPONSE
    assert names.check_name("", +1, screen, groups) == "" and names.check_name(tp53, +1, {}, groups) == ""
    # a database without groups: each motif is its own group, named by its name (one name, one group)
    assert [(g.group, g.n_members) for g in names.screen_groups(rows, {})] == [("TP63", 1), ("TP53", 1), ("CTCF", 1)]
    twice = rows + [_row("MA1930.2", "CTCF", -0.5, True)]
    assert [(g.group, g.members, g.n_members) for g in names.screen_groups(twice, {})][-1] == \
        ("CTCF", [ctcf, "MA1930.2"], 2)
    assert names.check_name(tp73, +1, screen, {}) == names.NO_RESPONSE


def test_filter_groups_are_named_after_the_motif_group_of_most_named_members(groups):
    rows = [{"group": "0", "jaspar_id": "MA0106.3"}, {"group": "0", "jaspar_id": "MA0861.2"},   # TP53, TP73
            {"group": "0", "jaspar_id": ""}, {"group": "1", "jaspar_id": "MA0106.3"},
            {"group": "1", "jaspar_id": CTCF}, {"group": "2", "jaspar_id": ""}]
    assert names.filter_group_names(rows, groups) == {"0": "TP53/TP63/TP73-like"}   # 1: a tie; 2: unnamed
    assert names.filter_group_names(rows, {}) == {}


@pytest.fixture(scope="module")
def pwm_run(tmp_path_factory):
    """A hand-set model that scans for CTCF and REST (``simulate.pwm_model``), explained on
    sequences with CTCF planted and no REST: the screen finds both, TF-MoDISco only CTCF."""
    from interpret import run

    model = simulate.pwm_model([CTCF, REST])
    sim = simulate.planted(simulate.jaspar_ppms([CTCF]), n=300, frac_positive=0.8, seed=0)
    out = tmp_path_factory.mktemp("pwm") / "out"
    run(model, io.Sequences(x=sim.x, y=sim.y), out, methods=("gradxinput",), screen_backgrounds=24)
    return out


def test_a_response_no_pattern_resembles_is_carried_by_no_pattern(pwm_run, groups):
    rows = {r["motif_group"]: r for r in io.read_tsv(pwm_run / "screen_groups.tsv")}
    rest = groups[REST]["motif_group"]
    assert rows[rest]["sign"] == "+" and float(rows[rest]["mean_delta"]) > 1
    # no pattern resembles REST, and its filters, which never met a REST site in these sequences,
    # have activation logos that do not either
    assert (rows[rest]["carried"], rows[rest]["families"], rows[rest]["patterns"], rows[rest]["filters"]) == \
        ("none", "", "", "")
    assert rows["CTCF"]["carried"] == "pattern" and rows["CTCF"]["families"]
    motifs = io.read_tsv(pwm_run / "motifs.tsv")
    ctcf = [m for m in motifs if m["motif_group"] == "CTCF"]
    assert ctcf and all(m["screen_check"] == names.SUPPORTED for m in ctcf)
    assert not any(rest in m["resembles_groups"].split(";") for m in motifs)
    html = (pwm_run / "report.html").read_text()
    row = html[html.index(f'data-group="{rest}"'):]
    row = row[:row.index("</tr>")]
    assert 'data-carried="none"' in row and "carried by no pattern" in row
