"""Models: ``.h5``, ``.keras`` and SavedModel files, custom layers from a ``.py`` file."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from ..model import Model


def load_model(path, custom_objects=None) -> Model:
    """Load a Keras model (``.h5``, ``.keras`` or SavedModel directory) without compiling it.

    Parameters
    ----------
    path : str, Path or keras.Model
        A model file, or a model already loaded in Python (wrapped as it is).
    custom_objects : str, Path or dict, optional
        The model's custom layers and functions: a Python file that defines them (and
        registers them with ``@keras.saving.register_keras_serializable()``), or a dict
        ``{name: class or function}`` as ``keras.models.load_model`` takes.

    Returns
    -------
    Model
        With its input layout, length, outputs and final activation detected.
    """
    import keras

    if isinstance(path, keras.Model):
        return Model.from_keras(path)
    path = Path(path)
    if not path.exists():
        raise InputError(f"model file {path} does not exist; give the path of a .h5, .keras or SavedModel directory.")
    objects = load_custom_objects(custom_objects)
    try:
        if path.is_dir():
            keras_model = _load_savedmodel(path)
        else:
            keras_model = keras.models.load_model(path, compile=False, custom_objects=objects)
    except InputError:
        raise
    except Exception as exc:  # Keras raises many types for corrupt or foreign files
        unknown = _unknown_object(str(exc))
        if "Lambda" in str(exc) and "safe_mode" in str(exc):
            raise InputError(
                f"{path} has a Lambda layer, whose Python code Keras does not load from a file (it could run "
                "anything); replace the Lambda with a custom layer class and pass --custom-objects FILE.py, or, if "
                "you trust the file, load it in Python with keras.models.load_model(path, safe_mode=False) and pass "
                "that model to interpret.run."
            ) from exc
        if unknown:
            given = f" ({custom_objects} does not define it)" if custom_objects is not None else ""
            raise InputError(
                f"{path} uses {unknown!r}, which Keras does not know{given}: a custom layer or function? Pass "
                "--custom-objects FILE.py, a Python file that defines it with "
                "@keras.saving.register_keras_serializable() (Python: load_model(path, custom_objects=...))."
            ) from exc
        first = _first_sentence(str(exc)) or type(exc).__name__
        raise InputError(
            f"{path} is not a Keras model this Keras can load ({first}); save it with "
            "model.save('model.keras') or model.save('model.h5'), and pass --custom-objects FILE.py if it "
            "has custom layers."
        ) from exc
    return Model.from_keras(keras_model, str(path))


# What Keras 3 says when a saved model names a class or function it has no registration for.
_UNKNOWN_PATTERNS = (
    re.compile(r"Could not locate (?:class|function) '([^']+)'"),
    re.compile(r"Unknown (?:layer|object|activation|function|class)[^']*'([^']+)'"),
)


def _first_sentence(message: str, limit: int = 200) -> str:
    """The first sentence of ``message``, cut at a word and marked when longer than ``limit``."""
    text = " ".join(message.split())
    text = text.split(". ")[0].rstrip(".")
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


def _unknown_object(message: str) -> str | None:
    for pattern in _UNKNOWN_PATTERNS:
        m = pattern.search(message)
        if m:
            return m.group(1)
    return None


def load_custom_objects(source) -> dict | None:
    """Custom Keras objects from a Python file (imported, so its registrations run) or a dict.

    Parameters
    ----------
    source : str, Path, dict or None

    Returns
    -------
    dict or None
        ``{name: object}`` for every class and function the file defines (Keras also finds the
        ones it registered), or the dict given.
    """
    if source is None or isinstance(source, dict):
        return source
    import importlib.util
    import sys

    path = Path(source)
    if not path.is_file() or path.suffix != ".py":
        raise InputError(f"--custom-objects {path}: give an existing Python file (.py) that defines the model's "
                         "custom layers.")
    name = f"interpret_custom_objects_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # Keras and pickling (Dask workers) look classes up by module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise InputError(f"--custom-objects {path} fails on import ({type(exc).__name__}: {exc}); fix that file.") from exc
    return {k: v for k, v in vars(module).items()
            if callable(v) and getattr(v, "__module__", None) == name and not k.startswith("_")}


def _load_savedmodel(path: Path):
    import keras

    if not (path / "saved_model.pb").exists():
        raise InputError(f"{path} is a directory but not a SavedModel (no saved_model.pb); give a .h5 or .keras file.")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception:
        # Keras 3 no longer loads SavedModels as models; wrap the serving function instead.
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))
        fn = loaded.signatures.get("serving_default")
        if fn is None:
            raise InputError(f"SavedModel {path} has no serving_default signature; re-export it with model.export().")
        (name, spec), = fn.structured_input_signature[1].items()
        inp = keras.Input(tuple(spec.shape[1:]), name=name)
        out = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")(inp)
        if isinstance(out, dict):
            out = list(out.values())[0]
        return keras.Model(inp, out)
