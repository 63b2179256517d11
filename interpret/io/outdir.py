"""A run's output directory: staged in ``.<out>.partial``, resumable stage by stage, renamed when
complete."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import shutil
import time
from pathlib import Path

from ..errors import InputError
from .formats import json_value, read_json, write_json

logger = logging.getLogger(__name__)


def partial_path(out) -> Path:
    """Where an unfinished ``out`` (a run's directory or an attributions file) is kept: ``.<name>.partial``
    beside it, hidden, so it is never taken for a finished output."""
    out = Path(out)
    return out.parent / f".{out.name}.partial"


def _lock(fd: int, what) -> None:
    """Exclusive lock on ``fd`` for this process's lifetime (released when it closes or the process dies)."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise InputError(f"another interpret process is writing {what}; wait for it to end or choose another --out.") from exc


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _digest_json(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=json_value).encode()).hexdigest()


class OutputDir:
    """Write a run's outputs into ``.<out>.partial`` and rename it to ``out`` when complete.

    ``summary.json`` is written last by :meth:`finish`, so a directory named ``out`` is always a
    finished run. The work is done in named stages (:meth:`stage`): the staging directory records in
    ``.stages/`` which stages finished, with which parameters, and their results. When a run stops
    (error, Ctrl-C, kill) after a stage has started, the staging directory is kept (still hidden, so
    never taken for a finished run), and ``OutputDir(out, resume=True)`` continues it: a stage that
    finished with the same parameters after the same upstream stages is not run again. A run that
    stops before any stage started leaves nothing.

    Parameters
    ----------
    out : str or Path
    force : bool
        Replace ``out`` if it exists; discard an unfinished run of ``out`` unless ``resume``.
    resume : bool
        Continue the unfinished run of ``out`` if there is one (else start afresh).
    identity : dict, optional
        What every stage depends on besides its parameters (model, sequences, version): resuming a
        run made with another identity is refused.
    """

    def __init__(self, out, force: bool = False, resume: bool = False, identity: dict | None = None):
        self.final = Path(out)
        if self.final.exists() and not force:
            raise InputError(f"output directory {self.final} exists; choose another --out or pass --force to replace it.")
        parent = self.final.parent if str(self.final.parent) else Path(".")
        if not parent.exists():
            try:
                parent.mkdir(parents=True)
            except OSError as exc:  # e.g. a path component is a file
                raise InputError(f"cannot create {parent} ({exc.strerror}); choose a writable --out.") from exc
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise InputError(f"cannot write to {parent}; choose a writable --out.")
        self.force, self.resume = force, resume
        self.identity = json.loads(json.dumps(identity or {}, default=json_value))
        self.path = partial_path(self.final)
        self.timings: dict[str, float] = {}
        self.resumed: list[str] = []
        self._order: list[str] = []
        self._stages: dict[str, dict] = {}
        existing = self.path.exists()
        if existing and not (resume or force):
            raise InputError(f"an unfinished run of {self.final} is kept in {self.path}; pass --resume to continue it "
                             "or --force to start over.")
        try:
            self.path.mkdir(exist_ok=True)
            self._fd = os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            raise InputError(f"cannot write to {parent} ({exc.strerror}); choose a writable --out.") from exc
        _lock(self._fd, self.final)
        if existing and resume:
            self._load(identity is not None)
        elif existing:  # --force: start over
            self._clear()

    def _clear(self) -> None:
        for child in self.path.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()

    @property
    def _dir(self) -> Path:
        return self.path / ".stages"

    def _load(self, check_identity: bool) -> None:
        journal = self._dir / "journal.json"
        if not journal.exists():
            return
        saved = read_json(journal)
        if check_identity and saved.get("identity") != self.identity:
            if self.force:  # --resume --force: continue a run of these inputs, else start over
                self._clear()
                return
            self._unlock()
            raise InputError(f"the unfinished run in {self.path} was made from another model, other sequences or "
                             "another interpret version; pass --force instead of --resume to start over.")
        self._stages = saved.get("stages", {})

    def _save(self) -> None:
        self._dir.mkdir(exist_ok=True)
        _atomic_write(self._dir / "journal.json",
                      json.dumps({"identity": self.identity, "stages": self._stages}, indent=1,
                                 default=json_value).encode())

    def stage(self, name: str, params: dict, fn, after=None):
        """Run ``fn()`` as stage ``name``, or, resuming, return its result from the interrupted run.

        Parameters
        ----------
        name : str
        params : dict
            JSON values the stage's result depends on (its options).
        fn : callable
            Runs the stage, writing its files into this directory, and returns its result
            (picklable; it is kept for a resumed run).
        after : iterable of str, optional
            Stages whose results ``fn`` uses; default: every stage entered before this one. A
            stage runs again when one of these ran with other parameters.

        Returns
        -------
        What ``fn`` returned. ``timings[name]`` holds its seconds (from the first run, if resumed).
        """
        deps = list(self._order) if after is None else list(after)
        key = _digest_json({"params": params, "after": [self._stages.get(d, {}).get("key") for d in deps]})
        self._order.append(name)
        rec = self._stages.get(name, {})
        saved = self._dir / f"{name}.pkl"
        if self.resume and rec.get("done") and rec.get("key") == key and saved.exists():
            logger.info("%s: finished in the interrupted run, reused", name)
            self.resumed.append(name)
            self.timings[name] = rec.get("seconds", 0.0)
            return pickle.loads(saved.read_bytes())
        if self.resume and rec:
            logger.info("%s: %s, running it again", name,
                        "unfinished" if rec.get("key") == key else "other parameters or inputs than the interrupted run")
        self._stages[name] = {"key": key, "params": params, "done": False}
        self._save()
        t = time.perf_counter()
        result = fn()
        self.timings[name] = time.perf_counter() - t
        _atomic_write(saved, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        self._stages[name] = {"key": key, "params": params, "done": True, "seconds": self.timings[name]}
        self._save()
        return result

    def __truediv__(self, name) -> Path:
        return self.path / name

    def finish(self, summary: dict) -> Path:
        """Drop the resume records, write ``summary.json`` last and move the directory into place."""
        shutil.rmtree(self._dir, ignore_errors=True)
        write_json(self.path / "summary.json", summary)
        if self.final.exists():
            if not self.force:
                raise InputError(f"output directory {self.final} appeared while running; pass --force to replace it.")
            shutil.rmtree(self.final)
        os.replace(self.path, self.final)
        self._unlock()
        return self.final

    def _unlock(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def abort(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self._unlock()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            # Keep what a resumed run can use: any stage started here or in a nested run.
            if any(self.path.rglob("journal.json")):
                logger.debug("unfinished run kept in %s", self.path)
                self._unlock()
            else:
                self.abort()
        return False
