"""Dask sharding gives bitwise the same attributions.h5 as one process."""

import numpy as np
import pytest

from interpret import distributed, io


@pytest.fixture(scope="module")
def small(tmp_path_factory, example_model, example_sim):
    d = tmp_path_factory.mktemp("dask")
    example_model.keras_model.save(d / "model.h5")
    return d, example_sim.x[:90]


def test_dask_local_cluster_is_bitwise_identical_to_single_process(small):
    d, x = small
    model = io.load_model(d / "model.h5")
    index = np.arange(len(x))
    kw = dict(methods=("gradxinput", "deepshap"), n_references=5, seed=3, shard_size=32, batch_size=16)
    one = distributed.attribute_to_file(d / "model.h5", model, x, index, d / "one.h5", **kw)
    two = distributed.attribute_to_file(d / "model.h5", model, x, index, d / "two.h5", workers=2, **kw)
    a, b = io.read_attributions(one), io.read_attributions(two)
    np.testing.assert_array_equal(a["index"], b["index"])
    for m in ("gradxinput", "deepshap"):
        for k in ("contrib", "hypothetical", "score"):
            assert np.array_equal(a[m][k], b[m][k]), (m, k)
    assert np.nanmax(np.abs(a["deepshap"]["delta"])) < 1e-3
    assert not (d / ".two.h5.partial").exists()
