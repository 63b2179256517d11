"""Finished shards of a stage that works through a large input, one file each, so that it resumes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np


class ShardFiles:
    """A directory of finished shards (``<k>.npz``, arrays by name), valid for one set of parameters.

    A shard is written to a temporary file, synced, and renamed into place: a process killed at any
    moment leaves only whole shards. ``params.json`` records what they were computed with; opened
    with other parameters, the directory is emptied and every shard is computed again.

    Parameters
    ----------
    path : str or Path
        The directory (created).
    params : dict
        JSON values the shards depend on.
    """

    def __init__(self, path, params: dict):
        self.path = Path(path)
        manifest = self.path / "params.json"
        wanted = json.dumps(params, sort_keys=True, default=str)
        if self.path.exists() and (not manifest.exists() or manifest.read_text() != wanted):
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        if not manifest.exists():
            manifest.write_text(wanted)

    def _file(self, k: int) -> Path:
        return self.path / f"{int(k)}.npz"

    def done(self, k: int) -> bool:
        return self._file(k).exists()

    def save(self, k: int, arrays: dict) -> None:
        tmp = self.path / f".{int(k)}.npz.tmp"
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._file(k))

    def load(self, k: int) -> dict:
        with np.load(self._file(k), allow_pickle=False) as z:
            return {name: z[name] for name in z.files}
