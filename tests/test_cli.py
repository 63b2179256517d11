"""`interpret run` end to end, the output contract, and every bad input answered in one line."""

import re
import subprocess
import sys

import numpy as np
import pytest

from interpret import io, simulate, stats
from interpret.cli import main


@pytest.fixture(scope="session")
def saved_example(tmp_path_factory, example_model, example_sim):
    """The trained example model as .h5 and its data as uint8 (N, 1, L, 4) under X_test/Y_test keys,
    and planted.tsv: every planted instance (the decoy FOXA2 included), for --truth."""
    d = tmp_path_factory.mktemp("example")
    example_model.keras_model.save(d / "model.h5")
    np.savez_compressed(d / "data.npz", X_test=example_sim.x[:, None].astype(np.uint8),
                        Y_test=example_sim.y.astype(np.uint8))
    width = {k: len(v) for k, v in simulate.jaspar_ppms(simulate.EXAMPLE_MOTIFS + [simulate.EXAMPLE_DECOY]).items()}
    (d / "planted.tsv").write_text("seq_index\tstart\tend\tmotif\tstrand\n" + "".join(
        f"{i}\t{a}\t{a + width[m]}\t{m}\t{s}\n" for i, sites in enumerate(example_sim.sites) for m, a, s in sites))
    return d


@pytest.fixture(scope="session")
def full_run(saved_example):
    """One complete default run (gradient x input + DeepSHAP, TF-MoDISco on DeepSHAP), scored against
    the planted instances."""
    out = saved_example / "out"
    code = main(["run", str(saved_example / "model.h5"), str(saved_example / "data.npz"), "--out", str(out),
                 "--max-seqs", "1000", "--truth", str(saved_example / "planted.tsv"), "--quiet"])
    assert code == 0
    return out


def test_run_writes_every_output_of_the_contract(full_run):
    names = {p.name for p in full_run.iterdir()}
    assert {"report.html", "summary.json", "filters.meme", "filters.tsv", "filters.h5", "attributions.h5",
            "modisco.h5", "motifs.meme", "motifs.tsv", "motifs.h5", "families.tsv", "seqlets.tsv",
            "comparison.tsv", "screen.tsv", "hits.tsv", "parts.tsv", "grammar.tsv", "figures"} <= names
    assert "attributions_rest.h5" not in names          # --hits-on explained (the default)
    s = io.read_json(full_run / "summary.json")
    assert s["explained"] == "logit (pre-sigmoid) of output 0"
    assert s["model"]["layout"] == "1L4" and s["data"]["source_layout"] == "(N, 1, L, 4)"
    assert s["data"]["keys"] == {"x": "X_test", "y": "Y_test"}
    assert s["data"]["n_explained"] == 1000 and s["data"]["n_positive"] > 1800
    assert s["methods"] == ["gradxinput", "deepshap"]
    assert s["attribution"]["deepshap"]["max_abs_delta"] < 1e-3
    assert set(s["timings"]) >= {"filters", "attributions", "screen", "motifs", "compare", "effects", "instances",
                                 "grammar", "report"}
    assert s["grammar"]["backgrounds"] == 100 and s["grammar"]["hits"] > 0
    # every planted motif the model uses has instances, and its hits cover its seqlets
    fams = [f for f in io.read_tsv(full_run / "families.tsv") if f["jaspar_name"][:4] in ("CTCF", "CEBP", "CREB")]
    assert fams and all(float(f["seqlet_recall"]) >= 0.8 and int(f["n_hits"]) >= int(f["n_seqlets"]) for f in fams)
    assert s["instances"]["hits_on"] == "explained" and s["instances"]["n_scanned"] == 1000
    assert len(io.read_meme(full_run / "filters.meme")) == 32
    assert len(io.read_tsv(full_run / "filters.tsv")) == 32


def test_attributions_h5_holds_user_rows_and_logits(full_run, saved_example, example_model):
    a = io.read_attributions(full_run / "attributions.h5")
    data = np.load(saved_example / "data.npz")
    idx = a["index"]
    assert np.all(data["Y_test"][idx] == 1)
    np.testing.assert_array_equal(a["x"], data["X_test"][idx, 0])
    logits = example_model.predict(a["x"], 0)
    np.testing.assert_allclose(a["deepshap"]["score"], logits, rtol=1e-4, atol=1e-4)
    # DeepSHAP completeness on every explained sequence, as written to disk
    assert np.isfinite(a["deepshap"]["contrib"]).all() and np.isfinite(a["deepshap"]["delta"]).all()
    assert np.abs(a["deepshap"]["delta"]).max() < 1e-3


