"""Where a user's model function comes from: `module:function` (imported with the project directory on
the path, where every job runs) or `path/to/file.py:function`. Keras-free, so that the workflow can
hash the source when it builds the job graph."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path


def split(name: str) -> tuple[str, str]:
    """(module or file, function) of `module:function` / `file.py:function`; ValueError otherwise."""
    module, sep, function = name.rpartition(":")
    if not sep or not module or not function.isidentifier():
        raise ValueError(f"{name!r} is not 'module:function' or 'file.py:function'")
    return module, function


def load(module: str):
    """The module `module` (a dotted name, or a .py file relative to the working directory)."""
    if module.endswith(".py"):
        path = Path(module).resolve()
        if not path.is_file():
            raise ImportError(f"no file {path}")
        key = "robustcurves_user_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
        if key not in sys.modules:
            spec = importlib.util.spec_from_file_location(key, path)
            loaded = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(loaded)
            sys.modules[key] = loaded
        return sys.modules[key]
    _project_on_path()
    return importlib.import_module(module)


def source_digest(name: str) -> str:
    """SHA-256 of the file that defines the function `name`: a rule parameter, so that editing the
    model retrains it. ValueError when the source cannot be found."""
    module = split(name)[0]
    if module.endswith(".py"):
        path = Path(module)
    else:
        _project_on_path()
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        path = Path(spec.origin) if spec is not None and spec.origin else None
    if path is None or not path.is_file():
        raise ValueError(f"model {name!r}: cannot find the source of {module!r} (from {os.getcwd()})")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _project_on_path() -> None:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
