"""``attributions.h5``: written shard by shard (kill-safe, resumable), read back in bounded memory."""

from __future__ import annotations

import json
import os
import re
import shutil
import zlib
from pathlib import Path

import numpy as np

from ..errors import InputError
from .outdir import _lock
from .sequences import STREAM_BYTES


class NotResumable(InputError):
    """An unfinished attributions file that cannot be continued: other settings, or not a store."""


class AttributionStore:
    """``attributions.h5`` written shard by shard, so that an interrupted computation resumes.

    Layout: root ``index (N,)`` int64 (row of each explained sequence in the user's data) and
    ``x (N, L, 4)`` uint8 one-hot; one group per method with ``contrib`` and ``hypothetical``
    ``(N, L, 4)`` float32, ``delta (N,)`` (NaN where the method has none) and ``score (N,)`` (the
    explained scalar), float32; ``shards/done (S,)`` uint8 and ``shards/crc32 (S,)`` uint32 (CRC-32
    of each shard's float32 input rows). File attributes: ``explained`` (e.g. "logit (pre-sigmoid)
    of output 0"), ``target``, ``shard_size`` and ``params`` (JSON of everything the values depend on).
    Shard ``k`` is rows ``k * shard_size`` up to the next shard.

    Crash safety: the file's HDF5 structure is written, closed and renamed into place before any
    shard; every dataset is contiguous and allocated then, so committing a shard only writes its
    bytes at fixed offsets, syncs them to disk, and then sets ``shards/done[k]``. A process killed
    at any moment leaves a valid file whose ``done`` flags name exactly the shards written in full:
    a half-written shard is not done and is computed again. Shards finishing in any order give the
    same bytes. The datasets are not compressed (a compressed chunk moves when it is rewritten).

    Use :meth:`open`; :meth:`commit` each shard; :meth:`close`.
    """

    def __init__(self, path: Path, fd: int, n: int, length: int, methods: list, shard_size: int,
                 spec: dict, done: np.ndarray, crc: np.ndarray):
        self.path, self.fd = path, fd
        self.n, self.length, self.methods, self.shard_size = n, length, list(methods), shard_size
        self._spec = spec
        self.done = done.astype(bool)
        self.crc = crc

    @property
    def n_shards(self) -> int:
        return len(self.done)

    @property
    def n_done(self) -> int:
        return int(self.done.sum())

    def rows(self, k: int) -> tuple[int, int]:
        """Rows ``start, stop`` of shard ``k``."""
        return k * self.shard_size, min(self.n, (k + 1) * self.shard_size)

    def missing(self) -> list[int]:
        """Shards not committed yet."""
        return [int(k) for k in np.flatnonzero(~self.done)]

    @classmethod
    def open(cls, path, index: np.ndarray, length: int, methods, attrs: dict, shard_size: int,
             resume: bool = False) -> "AttributionStore":
        """Create the store at ``path``; with ``resume``, reopen the one there instead, if any.

        Parameters
        ----------
        path : str or Path
        index : ndarray, shape (N,)
            Row of each explained sequence in the user's data.
        length : int
            Sequence length ``L``.
        methods : list of str
        attrs : dict
            ``explained``, ``target`` and ``params`` (a JSON string): a file to resume must have
            been made with the same values, else :class:`InputError` names the difference.
        shard_size : int
        resume : bool

        Raises
        ------
        InputError
            The file to resume was made with other settings or is not a store; another process
            holds it; the disk cannot hold it.
        """
        path = Path(path)
        index = np.asarray(index, dtype=np.int64)
        if resume and path.exists():
            store = cls._reopen(path, index, length, methods, attrs, shard_size)
        else:
            store = cls._create(path, index, length, methods, attrs, shard_size)
        store._check_space()
        return store

    @classmethod
    def _create(cls, path, index, length, methods, attrs, shard_size):
        import h5py

        n = len(index)
        tmp = path.with_name(path.name + ".new")
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)   # offsets fixed now: shards never touch metadata
        dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)     # unwritten space stays a sparse hole
        dcpl.set_obj_track_times(False)                  # same inputs, same bytes
        try:
            with h5py.File(tmp, "w") as f:
                for k, v in attrs.items():
                    f.attrs[k] = v
                f.attrs["shard_size"] = shard_size
                f.create_dataset("index", data=index, track_times=False)
                for name, shape, dtype in _store_datasets(n, length, methods, shard_size):
                    f.create_dataset(name, shape=shape, dtype=dtype, dcpl=dcpl)
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise InputError(f"cannot write {path} ({exc.strerror or exc}); choose a writable --out.") from exc
        return cls._reopen(path, index, length, methods, attrs, shard_size)

    @classmethod
    def _reopen(cls, path, index, length, methods, attrs, shard_size):
        import h5py

        try:
            with h5py.File(path, "r", locking=False) as f:
                stored = {k: _attr(f.attrs.get(k)) for k in attrs}
                size = int(f.attrs.get("shard_size", -1))
                same_rows = f["index"].shape == index.shape and np.array_equal(f["index"][()], index)
                spec = {}
                for name, shape, dtype in _store_datasets(len(index), length, methods, shard_size):
                    ds = f[name]
                    if ds.shape != shape or ds.dtype != np.dtype(dtype) or ds.id.get_offset() is None:
                        raise KeyError(name)
                    spec[name] = (ds.id.get_offset(), np.dtype(dtype), int(np.prod(shape[1:], dtype=np.int64)) * ds.dtype.itemsize)
                done, crc = f["shards/done"][()], f["shards/crc32"][()]
        except (OSError, KeyError) as exc:
            raise NotResumable(f"{path} is not a resumable attributions file ({exc}); pass --force to start over.") from exc
        diff = _differences(stored, attrs)
        if size != shard_size:
            diff.append(f"shard size {size}, not {shard_size}")
        if not same_rows:
            diff.append("other explained sequences (index)")
        if diff:
            raise NotResumable(f"{path} was begun with other settings ({'; '.join(diff)}); rerun with the same options, "
                             "or pass --force to start over.")
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError as exc:
            raise InputError(f"cannot write {path} ({exc.strerror}); choose a writable --out.") from exc
        try:
            _lock(fd, path)
        except InputError:
            os.close(fd)
            raise
        return cls(path, fd, len(index), length, methods, shard_size, spec, done, crc)

    def _check_space(self) -> None:
        """Refuse to start when the disk cannot hold the shards still to write (the file is sparse)."""
        st = os.fstat(self.fd)
        need = st.st_size - st.st_blocks * 512
        free = shutil.disk_usage(self.path.parent).free
        if need > free:
            self.close()
            if not self.n_done:  # nothing saved yet: leave nothing behind
                self.path.unlink(missing_ok=True)
            raise InputError(f"{self.path} needs {_size(need)} more but {self.path.parent} has {_size(free)} free; "
                             "free some space or choose another --out.")

    @staticmethod
    def input_crc(x: np.ndarray) -> int:
        """CRC-32 of a shard's input rows as float32 ``(n, L, 4)``."""
        return zlib.crc32(np.ascontiguousarray(x, dtype=np.float32))

    def commit(self, k: int, x: np.ndarray, results: dict) -> None:
        """Write shard ``k`` and mark it done.

        Parameters
        ----------
        k : int
        x : ndarray, shape (n, L, 4)
            The shard's sequences (rows :meth:`rows` ``(k)``).
        results : dict
            ``{method: {"contrib", "hypothetical" (n, L, 4), "score" (n,), "delta" (n,) or None}}``.
        """
        a, b = self.rows(k)
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.shape != (b - a, self.length, 4):
            raise ValueError(f"shard {k} has shape {x.shape}, expected {(b - a, self.length, 4)}")
        crc = self.input_crc(x)
        try:
            self._put("x", a, (x > 0.5).astype(np.uint8))
            for m in self.methods:
                r = results[m]
                self._put(f"{m}/contrib", a, r["contrib"])
                self._put(f"{m}/hypothetical", a, r["hypothetical"])
                self._put(f"{m}/score", a, r["score"])
                self._put(f"{m}/delta", a, np.full(b - a, np.nan) if r.get("delta") is None else r["delta"])
            self._put("shards/crc32", k, np.array([crc]))
            os.fdatasync(self.fd)  # the shard's bytes are on disk before its flag says so
            self._put("shards/done", k, np.ones(1))
        except OSError as exc:
            raise InputError(f"cannot write {self.path} ({exc.strerror or exc}); {self.n_done} of {self.n_shards} "
                             "shards are saved in it.") from exc
        self.done[k] = True
        self.crc[k] = crc

    def _put(self, name: str, row: int, arr) -> None:
        offset, dtype, row_bytes = self._spec[name]
        data = memoryview(np.ascontiguousarray(arr, dtype=dtype)).cast("B")
        pos = offset + row * row_bytes
        while len(data):
            written = os.pwrite(self.fd, data, pos)
            data, pos = data[written:], pos + written

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _size(n_bytes: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes} bytes"