def test_demo_finds_a_planted_motif_in_jaspar(full_run):
    motifs = io.read_tsv(full_run / "motifs.tsv")
    hits = {m["jaspar_id"] for m in motifs if m["jaspar_q"] and float(m["jaspar_q"]) < 0.05}
    assert hits & set(simulate.EXAMPLE_MOTIFS)
    assert len(io.read_meme(full_run / "motifs.meme")) == len(motifs)


def test_tables_carry_group_names_and_composition_flags(full_run):
    filters, motifs = io.read_tsv(full_run / "filters.tsv"), io.read_tsv(full_run / "motifs.tsv")
    flags = {"GC-rich", "low complexity", "CpG"}
    for row in filters + motifs:
        assert 0 <= float(row["gc"]) <= 1 and 0 <= float(row["cpg"]) <= 1
        assert set(filter(None, row["composition"].split(","))) <= flags
    named = {r["group"]: r["group_name"] for r in filters if r["group_name"]}
    assert named and all(n.endswith("-like") for n in named.values())
    for r in filters:                                 # one name per group, whether or not a member is named alone
        assert r["group_name"] == named.get(r["group"], "")


def test_planted_motifs_carry_their_motif_groups_and_every_responding_group_its_carriers(full_run):
    """CREB1, CEBPB and CTCF, planted, are named by their motif group, with their JASPAR family and
    class, in motifs.tsv and families.tsv (whichever relative's matrix names them: CEBPG for the
    CEBPB pattern on this model); every significant screen hit is in a group of screen_groups.tsv,
    each said to be carried by a pattern, by filters only, or by nothing."""
    groups = io.load_motif_groups()
    expected = {"CREB/ATF/CREM": ("CREB", "bZIP"), "C/EBP": ("CEBP", "bZIP"), "CTCF": ("zinc fingers", "C2H2")}
    assert [groups[i]["motif_group"] for i in simulate.EXAMPLE_MOTIFS] == list(expected)
    for table in ("motifs.tsv", "families.tsv"):
        rows = [r for r in io.read_tsv(full_run / table) if r["jaspar_id"]]
        assert {r["motif_group"] for r in rows} == set(expected), table
        for r in rows:
            family, cls = expected[r["motif_group"]]
            assert family in r["tf_family"] and cls in r["tf_class"], r
            assert r["screen_check"] == "supported" and r["motif_group"] in r["resembles_groups"].split(";")
    screen = [r for r in io.read_tsv(full_run / "screen.tsv") if r["effect_significant"] == "True"]
    sg = io.read_tsv(full_run / "screen_groups.tsv")
    keys = {(r["motif_group"], "+" if float(r["mean_delta"]) > 0 else "-") for r in screen}
    assert {(g["motif_group"], g["sign"]) for g in sg} == keys and len(sg) == len(keys)
    assert sum(int(g["n_responding"]) for g in sg) == len(screen)
    assert all(g["carried"] in ("pattern", "filter", "none") for g in sg)
    assert all(bool(g["families"] or g["patterns"]) == (g["carried"] == "pattern") for g in sg)
    carried = {g["motif_group"]: g["carried"] for g in sg if g["sign"] == "+"}
    assert all(carried[g] == "pattern" for g in expected)
    html = (full_run / "report.html").read_text()
    assert html.count('class="screen-group"') == len(sg)
    assert "(1, 101, 4), Conv2D" in html


