"""Issue 15: interrupted work resumes to the same bytes; half-written work is never taken as done."""

import errno
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from interpret import io
from interpret.attribution import distributed
from interpret.cli import main
from interpret.errors import InputError

SHARD = 4  # 100 shards of the 400 sequences: a kill lands between commits, not after the last


@pytest.fixture(scope="module")
def small(tmp_path_factory, example_sim):
    """An untrained seed-style model (4 filters) and 400 sequences as .npy, with the file an
    uninterrupted `interpret attribute` writes (the reference every resumed file must equal)."""
    from interpret import simulate

    d = tmp_path_factory.mktemp("resume")
    simulate.seed_model(filters=4, width=7, layout="1L4", seed=0).save(d / "model.h5")
    np.save(d / "data.npy", example_sim.x[:400].astype(np.uint8))
    args = ["attribute", str(d / "model.h5"), str(d / "data.npy"), "--shard-size", str(SHARD), "--n-references", "8",
            "-q"]
    assert main([*args, "--out", str(d / "reference.h5")]) == 0
    return d, args


def _same_file(a, b) -> bool:
    return a.read_bytes() == b.read_bytes()


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run_until(cmd, partial, n_done, sig):
    """Start ``cmd``, send ``sig`` once ``partial`` holds at least ``n_done`` shards; returns (code, stderr, done)."""
    # SIGINT as a terminal sends it, also when this process runs with it ignored (a background job)
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    deadline = time.time() + 300
    done = 0
    while p.poll() is None and time.time() < deadline:
        if partial.exists():
            try:
                done = io.read_progress(partial)[0]
            except OSError:  # renamed into place between the check and the read
                done = 0
            if done >= n_done:
                p.send_signal(sig)
                break
        time.sleep(0.01)
    _, err = p.communicate(timeout=300)
    return p.returncode, err, done


def test_attribute_killed_at_several_points_resumes_to_the_same_bytes(small, tmp_path, caplog):
    d, args = small
    out = tmp_path / "a.h5"
    partial = io.partial_path(out)
    cmd = [sys.executable, "-m", "interpret.cli", *args, "--out", str(out)]
    code, err, _ = _run_until(cmd, partial, 3, signal.SIGKILL)
    assert code == -signal.SIGKILL and not out.exists()
    first = io.read_progress(partial)
    assert 3 <= first[0] < first[1] == 100, first
    code, err, _ = _run_until(cmd + ["--resume"], partial, first[0] + 3, signal.SIGINT)
    lines = [l for l in err.splitlines() if l.strip()]
    assert code == 130 and len(lines) == 1 and "--resume" in lines[0] and str(partial) in lines[0], err
    second = io.read_progress(partial)
    assert first[0] + 3 <= second[0] < 100, (first, second)
    with pytest.raises(InputError, match="unfinished"):
        io.read_attributions(partial)
    caplog.set_level("INFO", logger="interpret")
    assert main([*args[:-1], "--out", str(out), "--resume"]) == 0
    assert f"{second[0]} of 100 shards were saved" in caplog.text
    assert not partial.exists() and _same_file(out, d / "reference.h5")


def test_half_written_shard_is_computed_again(small, tmp_path):
    """Bytes of a shard written without its done flag (a kill mid-write) are never read as done."""
    d, args = small
    model = io.load_model(d / "model.h5")
    x = io.load_sequences(d / "data.npy").source
    index = np.arange(len(x))
    attrs = distributed.store_attrs(model, ("gradxinput", "deepshap"), 0, "logit", 8, 0, 128)
    partial = io.partial_path(tmp_path / "a.h5")
    store = io.AttributionStore.open(partial, index, 101, ["gradxinput", "deepshap"], attrs, SHARD)
    distributed.attribute_into(store, model, x, index, n_references=8)
    assert store.missing() == [] and _same_file(partial, d / "reference.h5")
    # tear shards 7 and 8: garbage in their rows, flags down (as after a kill between data and flag)
    for k in (7, 8):
        store._put("deepshap/hypothetical", k * SHARD, np.full((SHARD, 101, 4), 9.0))
        store._put("shards/done", k, np.zeros(1))
    store.close()
    assert io.read_progress(partial) == (98, 100)
    out = distributed.attribute_to_file(d / "model.h5", model, x, index, tmp_path / "a.h5", shard_size=SHARD,
                                        n_references=8, resume=True)
    assert _same_file(out, d / "reference.h5")


def test_full_disk_mid_shard_keeps_the_saved_shards_and_resumes(small, tmp_path, monkeypatch, capsys):
    d, args = small
    out = tmp_path / "a.h5"
    real_pwrite, calls = os.pwrite, []

    def pwrite(fd, data, pos):  # the disk fills up in the middle of shard 5
        calls.append(pos)
        if len(calls) == 5 * 11 + 4:  # 11 writes per committed shard
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_pwrite(fd, data, pos)

    monkeypatch.setattr(os, "pwrite", pwrite)
    assert main([*args, "--out", str(out)]) == 2
    lines = [l for l in capsys.readouterr().err.splitlines() if l.strip()]
    assert len(lines) == 1 and "No space left on device" in lines[0] and "--resume" in lines[0], lines
    assert io.read_progress(io.partial_path(out)) == (5, 100) and not out.exists()
    monkeypatch.setattr(os, "pwrite", real_pwrite)
    assert main([*args, "--out", str(out), "--resume"]) == 0
    assert _same_file(out, d / "reference.h5")