def _store_datasets(n: int, length: int, methods, shard_size: int) -> list:
    """``(name, shape, dtype)`` of every dataset an :class:`AttributionStore` writes shard by shard."""
    out = [("x", (n, length, 4), "u1")]
    for m in methods:
        out += [(f"{m}/contrib", (n, length, 4), "<f4"), (f"{m}/hypothetical", (n, length, 4), "<f4"),
                (f"{m}/delta", (n,), "<f4"), (f"{m}/score", (n,), "<f4")]
    n_shards = -(-n // shard_size)
    return out + [("shards/done", (n_shards,), "u1"), ("shards/crc32", (n_shards,), "<u4")]


def _attr(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _differences(stored: dict, wanted: dict) -> list[str]:
    """Human-readable differences between stored and wanted attributes (``params`` compared key by key)."""
    out = []
    for k, v in wanted.items():
        s = stored.get(k)
        if k == "params" and isinstance(s, str) and isinstance(v, str):
            a, b = json.loads(s), json.loads(v)
            out += [f"{p} {a.get(p)!r}, not {b.get(p)!r}" for p in sorted(set(a) | set(b)) if a.get(p) != b.get(p)]
        elif s != v:
            out.append(f"{k} {s!r}, not {v!r}")
    return out


def _read_rows(ds, rows: np.ndarray | None) -> np.ndarray:
    """Rows ``rows`` (sorted) of an HDF5 dataset, reading only those (all if ``rows`` is None)."""
    if rows is None:
        return ds[()]
    rows = np.asarray(rows, dtype=np.int64)
    offset = ds.id.get_offset()
    if offset is not None and ds.compression is None and ds.chunks is None:
        mm = np.memmap(ds.file.filename, ds.dtype, "r", offset=offset, shape=ds.shape)
        try:
            return np.array(mm[rows])
        finally:
            del mm
    out = np.empty((len(rows),) + ds.shape[1:], ds.dtype)
    block = max(1, STREAM_BYTES // max(1, int(np.prod(ds.shape[1:], dtype=np.int64)) * ds.dtype.itemsize))
    i = 0
    while i < len(rows):
        j = int(np.searchsorted(rows, rows[i] + block, side="left"))
        out[i:j] = ds[int(rows[i]):int(rows[j - 1]) + 1][rows[i:j] - rows[i]]
        i = j
    return out


def _open_finished(path):
    """An h5py file of a finished attributions.h5; :class:`InputError` if absent, foreign or unfinished."""
    import h5py

    if not Path(path).exists():
        raise InputError(f"{path} does not exist; give the attributions.h5 of an earlier run.")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        cut = re.search(r"truncated file: eof = (\d+).*stored_eof = (\d+)", str(exc))
        if cut:
            raise InputError(f"{path} is truncated ({int(cut[1]):,} of its {int(cut[2]):,} bytes); copy it again or "
                             "recompute it with `interpret attribute`.") from exc
        raise InputError(f"{path} is not an interpret attributions.h5 ({exc}); recompute it with `interpret attribute`.") from exc
    if "shards" in f and not f["shards/done"][()].all():
        done, total = int(f["shards/done"][()].sum()), len(f["shards/done"])
        f.close()
        raise InputError(f"{path} is unfinished ({done} of {total} shards); finish it with the same "
                         "`interpret attribute` command and --resume.")
    return f


def _method_groups(f) -> list[str]:
    import h5py

    return [m for m in f if isinstance(f[m], h5py.Group) and "contrib" in f[m]]


def read_attributions(path, method: str | None = None, rows: np.ndarray | None = None, names=None) -> dict:
    """Read ``attributions.h5``: ``{"index", "x", "attrs", method: {"contrib", "hypothetical", "delta", "score"}}``.

    Parameters
    ----------
    path : str or Path
    method : str, optional
        Read only this method's arrays.
    rows : ndarray of int, optional
        Sorted rows of the file to read (default all); only those are read from disk.
    names : iterable of str, optional
        Read only these arrays of each method (e.g. ``("contrib",)``); default all.
    """
    f = _open_finished(path)
    try:
        with f:
            out = {"index": _read_rows(f["index"], rows), "x": _read_rows(f["x"], rows).astype(np.float32),
                   "attrs": {k: _attr(v) for k, v in f.attrs.items()}}
            for m in _method_groups(f):
                if method is None or m == method:
                    out[m] = {k: _read_rows(f[m][k], rows) for k in f[m] if names is None or k in names}
    except KeyError as exc:
        raise InputError(f"{path} is not an interpret attributions.h5 ({exc}); recompute it with `interpret attribute`.") from exc
    return out


def attributions_info(path) -> dict:
    """``{"n", "length", "methods", "attrs"}`` of a finished attributions.h5, reading no arrays."""
    f = _open_finished(path)
    with f:
        if "x" not in f or "index" not in f:
            raise InputError(f"{path} is not an interpret attributions.h5 (no x or index); recompute it with "
                             "`interpret attribute`.")
        return {"n": int(f["x"].shape[0]), "length": int(f["x"].shape[1]), "methods": _method_groups(f),
                "index": f["index"][()], "attrs": {k: _attr(v) for k, v in f.attrs.items()}}


def iter_attributions(path, method: str, names=("contrib", "delta"), rows_per_chunk: int | None = None):
    """Yield ``(start, {name: rows start:start + n})`` of one method of a finished attributions.h5,
    a bounded number of rows at a time (default about 32 MB of ``contrib``)."""
    f = _open_finished(path)
    with f:
        g = f[method]
        n, length = g["contrib"].shape[:2]
        step = rows_per_chunk or max(1, STREAM_BYTES // (length * 16))
        for a in range(0, n, step):
            yield a, {k: g[k][a:a + step] for k in names}


def read_progress(path) -> tuple[int, int]:
    """``(shards done, shards)`` of an attributions.h5, finished or still being written (read-only, no lock)."""
    import h5py

    with h5py.File(path, "r", locking=False) as f:
        if "shards" not in f:
            return 1, 1
        done = f["shards/done"][()]
    return int(done.sum()), len(done)


def read_top_attributions(path, methods: list, n: int) -> dict | None:
    """Top-``n`` sequences of ``attributions.h5`` by score: one-hot and contributions per method.

    Reads only the selected rows of ``attributions.h5`` (the full file can be GBs).
    """
    import h5py

    path = Path(path)
    if not path.exists():
        return None
    with h5py.File(path, "r") as f:
        present = [m for m in methods if m in f and "contrib" in f[m]]
        present += [m for m in f if isinstance(f[m], h5py.Group) and m not in present and "contrib" in f[m]]
        if not present or "x" not in f:
            return {"methods": [], "rows": [], "absent": [m for m in methods]}
        index = f["index"][()] if "index" in f else np.arange(len(f["x"]))
        score = None
        for m in present:
            if "score" in f[m]:
                s = f[m]["score"][()].astype(np.float64)
                if np.isfinite(s).any():
                    score = s
                    break
        if score is None:
            score = np.zeros(len(index))
        order = np.argsort(-np.nan_to_num(score, nan=-np.inf), kind="stable")[:n]
        rows = np.sort(order)
        x = f["x"][rows].astype(np.float64)
        contrib = {m: f[m]["contrib"][rows].astype(np.float64) for m in present}
        scores = {m: f[m]["score"][rows].astype(np.float64) if "score" in f[m] else None for m in present}
        explained = f.attrs.get("explained", "")
    pick = {r: i for i, r in enumerate(rows.tolist())}
    seqs = []
    for r in order.tolist():
        i = pick[r]
        seqs.append({"row": r, "seq_index": int(index[r]), "x": x[i],
                     "contrib": {m: contrib[m][i] for m in present},
                     "score": {m: (None if scores[m] is None else float(scores[m][i])) for m in present}})
    explained = explained.decode() if isinstance(explained, bytes) else str(explained)
    return {"methods": present, "rows": seqs, "absent": [m for m in methods if m not in present],
            "explained": explained}