def test_run_writes_the_screen_and_the_effect_sizes_of_its_findings(full_run):
    from interpret.evidence import effects, names, screen

    rows = io.read_tsv(full_run / "screen.tsv")
    assert list(rows[0]) == screen.COLUMNS + names.GROUP_COLUMNS and len(rows) == len(io.load_motif_db())
    means = [float(r["mean_delta"]) for r in rows]
    assert means == sorted(means, reverse=True) and rows[0]["name"].startswith("CEBP")
    s = io.read_json(full_run / "summary.json")
    assert {"screen", "effects"} <= set(s["timings"]) and s["screen"]["backgrounds"] == 100
    # sequential by default: every motif's backgrounds between the first look and B, fewer passes in all
    n = [int(r["n_backgrounds"]) for r in rows]
    assert min(n) >= 10 and max(n) == 100 and min(n) < 100 and s["screen"]["sequential"]
    assert 0 < s["screen"]["forward_passes"] < s["screen"]["forward_passes_full"]
    assert s["screen"]["top_positive"][0]["id"] == rows[0]["id"]
    motifs = io.read_tsv(full_run / "motifs.tsv")
    assert set(effects.MOTIF_COLUMNS) <= set(motifs[0])
    # every positive motif named after a planted family is a response, in both experiments
    planted = [m for m in motifs if m["sign"] == "+" and m["jaspar_name"][:4] in ("CEBP", "CTCF", "CREB", "ATF1")]
    assert planted and all(m["effect_significant"] == "True" and float(m["ablation_effect"]) > 0.2
                           and float(m["insertion_effect"]) > 0.2 for m in planted)
    filters = io.read_tsv(full_run / "filters.tsv")
    assert set(effects.FILTER_COLUMNS) <= set(filters[0])
    assert filters[0]["effect_significant"] == "True"                  # the most influential filter
    html = (full_run / "report.html").read_text()
    assert "Known motifs this model responds to" in html and html.count('class="screen-group"') >= 10


def test_every_motif_has_one_family_and_the_report_one_row_per_main_family(full_run):
    import h5py

    motifs = io.read_tsv(full_run / "motifs.tsv")
    families = io.read_tsv(full_run / "families.tsv")
    members = {m: f["family"] for f in families for m in f["members"].split(",")}
    assert sorted(members) == sorted(m["motif"] for m in motifs)
    assert all(members[m["motif"]] == m["family"] for m in motifs)
    with h5py.File(full_run / "motifs.h5") as h5:
        for f in families:
            assert h5[f"families/{f['family']}/cwm"].shape == (int(f["width"]), 4)
            minor = int(f["n_seqlets"]) < 20
            assert ("fewer than 20 seqlets" in f["minor"]) == minor
    s = io.read_json(full_run / "summary.json")["families"]
    assert s["n_families"] == len(families) and s["minor_seqlets"] == 20
    html = (full_run / "report.html").read_text()
    assert html.count('class="motif-row"') == sum(not f["minor"] for f in families) >= 1


def test_truth_and_model_quality_open_the_report(full_run, example_sim):
    """--truth: interpretability AUROC/AUPR per method, seqlets against the planted instances, the planted
    motifs recovered; model quality on every labelled row (the explained ones are all positive)."""
    s = io.read_json(full_run / "summary.json")
    q = s["model_quality"]
    assert q["all"]["n"] == len(example_sim.x) and q["all"]["auroc"] > 0.95 and not q["warning"]
    assert q["explained"]["n"] == 1000 and q["explained"]["auroc"] is None     # positives only
    t = s["truth"]
    assert t["form"] == "instances" and set(t["methods"]) == {"gradxinput", "deepshap"}
    assert t["methods"]["deepshap"]["auroc"] > 0.8 and t["methods"]["deepshap"]["n_sequences"] == 1000
    rows = io.read_tsv(full_run / "truth.tsv")
    ds = [float(r["auroc"]) for r in rows if r["method"] == "deepshap"]
    assert len(rows) == 2000 and np.mean(ds) == pytest.approx(t["methods"]["deepshap"]["auroc"], abs=1e-5)
    planted = {r["jaspar_name"]: r for r in io.read_tsv(full_run / "planted.tsv")}
    assert {"CTCF", "CEBPB", "CREB1", "FOXA2"} == set(planted)
    assert planted["CTCF"]["motif_recovered"] == "True" and planted["CTCF"]["filter_recovered"] == "True"
    assert planted["FOXA2"]["motif_recovered"] == "False"                       # the decoy the model ignores
    sq = t["seqlets"]["deepshap"]
    assert 0 < sq["recall"] < 1 and sq["precision"] > 0.5 and sq["recall_by_motif"][simulate.EXAMPLE_DECOY] < 0.1
    html = (full_run / "report.html").read_text()
    assert html.index('data-kind="model-quality"') < html.index('data-kind="findings"')
    assert 'data-kind="truth"' in html and 'data-kind="quality-warning"' not in html


