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


#: The file interpret writes into every directory it creates; ``--force`` replaces only a directory
#: that holds it, so a folder of the user's own is never emptied.
MARKER = ".interpret"


def partial_path(out) -> Path:
    """Where an unfinished ``out`` (a run's directory or an attributions file) is kept: ``.<name>.partial``
    beside it, hidden, so it is never taken for a finished output."""
    out = Path(out)
    return out.parent / f".{out.name}.partial"


def mark(directory: Path, kind: str) -> None:
    """Leave :data:`MARKER` in ``directory``: interpret created it and may replace it under ``--force``."""
    write_json(Path(directory) / MARKER, {"written_by": "interpret", "kind": kind})


def is_marked(directory: Path) -> bool:
    """Whether ``directory`` was created by interpret (holds :data:`MARKER`)."""
    return (Path(directory) / MARKER).is_file()


def _is_attributions_file(path: Path) -> bool:
    """Whether ``path`` is an attributions.h5 written by interpret (its index and run parameters)."""
    import h5py

    try:
        with h5py.File(path, "r", locking=False) as f:
            return "index" in f and "params" in f.attrs
    except OSError:
        return False


def _protected(path: Path) -> str | None:
    """Why ``path`` must never be replaced whatever it holds: the working directory, home, a
    filesystem root, or a folder holding one of them; ``None`` otherwise."""
    p = path.resolve()
    for what, q in (("the current directory", Path.cwd().resolve()), ("your home directory", Path.home().resolve())):
        if p == q:
            return f"it is {what}"
        if p in q.parents:
            return f"it holds {what}"
    if p.parent == p or os.path.ismount(p):
        return "it is a filesystem root"
    return None


def check_replaceable(out, force: bool = False, inputs=(), kind: str = "directory") -> None:
    """Refuse, before any work, an ``--out`` that the run could not write or must not replace, or
    that another interpret process is writing (it holds the lock on ``.<out>.partial``).

    Parameters
    ----------
    out : str or Path
        The output a run will create: a directory (``kind="directory"``) or a file (``kind="file"``).
    force : bool
        Replace ``out`` if it exists. Only what interpret wrote is ever replaced: a directory that
        holds :data:`MARKER`, or an attributions.h5 that interpret wrote; never the working
        directory, home, a filesystem root, or a folder or file that holds one of the run's inputs.
    inputs : iterable of str or Path
        The run's own input files (model, data, genome, motif database, ...).
    kind : {"directory", "file"}
    """
    out = Path(out)
    why = _protected(out)
    if why:
        raise InputError(f"--out {out} would replace a folder that is not interpret's output ({why}); "
                         "choose a new folder for --out.")
    resolved = out.resolve()
    for item in inputs:
        if item is None:
            continue
        q = Path(item).resolve()
        if q == resolved or resolved in q.parents:
            raise InputError(f"--out {out} holds this run's input {item}; choose another --out.")
    partial = partial_path(out)
    if partial.exists() and not (is_marked(partial) if kind == "directory" else _is_attributions_file(partial)):
        raise InputError(f"{partial} exists and was not written by interpret; move it away or choose another --out.")
    if partial.exists():
        check_unlocked(partial, out)
    if not out.exists() and not out.is_symlink():
        return
    if kind == "directory" and not out.is_dir():
        raise InputError(f"--out {out} is a file; a run writes a directory: choose another --out.")
    if kind == "file" and out.is_dir():
        raise InputError(f"--out {out} is a directory; `interpret attribute` writes one file: give a file name, "
                         "e.g. --out attributions.h5.")
    if not force:
        what = "output directory" if kind == "directory" else "output file"
        raise InputError(f"{what} {out} exists; choose another --out or pass --force to replace it.")
    if kind == "directory" and not is_marked(out):
        raise InputError(f"--force replaces only a directory written by interpret, and {out} is not one "
                         f"(no {MARKER} file in it); remove it yourself or choose another --out.")
    if kind == "file" and not _is_attributions_file(out):
        raise InputError(f"--force replaces only an attributions file written by interpret, and {out} is not one; "
                         "remove it yourself or choose another --out.")


def finished(out, kind: str = "directory") -> bool:
    """Whether ``out`` is a finished output of interpret with no unfinished run beside it, so that
    ``--resume`` has nothing to do: a run directory with its ``summary.json`` (``kind="directory"``)
    or an attributions file (``kind="file"``)."""
    out = Path(out)
    if partial_path(out).exists() or out.is_symlink():
        return False
    if kind == "file":
        return out.is_file() and _is_attributions_file(out)
    return out.is_dir() and is_marked(out) and (out / "summary.json").is_file()