def test_too_little_disk_space_is_refused_before_any_compute(small, tmp_path, monkeypatch, capsys):
    d, args = small
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10 ** 9, 10 ** 9 - 10 ** 5, 10 ** 5))
    assert main([*args, "--out", str(tmp_path / "a.h5")]) == 2
    lines = [l for l in capsys.readouterr().err.splitlines() if l.strip()]
    assert len(lines) == 1 and "2.7 MB more but" in lines[0] and "100.0 kB free" in lines[0], lines
    assert list(tmp_path.iterdir()) == []


def test_resume_refuses_other_settings_and_other_sequences(small, tmp_path, capsys):
    d, args = small
    out = tmp_path / "a.h5"
    model = io.load_model(d / "model.h5")
    x = io.load_sequences(d / "data.npy").source
    index = np.arange(len(x))
    attrs = distributed.store_attrs(model, ("gradxinput", "deepshap"), 0, "logit", 8, 0, 128)
    store = io.AttributionStore.open(io.partial_path(out), index, 101, ["gradxinput", "deepshap"], attrs, SHARD)
    xs = x[:SHARD]
    store.commit(0, xs, distributed.attribute_shard(None, xs, ("gradxinput", "deepshap"), 0, "logit", 8, 0, 128,
                                                    model=model))
    store.close()
    assert main([*args, "--out", str(out)]) == 2  # neither --resume nor --force
    assert "pass --resume to continue it or --force" in capsys.readouterr().err
    assert main([*args[:-3], "--n-references", "5", "-q", "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "n_references 8, not 5" in err and "--force" in err
    other = np.array(x[:])
    other[1] = other[1, ::-1]
    np.save(tmp_path / "other.npy", other)
    assert main([args[0], args[1], str(tmp_path / "other.npy"), *args[3:], "--out", str(out), "--resume"]) == 2
    assert "saved shard 0 (rows 0-3) was computed from other sequences" in capsys.readouterr().err
    assert io.read_progress(io.partial_path(out)) == (1, 100)  # refusals leave the saved work alone


# ------------------------------------------------------------------------------------------
# Stages of a run (io.OutputDir); no model needed
# ------------------------------------------------------------------------------------------
def _stages(od, calls, threshold=0.5, q=0.05):
    def stage(name):
        def fn():
            calls.append(name)
            (od / f"{name}.txt").write_text(name)
            return {"name": name}
        return fn

    od.stage("filters", {"threshold": threshold}, stage("filters"), after=())
    od.stage("attributions", {"seed": 0}, stage("attributions"), after=())
    od.stage("motifs", {}, stage("motifs"), after=("attributions",))
    return od.stage("compare", {"q": q}, stage("compare"))


def test_stages_finished_with_the_same_parameters_are_reused(tmp_path):
    out = tmp_path / "out"
    calls = []
    with pytest.raises(KeyboardInterrupt):
        with io.OutputDir(out, identity={"model": "m1"}) as od:
            _stages(od, calls)
            raise KeyboardInterrupt  # after compare, before finish
    partial = io.partial_path(out)
    assert not out.exists() and partial.is_dir() and calls == ["filters", "attributions", "motifs", "compare"]
    journal = json.loads((partial / ".stages" / "journal.json").read_text())
    assert all(s["done"] for s in journal["stages"].values())
    with pytest.raises(InputError, match="--resume to continue it or --force"):
        io.OutputDir(out)
    with pytest.raises(InputError, match="another model"):
        io.OutputDir(out, resume=True, identity={"model": "m2"})

    calls.clear()  # same parameters: nothing runs again
    with io.OutputDir(out, resume=True, identity={"model": "m1"}) as od:
        assert _stages(od, calls) == {"name": "compare"} and calls == []
        assert od.resumed == ["filters", "attributions", "motifs", "compare"]
        od.finish({})
    assert sorted(p.name for p in out.iterdir()) == [".interpret", "attributions.txt", "compare.txt", "filters.txt",
                                                     "motifs.txt", "summary.json"]


def test_a_changed_stage_runs_again_with_everything_after_it(tmp_path):
    out = tmp_path / "out"
    calls = []
    with pytest.raises(KeyboardInterrupt):
        with io.OutputDir(out) as od:
            _stages(od, calls)
            raise KeyboardInterrupt
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        with io.OutputDir(out, resume=True) as od:
            _stages(od, calls, threshold=0.6)  # filters changed: compare (after everything) reruns too
            raise KeyboardInterrupt
    assert calls == ["filters", "compare"]
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        with io.OutputDir(out, resume=True) as od:
            _stages(od, calls, threshold=0.6, q=0.01)
            raise KeyboardInterrupt
    assert calls == ["compare"] and od.resumed == ["filters", "attributions", "motifs"]
    calls.clear()  # --resume --force on other inputs: start over
    with io.OutputDir(out, resume=True, force=True, identity={"model": "other"}) as od:
        _stages(od, calls)
        assert calls == ["filters", "attributions", "motifs", "compare"] and od.resumed == []


def test_an_unfinished_run_is_locked_and_nothing_is_kept_before_a_stage_starts(tmp_path):
    out = tmp_path / "out"
    od = io.OutputDir(out)
    with pytest.raises(InputError, match="another interpret process is writing"):
        io.OutputDir(out, resume=True)
    od.abort()
    with pytest.raises(RuntimeError):
        with io.OutputDir(out) as od:
            (od / "half.txt").write_text("x")
            raise RuntimeError("before any stage")
    assert list(tmp_path.iterdir()) == []