def test_seqlet_rows_point_into_the_users_data(full_run, example_sim):
    rows = io.read_tsv(full_run / "seqlets.tsv")
    assert rows
    idx = np.array([int(r["seq_index"]) for r in rows])
    assert idx.max() < len(example_sim.x) and np.all(example_sim.y[idx] == 1)


def test_motif_filters_split_every_motif_and_add_up_to_its_seqlets(full_run):
    """motif_filters.tsv: every motif x filter pair, shares summing to 1 per motif; the split adds up
    to the seqlets' contributions in attributions.h5; summary and filters.tsv agree with it."""
    s = io.read_json(full_run / "summary.json")
    u = s["filter_usage"]
    ds = u["methods"]["deepshap"]
    assert ds["max_abs_gap"] < 1e-5 and ds["explained"] == s["explained"] and ds["n_references"] == 20
    assert ds["n_seqlets"] == len(io.read_tsv(full_run / "seqlets.tsv")) and "usage" in s["timings"]
    rows = io.read_tsv(full_run / "motif_filters.tsv")
    motifs = [m["motif"] for m in io.read_tsv(full_run / "motifs.tsv")]
    assert motifs and len(rows) == 32 * len(motifs) and set(u["motifs"]) == set(motifs)
    share = {(r["motif"], r["filter"]): float(r["share"]) for r in rows}
    for m in motifs:
        mine = sorted(((float(r["share"]), int(r["rank"]), r["filter"]) for r in rows if r["motif"] == m), reverse=True)
        assert abs(sum(v for v, _, _ in mine) - 1) < 1e-4
        assert [k for _, k, _ in mine] == list(range(1, 33))
        build = u["motifs"][m]["filters"]
        assert build == [f for _, _, f in mine[:len(build)]]
        assert sum(share[m, f] for f in build) >= 0.8 > sum(share[m, f] for f in build[:-1])
    frows = io.read_tsv(full_run / "filters.tsv")
    assert len(frows) == 32 and all(r["main_motif"] in motifs + [""] for r in frows)
    for r in frows:
        if r["main_motif"]:
            assert abs(float(r["main_motif_share"]) - share[r["main_motif"], r["filter"]]) < 1e-5


def _run_cli(args):
    """Run the CLI in a fresh process: exit code and stderr."""
    p = subprocess.run([sys.executable, "-m", "interpret.cli", *args], capture_output=True, text=True)
    return p.returncode, p.stderr


def test_bad_inputs_exit_nonzero_with_one_line(saved_example, tmp_path, capsys):
    model, data = str(saved_example / "model.h5"), str(saved_example / "data.npz")
    bad_x = tmp_path / "notonehot.npz"
    x = np.load(data)["X_test"][:20].astype(np.float32)
    x[3, 0, 7] = [0.5, 0.5, 0, 0]
    np.savez(bad_x, x=x)
    nan_x = tmp_path / "nan.npy"
    x2 = np.load(data)["X_test"][:20, 0].astype(np.float32)
    x2[5, 2, 0] = np.nan
    np.save(nan_x, x2)
    short = tmp_path / "short.npy"
    np.save(short, np.load(data)["X_test"][:20, 0, :50])
    labels = tmp_path / "labels.npz"
    np.savez(labels, x=np.load(data)["X_test"][:20], y=np.ones(19))
    nokey = tmp_path / "nokey.npz"
    np.savez(nokey, foo=np.load(data)["X_test"][:20])
    fake_model = tmp_path / "fake.h5"
    fake_model.write_text("hello")
    cases = [
        ([model, str(bad_x)], "is not one-hot"),
        ([model, str(nan_x)], "NaN"),
        ([model, str(short)], "50 bp but the model takes 101 bp"),
        ([model, str(labels)], "19 labels for 20 sequences"),
        ([model, str(nokey)], "--x-key"),
        ([model, data, "--target", "3"], "out of range"),
        ([str(fake_model), data], "not a Keras model"),
        ([model, data, "--methods", "magic"], "unknown method"),
    ]
    for k, (args, message) in enumerate(cases):
        out = tmp_path / "out"
        argv = ["run", *args, "--out", str(out), "--quiet"]
        if k == 0:  # as a user runs it: nothing else on stderr (TensorFlow's start-up lines included)
            code, err = _run_cli(argv)
        else:       # in this process: a fresh one per case costs a TensorFlow import each
            code = main(argv)
            err = capsys.readouterr().err
        lines = [l for l in err.splitlines() if l.strip()]
        assert code != 0, args
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in err, (args, err)
        assert not out.exists() and not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def test_existing_output_refused_without_force(full_run, saved_example):
    code, err = _run_cli(["run", str(saved_example / "model.h5"), str(saved_example / "data.npz"),
                          "--out", str(full_run), "--quiet"])
    assert code == 2 and "--force" in err and (full_run / "summary.json").exists()