def check_unlocked(path: Path, what) -> None:
    """:class:`InputError` if another process holds the lock on ``path`` (it is writing ``what``)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # gone meanwhile, or unreadable: the caller's own checks say what is wrong
    try:
        _lock(fd, what)
    finally:
        os.close(fd)


def _lock(fd: int, what) -> None:
    """Exclusive lock on ``fd`` for this process's lifetime (released when it closes or the process dies)."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
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
        Replace ``out`` if it exists and interpret wrote it (see :func:`check_replaceable`); discard
        an unfinished run of ``out`` unless ``resume``.
    resume : bool
        Continue the unfinished run of ``out`` if there is one (else start afresh).
    identity : dict, optional
        What every stage depends on besides its parameters (model, sequences, version): resuming a
        run made with another identity is refused.
    inputs : iterable of str or Path
        The run's input files: an ``out`` that holds one is refused.
    """

    def __init__(self, out, force: bool = False, resume: bool = False, identity: dict | None = None,
                 inputs=()):
        self.final = Path(out)
        check_replaceable(self.final, force, inputs)
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
        self._fd = None
        try:
            existing = not self._create(parent)
            if existing:  # locked first: a run another process is writing is named as such
                self._fd = os.open(self.path, os.O_RDONLY)
                _lock(self._fd, self.final)
        except OSError as exc:
            self._unlock()
            raise InputError(f"cannot write to {parent} ({exc.strerror}); choose a writable --out.") from exc
        except InputError:
            self._unlock()
            raise
        if existing and not (resume or force):
            self._unlock()
            raise InputError(f"an unfinished run of {self.final} is kept in {self.path}; pass --resume to continue it "
                             "or --force to start over.")
        if existing and resume:
            self._load(identity is not None)
        elif existing:  # --force: start over
            self._clear()

    def _create(self, parent: Path) -> bool:
        """Create the staging directory, marked and locked before it takes its name, so that no
        other process ever sees it unlocked; ``False`` if it exists already (another run's)."""
        if self.path.exists():
            return False
        tmp = parent / f"{self.path.name}.new-{os.getpid()}"
        tmp.mkdir()
        try:
            mark(tmp, "run")
            self._fd = os.open(tmp, os.O_RDONLY)
            _lock(self._fd, self.final)
            os.rename(tmp, self.path)  # fails if another process created it meanwhile (it is never empty)
        except OSError:
            self._unlock()
            shutil.rmtree(tmp, ignore_errors=True)
            if self.path.exists():
                return False
            raise
        return True

    def _clear(self) -> None:
        for child in self.path.iterdir():
            if child.name != MARKER:
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

    def scratch(self, name: str) -> Path:
        """A directory for a stage's partial work (``.stages/<name>``): kept when the run stops, so
        the stage can resume from it; removed by :meth:`finish` with the other resume records."""
        return self._dir / name

    def finish(self, summary: dict) -> Path:
        """Drop the resume records, write ``summary.json`` last and move the directory into place."""
        shutil.rmtree(self._dir, ignore_errors=True)
        write_json(self.path / "summary.json", summary)
        old = None
        if self.final.exists() or self.final.is_symlink():
            if not (self.force and self.final.is_dir() and is_marked(self.final) and not self.final.is_symlink()):
                raise InputError(f"{self.final} appeared while this run was writing; the finished run is kept in "
                                 f"{self.path}: move it into place yourself.")
            # Moved aside first and deleted last: at no moment is neither run on disk.
            old = self.final.with_name(f".{self.final.name}.replaced-{os.getpid()}")
            os.replace(self.final, old)
        os.replace(self.path, self.final)
        self._unlock()
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
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
            # Keep what a resumed run can use: after an interruption any stage started (here or in
            # a nested run), after an error only finished work; a staging directory with nothing to
            # reuse would only block the corrected command.
            interrupted = issubclass(exc_type, KeyboardInterrupt)
            if any(self.path.rglob("journal.json")) if interrupted else self.has_progress():
                logger.debug("unfinished run kept in %s", self.path)
                self._unlock()
            else:
                self.abort()
        return False

    def has_progress(self) -> bool:
        """Whether the staging directory holds work a resumed run reuses: a finished stage, here or
        in a nested run, or attribution shards already committed."""
        from .store import read_progress

        for journal in self.path.rglob("journal.json"):
            try:
                if any(r.get("done") for r in read_json(journal).get("stages", {}).values()):
                    return True
            except (OSError, ValueError):
                continue
        for store in self.path.rglob("attributions.h5"):
            try:
                if read_progress(store)[0]:
                    return True
            except (OSError, KeyError):
                continue
        return False
