"""`--force` replaces only what interpret wrote: never the user's model, data, folders or home (issue 29)."""

import contextlib
import os
from io import StringIO

import numpy as np
import pytest

from interpret import io
from interpret.errors import InputError


def _cli(args):
    from interpret.cli import main

    err = StringIO()
    with contextlib.redirect_stderr(err):
        code = main(args)
    return code, err.getvalue()


def _refused(code, err, message):
    lines = [l for l in err.splitlines() if l.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert message in lines[0], lines[0]


@pytest.fixture()
def proj(tmp_path, example_sim):
    """A user's project folder: model, data and a notes file of their own."""
    from interpret import simulate

    d = tmp_path / "proj"
    d.mkdir()
    simulate.seed_model(filters=4, width=7, layout="1L4", seed=0).save(d / "model.h5")
    np.savez(d / "data.npz", x=example_sim.x[:30], y=example_sim.y[:30])
    (d / "notes.txt").write_text("my notes")
    return d


def _intact(proj):
    assert sorted(p.name for p in proj.iterdir()) == ["data.npz", "model.h5", "notes.txt"]
    assert (proj / "notes.txt").read_text() == "my notes"


RUN = ["--explain", "all", "--n-references", "2", "--no-screen", "--screen-backgrounds", "2", "--quiet"]


def test_force_refuses_the_folder_that_holds_the_model_and_data(proj):
    _refused(*_cli(["run", str(proj / "model.h5"), str(proj / "data.npz"), "--out", str(proj), "--force"]),
             "holds this run's input")
    _intact(proj)


def test_force_refuses_the_current_directory_and_its_parents(proj, monkeypatch):
    monkeypatch.chdir(proj)
    for out in (".", str(proj.parent)):
        _refused(*_cli(["run", "model.h5", "data.npz", "--out", out, "--force"]), "current directory")
    _intact(proj)


def test_force_refuses_home_and_the_filesystem_root(proj, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "keep.txt").write_text("x")
    monkeypatch.setenv("HOME", str(home))
    _refused(*_cli(["run", str(proj / "model.h5"), str(proj / "data.npz"), "--out", str(home), "--force"]),
             "home directory")
    assert (home / "keep.txt").exists()
    with pytest.raises(InputError, match="root|current directory|home"):
        io.check_replaceable("/", force=True)


def test_force_refuses_a_folder_interpret_did_not_write(proj, tmp_path):
    other = tmp_path / "results"
    other.mkdir()
    (other / "figure.pdf").write_text("a figure of the user's")
    _refused(*_cli(["run", str(proj / "model.h5"), str(proj / "data.npz"), "--out", str(other), "--force"]),
             "not one")
    assert [p.name for p in other.iterdir()] == ["figure.pdf"]
    _intact(proj)


def test_an_existing_file_is_never_replaced_by_a_directory(proj, tmp_path):
    f = tmp_path / "results.txt"
    f.write_text("user's file")
    for extra in ([], ["--force"]):
        _refused(*_cli(["run", str(proj / "model.h5"), str(proj / "data.npz"), "--out", str(f), *extra]),
                 "is a file")
    assert f.read_text() == "user's file"


def test_attribute_refuses_a_directory_and_a_file_it_did_not_write(proj, tmp_path):
    d = tmp_path / "adir"
    d.mkdir()
    for flag in ("--force", "--resume"):
        _refused(*_cli(["attribute", str(proj / "model.h5"), str(proj / "data.npz"), "--out", str(d), flag]),
                 "is a directory")
    _refused(*_cli(["attribute", str(proj / "model.h5"), str(proj / "data.npz"), "--out", str(proj / "data.npz"),
                    "--force"]), "holds this run's input")
    mine = tmp_path / "mine.h5"
    mine.write_bytes(b"not an attributions file")
    _refused(*_cli(["attribute", str(proj / "model.h5"), str(proj / "data.npz"), "--out", str(mine), "--force"]),
             "not one")
    assert mine.read_bytes() == b"not an attributions file"
    _intact(proj)


def test_force_replaces_an_earlier_run_and_attributions_file(proj, tmp_path):
    out = tmp_path / "out"
    args = ["run", str(proj / "model.h5"), str(proj / "data.npz"), *RUN, "--out", str(out)]
    assert _cli(args)[0] == 0
    assert io.is_marked(out)
    (out / "stale.txt").write_text("left by an earlier run")  # gone once the run is replaced
    assert _cli([*args, "--force"])[0] == 0
    assert io.is_marked(out) and not (out / "stale.txt").exists() and (out / "summary.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    h5 = tmp_path / "a.h5"
    att = ["attribute", str(proj / "model.h5"), str(proj / "data.npz"), "--explain", "all", "--methods",
           "gradxinput", "--quiet", "--out", str(h5)]
    assert _cli(att)[0] == 0
    assert _cli([*att, "--force"])[0] == 0 and h5.exists()
    _intact(proj)


def test_a_folder_that_appears_during_a_run_is_never_replaced(tmp_path):
    out = tmp_path / "out"
    with io.OutputDir(out, force=True) as od:
        (od / "a.txt").write_text("x")
        out.mkdir()
        (out / "user.txt").write_text("appeared meanwhile")
        with pytest.raises(InputError, match="appeared while this run was writing"):
            od.finish({})
    assert (out / "user.txt").read_text() == "appeared meanwhile"
    assert (io.partial_path(out) / "summary.json").exists()  # the finished run is kept, not lost


def test_a_staging_folder_interpret_did_not_write_is_refused(tmp_path):
    out = tmp_path / "out"
    fake = io.partial_path(out)
    fake.mkdir()
    (fake / "x.txt").write_text("x")
    for kw in ({}, {"force": True}, {"resume": True}):
        with pytest.raises(InputError, match="not written by interpret"):
            io.OutputDir(out, **kw)
    assert (fake / "x.txt").exists()
    assert not os.path.exists(out)