def test_help_lists_every_option():
    p = subprocess.run([sys.executable, "-m", "interpret.cli", "run", "--help"], capture_output=True, text=True)
    assert p.returncode == 0
    for opt in ("--x-key", "--target", "--methods", "--motifs-from", "--max-seqs", "--attributions",
                "--motif-db", "--force", "--resume", "--modisco-window", "--modisco-max-seqs", "--hits-on", "--truth",
                "--max-output-runs"):
        assert opt in p.stdout
    assert "(default: explained)" in " ".join(p.stdout.split())


def test_every_help_default_is_said_once():
    """Each option of every subcommand states its default exactly once when it has one, never as
    "(default: None)", and never twice (ArgumentDefaultsHelpFormatter appended a second one)."""
    import argparse

    from interpret.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    checked = 0
    for name, sub in {"interpret": parser, **commands}.items():
        text = sub.format_help()
        assert "(default: None)" not in text and "default: False" not in text, name
        lines = text.splitlines()
        for action in sub._actions:
            if not action.option_strings or action.help == argparse.SUPPRESS or action.dest in ("help", "version"):
                continue
            start = next(i for i, l in enumerate(lines) if re.match(rf"\s+{re.escape(action.option_strings[0])}\b", l))
            end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith(" " * 24)), len(lines))
            block = " ".join(lines[start:end])
            said = block.count("default")
            has_default = action.default not in (None, False) and not isinstance(action, argparse._HelpAction)
            assert said == (1 if has_default else said) and said <= 1, (name, action.option_strings, block)
            checked += 1
    assert checked > 40


@pytest.fixture(scope="module")
def fasta_run(tmp_path_factory, example_sim):
    """(L, 4) Conv1D model saved as .keras, 150 sequences as FASTA (no labels), gradient x input."""
    from interpret import simulate

    d = tmp_path_factory.mktemp("fasta")
    km = simulate.seed_model(filters=8, width=11, layout="L4", seed=0)
    simulate.train(km, example_sim.x[:600], example_sim.y[:600], epochs=2)
    km.save(d / "m.keras")
    seqs = io.decode(example_sim.x[:150])
    (d / "s.fa").write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate(seqs)))
    args = [str(d / "m.keras"), str(d / "s.fa"), "--methods", "gradxinput", "--motifs-from", "gradxinput", "--quiet",
            "--no-screen"]
    assert main(["run", *args, "--out", str(d / "out")]) == 0
    return d, args


def test_run_on_conv1d_model_and_fasta(fasta_run):
    """(L, 4) layout and FASTA input, labels absent: every sequence is explained."""
    d, _ = fasta_run
    s = io.read_json(d / "out" / "summary.json")
    assert s["model"]["layout"] == "L4" and s["data"]["n_explained"] == 150
    assert len(io.read_tsv(d / "out" / "filters.tsv")) == 8
    a = io.read_attributions(d / "out" / "attributions.h5")
    np.testing.assert_array_equal(a["index"], np.arange(150))


def test_no_screen_still_gives_effect_sizes(fasta_run):
    d, _ = fasta_run
    assert not (d / "out" / "screen.tsv").exists()
    s = io.read_json(d / "out" / "summary.json")
    assert "screen" not in s and "screen" not in s["timings"] and s["effects"]["backgrounds"] == 100
    rows = io.read_tsv(d / "out" / "filters.tsv")
    assert {"insertion_effect", "insertion_q", "effect_significant"} <= set(rows[0])
    assert {r["effect_significant"] for r in rows} <= {"True", "False"}


