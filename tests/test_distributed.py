"""Dask sharding: bitwise the same attributions.h5 as one process, also when a worker is killed
mid-run; the scheduler killed mid-run leaves a file that resumes to the same bytes."""

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from interpret import io
from interpret.attribution import distributed
from interpret.errors import InputError

KW = dict(methods=("gradxinput", "deepshap"), n_references=5, seed=3, shard_size=6, batch_size=16)
CLUSTER = """
import sys, time
from dask.distributed import LocalCluster
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
print(cluster.scheduler_address, flush=True)
time.sleep(3600)
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory, example_model, example_sim):
    """The example model saved, 90 sequences (15 shards) and their attributions computed in this process."""
    d = tmp_path_factory.mktemp("dask")
    example_model.keras_model.save(d / "model.h5")
    model = io.load_model(d / "model.h5")
    x = example_sim.x[:90]
    distributed.attribute_to_file(d / "model.h5", model, x, np.arange(len(x)), d / "one.h5", **KW)
    return d, model, x


@pytest.fixture(scope="module")
def cluster():
    """A two-worker LocalCluster in a process group of its own, so a test can kill its scheduler;
    yields (address, process)."""
    p = subprocess.Popen([sys.executable, "-c", CLUSTER], stdout=subprocess.PIPE, text=True, start_new_session=True)
    address = p.stdout.readline().strip()
    assert address.startswith("tcp://"), "the Dask cluster did not start"
    yield address, p
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def _watch(partial, when, action):
    """Thread that calls ``action()`` once ``partial`` holds ``when`` committed shards."""
    def loop():
        deadline = time.time() + 600
        while time.time() < deadline:
            try:
                if partial.exists() and io.read_progress(partial)[0] >= when and action():
                    return
            except OSError:
                pass
            time.sleep(0.02)
    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return t


def test_dask_is_bitwise_identical_to_single_process(small, cluster):
    d, model, x = small
    two = distributed.attribute_to_file(d / "model.h5", model, x, np.arange(len(x)), d / "two.h5",
                                        scheduler=cluster[0], **KW)
    assert two.read_bytes() == (d / "one.h5").read_bytes()
    a = io.read_attributions(two)
    assert np.nanmax(np.abs(a["deepshap"]["delta"])) < 1e-3
    assert not io.partial_path(two).exists()


def test_worker_killed_while_holding_shards_gives_the_same_file(small, cluster):
    from dask.distributed import Client

    d, model, x = small
    out = d / "killed.h5"
    monitor = Client(cluster[0])
    pids = monitor.run(os.getpid)
    killed = {}

    def kill_a_busy_worker():
        busy = [(w, len(keys)) for w, keys in monitor.processing().items() if keys and w in pids]
        if busy:
            os.kill(pids[busy[0][0]], signal.SIGKILL)
            killed.update(worker=busy[0][0], shards=busy[0][1], done=io.read_progress(io.partial_path(out))[0])
        return bool(busy)

    watcher = _watch(io.partial_path(out), 1, kill_a_busy_worker)
    distributed.attribute_to_file(d / "model.h5", model, x, np.arange(len(x)), out, scheduler=cluster[0], **KW)
    watcher.join(timeout=5)
    assert killed and killed["shards"] >= 1 and killed["done"] < 15, killed
    assert killed["worker"] not in monitor.scheduler_info()["workers"]  # that worker is gone, its shards ran elsewhere
    monitor.close()
    assert out.read_bytes() == (d / "one.h5").read_bytes()


def test_scheduler_killed_mid_run_leaves_a_file_that_resumes(small, cluster):
    d, model, x = small
    out = d / "lost.h5"
    address, proc = cluster
    watcher = _watch(io.partial_path(out), 2, lambda: os.killpg(proc.pid, signal.SIGKILL) or True)
    with pytest.raises(InputError, match="lost the Dask scheduler at tcp://.*--resume") as e:
        distributed.attribute_to_file(d / "model.h5", model, x, np.arange(len(x)), out, scheduler=address, **KW)
    watcher.join(timeout=5)
    assert "\n" not in str(e.value)
    done, total = io.read_progress(io.partial_path(out))
    assert 2 <= done < total == 15 and not out.exists()
    distributed.attribute_to_file(d / "model.h5", model, x, np.arange(len(x)), out, resume=True, **KW)
    assert out.read_bytes() == (d / "one.h5").read_bytes()
