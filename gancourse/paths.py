"""Where the course keeps its files: the default data root, the cache, and the shipped sample.

Run from a checkout of the project (the package's parent folder holds its pyproject.toml and data/),
datasets go to the project's ``data/`` and caches to ``data/cache/``, as before. Installed from a
wheel, the package never writes beside itself in site-packages: datasets go to the user's data
folder and caches to the user's cache folder (platformdirs: ``~/.local/share/gancourse`` and
``~/.cache/gancourse`` on Linux). ``$GANCOURSE_DATA`` overrides the data root either way
(:func:`gancourse.data.resolve_root`). The small sample ships inside the package, read through
:mod:`importlib.resources`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

if TYPE_CHECKING:
    from importlib.abc import Traversable

APP = "gancourse"


@dataclass(frozen=True)
class Locations:
    """The default folders for one location of the package."""

    checkout: Path | None  # the project folder when running from a checkout, else None
    data_root: Path  # where datasets are downloaded when neither a root nor $GANCOURSE_DATA is given
    data_origin: str  # the data root in words, for messages
    cache_dir: Path  # trained classifiers, built pix2pix pairs


def find_checkout(package_dir: Path) -> Path | None:
    """The project folder if ``package_dir`` sits in a checkout of gancourse, else None."""
    project = package_dir.parent
    pyproject = project / "pyproject.toml"
    if not (pyproject.is_file() and (project / "data").is_dir()):
        return None
    return project if 'name = "gancourse"' in pyproject.read_text(encoding="utf-8") else None


def locations(package_dir: Path) -> Locations:
    """The default data root and cache folder for a package at ``package_dir``."""
    checkout = find_checkout(package_dir)
    if checkout is not None:
        data = checkout / "data"
        return Locations(checkout, data, "the project's data/ folder", data / "cache")
    return Locations(None, platformdirs.user_data_path(APP, appauthor=False), "the user data folder",
                     platformdirs.user_cache_path(APP, appauthor=False))


HERE = locations(Path(__file__).resolve().parent)
CHECKOUT, DATA_ROOT, DATA_ORIGIN, CACHE_DIR = (HERE.checkout, HERE.data_root, HERE.data_origin,
                                              HERE.cache_dir)
SAMPLE_DIR: Traversable = files(__package__) / "sample"  # mnist.npz, fashion-mnist.npz


def display_path(path: Path | Traversable, checkout: Path | None = CHECKOUT) -> str:
    """A path as a reader should see it: relative inside a checkout, ``~/...`` under the home folder.

    Stored notebook outputs then never show the machine's absolute paths.
    """
    text = str(path)
    for base, shown in ((checkout, ""), (Path.home(), "~/")):
        if base is None:
            continue
        try:
            return shown + str(Path(os.path.abspath(text)).relative_to(base))  # abspath folds "..": no "notebooks/../.."
        except ValueError:
            pass
    return text