def test_resume_from_saved_attributions_gives_same_motifs(fasta_run):
    d, args = fasta_run
    assert main(["run", *args, "--out", str(d / "resumed"), "--attributions", str(d / "out" / "attributions.h5")]) == 0
    for name in ("motifs.tsv", "seqlets.tsv", "comparison.tsv"):
        assert (d / "out" / name).read_text() == (d / "resumed" / name).read_text(), name
    s = io.read_json(d / "resumed" / "summary.json")
    assert s["attribution"]["gradxinput"]["reused_from"].endswith("attributions.h5")


def test_target_all_opens_with_the_motif_output_matrix(tmp_path, example_sim):
    """A hand-set two-output model (CTCF and CEBPB filters feed output 0, CREB1 and CEBPB output 1):
    the index page opens with the matrix; the families of the two outputs' runs are matched, CEBPB in
    both; kernel logos are computed once with their influence on each output."""
    ctcf, creb1, cebpb = "MA0139.2", "MA0018.5", "MA0466.4"
    model = simulate.pwm_model([ctcf, creb1, cebpb], weights=[[0.3, 0.0], [0.0, 0.3], [0.3, 0.3]], bias=[-3, -3])
    model.keras_model.save(tmp_path / "mt.keras")
    n = 400
    has = [{m for m, _, _ in sites} for sites in example_sim.sites[:n]]
    y = np.array([[bool(h & {ctcf, cebpb}), bool(h & {creb1, cebpb})] for h in has], np.float32)
    np.savez(tmp_path / "d.npz", x=example_sim.x[:n], y=y)
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "mt.keras"), str(tmp_path / "d.npz"), "--target", "all", "--methods", "deepshap",
                 "--n-references", "5", "--minor-seqlets", "5", "--screen-backgrounds", "20", "--no-screen-sequential",
                 "--out", str(out), "--quiet"]) == 0
    top = io.read_json(out / "summary.json")
    assert sorted(top["targets"]) == ["0", "1"] and top["per_output_runs"] and top["run"] == "out"
    for t in (0, 1):
        s = io.read_json(out / f"target_{t}" / "summary.json")
        assert s["explained"] == f"logit (pre-sigmoid) of output {t}"
        assert (out / f"target_{t}" / "report.html").exists()
        assert top["model_quality"][str(t)]["all"]["auroc"] > 0.9
        assert top["targets"][str(t)]["screen_top"][0].startswith("CEBP")
    # one screen of every output: q over the database per output, as each output's own screen has it
    rows = io.read_tsv(out / "screen_outputs.tsv")
    assert len(rows) == 2 * len(io.load_motif_db()) and list(rows[0]) == ["id", "name", "output", "effect", "se",
                                                                            "n_backgrounds", "p", "q",
                                                                            "effect_significant"]
    # --no-screen-sequential: every motif on all 20 backgrounds, the full screen's forward passes
    assert {r["n_backgrounds"] for r in rows} == {"20"} and not top["screen_outputs"]["sequential"]
    assert top["screen_outputs"]["forward_passes"] == top["screen_outputs"]["forward_passes_full"]
    h5, _ = io.read_h5(out / "screen_outputs.h5")
    for t in (0, 1):
        np.testing.assert_allclose(h5["q"][:, t], stats.bh(h5["p"][:, t]))
    # families matched across the outputs: CEBPB in both, CTCF only in output 0, CREB1 only in output 1
    fam = io.read_tsv(out / "output_families.tsv")
    found = {}
    for r in fam:
        found.setdefault(r["name"], {})[int(r["output"])] = r
    assert {"CEBPB", "CTCF", "CREB1"} <= set(found)
    assert [found["CEBPB"][t]["present"] for t in (0, 1)] == ["True", "True"]
    assert [found["CTCF"][t]["present"] for t in (0, 1)] == ["True", "False"]
    assert [found["CREB1"][t]["present"] for t in (0, 1)] == ["False", "True"]
    # ... with their effects on every output: CTCF moves output 0 only, CREB1 output 1 only
    for name, on, off in (("CTCF", 0, 1), ("CREB1", 1, 0)):
        assert float(found[name][on]["effect"]) > 0.5 and found[name][on]["effect_significant"] == "True"
        assert abs(float(found[name][off]["effect"])) < 0.2 and found[name][off]["effect_significant"] == "False"
    # kernel logos once: the CTCF filters (0, 1) cannot move output 1, the CREB1 filters (2, 3) output 0
    infl = {(r["filter"], int(r["output"])): float(r["influence"]) for r in io.read_tsv(out / "filter_outputs.tsv")}
    assert len(infl) == 12 and infl[("filter_0", 1)] == 0 and infl[("filter_2", 0)] == 0 and infl[("filter_0", 0)] > 0
    html = (out / "report.html").read_text()
    assert "<title>interpret: out</title>" in html and ".partial" not in html
    assert html.index('data-kind="motif-output-matrix"') < html.index('data-kind="outputs"')
    assert html.count('class="strip" data-kind="matrix"') >= 3 and 'data-kind="family-output-table"' in html


@pytest.fixture(scope="module")
def activation_runs(tmp_path_factory):
    """Koo & Ploenzke's test in miniature: one small CNN trained twice on the example data (2,000
    sequences, 8 epochs, seeded), with a ReLU and with an exponential first-layer activation, each run
    through `interpret run` (300 positives, gradient x input, no screen)."""
    d = tmp_path_factory.mktemp("activations")
    sim = simulate.example(n=2000, seed=1)
    np.savez(d / "data.npz", x=sim.x, y=sim.y)
    for act in ("relu", "exponential"):
        km = simulate.activation_model(act, filters=24, seed=1)
        simulate.train(km, sim.x, sim.y, epochs=8, learning_rate=3e-3, seed=1)
        km.save(d / f"{act}.keras")
        assert main(["run", str(d / f"{act}.keras"), str(d / "data.npz"), "--out", str(d / act), "--max-seqs", "300",
                     "--methods", "gradxinput", "--motifs-from", "gradxinput", "--no-screen",
                     "--screen-backgrounds", "4", "--quiet"]) == 0
    return d


def test_compare_names_more_filters_of_the_exponential_model(activation_runs, tmp_path, capsys):
    d = activation_runs
    out = tmp_path / "cmp"
    assert main(["compare", str(d / "relu"), str(d / "exponential"), "--names", "relu,exp", "--out", str(out),
                 "--quiet"]) == 0
    rows = {r["run"]: r for r in io.read_tsv(out / "compare.tsv")}
    assert list(next(iter(rows.values())))[:8] == ["run", "model", "architecture", "n_filters", "filters_named",
                                                   "filters_building", "n_families", "model_auroc"]
    assert float(rows["exp"]["filters_named"]) > float(rows["relu"]["filters_named"]) + 0.15
    for name, run in (("relu", "relu"), ("exp", "exponential")):
        filters = io.read_tsv(d / run / "filters.tsv")
        assert float(rows[name]["filters_named"]) == pytest.approx(sum(bool(f["jaspar_id"]) for f in filters) / 24)
        assert float(rows[name]["model_auroc"]) > 0.8
    assert rows["relu"]["design"] != rows["exp"]["design"]          # the activation differs: two designs
    fams = io.read_tsv(out / "families_by_run.tsv")
    assert fams and len(fams) == 2 * len({r["family"] for r in fams}) and {r["run"] for r in fams} == {"relu", "exp"}
    assert (out / ".interpret").exists() and 'data-kind="runs"' in (out / "report.html").read_text()
    # the same safety as interpret run: no silent overwrite, --force only over its own output
    capsys.readouterr()
    for args, out_dir, message in (([str(d / "relu"), str(d / "exponential"), "--names", "a"], tmp_path / "o", "2 runs"),
                                   ([str(d / "relu"), str(d)], tmp_path / "o", "no summary.json"),
                                   ([str(d / "relu")], tmp_path / "o", "at least two"),
                                   ([str(d / "relu"), str(d / "exponential")], d, "holds this run's input"),
                                   ([str(d / "relu"), str(d / "exponential")], out, "--force")):
        code = main(["compare", *args, "--out", str(out_dir), "--quiet"])
        err = capsys.readouterr().err
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o").exists()
    assert main(["compare", str(d / "relu"), str(d / "exponential"), "--out", str(out), "--force", "--quiet"]) == 0
