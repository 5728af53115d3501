"""Where files go: a checkout keeps data/ and data/cache/; an installed wheel uses the user's folders."""
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gancourse import data, paths

ROOT = Path(__file__).resolve().parents[1]


def test_a_checkout_keeps_its_data_folder():
    here = paths.locations(ROOT / "gancourse")
    assert here.checkout == ROOT
    assert (here.data_root, here.cache_dir) == (ROOT / "data", ROOT / "data" / "cache")
    assert paths.display_path(ROOT / "data" / "MNIST") == os.path.join("data", "MNIST")


def test_an_installed_package_uses_the_user_folders(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    site = tmp_path / "site-packages"
    (site / "gancourse").mkdir(parents=True)
    installed = paths.locations(site / "gancourse")
    assert installed.checkout is None and installed.data_origin == "the user data folder"
    if sys.platform.startswith("linux"):  # platformdirs follows the XDG variables there
        assert installed.data_root == tmp_path / "xdg-data" / "gancourse"
        assert installed.cache_dir == tmp_path / "xdg-cache" / "gancourse"
    assert site not in installed.data_root.parents and site not in installed.cache_dir.parents
    assert not installed.data_root.exists()  # nothing is created until something is written


def test_another_project_beside_the_package_is_not_a_checkout(tmp_path):
    (tmp_path / "gancourse").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "someone-else"\n')
    assert paths.find_checkout(tmp_path / "gancourse") is None


def test_the_default_root_follows_the_location_and_the_variable_overrides_it(monkeypatch, tmp_path):
    monkeypatch.delenv("GANCOURSE_DATA", raising=False)
    monkeypatch.setattr(data, "DATA_ROOT", tmp_path / "user-data")
    monkeypatch.setattr(data, "DATA_ORIGIN", "the user data folder")
    assert data.resolve_root() == (tmp_path / "user-data", "the user data folder")
    monkeypatch.setenv("GANCOURSE_DATA", str(tmp_path / "env"))
    assert data.resolve_root() == (tmp_path / "env", "GANCOURSE_DATA")


def test_display_path_is_relative_inside_a_checkout_and_short_under_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert paths.display_path(tmp_path / "project" / "data", checkout=tmp_path / "project") == "data"
    assert paths.display_path(tmp_path / "home" / ".local" / "x", checkout=None) == "~/.local/x"
    assert paths.display_path(tmp_path / "elsewhere", checkout=None) == str(tmp_path / "elsewhere")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project built as a wheel from a copy of its sources (no network: no build isolation)."""
    pytest.importorskip("setuptools", minversion="77")
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel")
    for name in ("pyproject.toml", "README.md", "LICENSE", "LICENSE-CONTENT"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "gancourse", src / "gancourse", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "-w", str(out), str(src)], check=True, capture_output=True)
    return next(out.glob("gancourse-*.whl"))


def test_the_wheel_ships_the_sample_and_the_licences(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("mnist.npz", "fashion-mnist.npz", "README.md"):
        assert f"gancourse/sample/{name}" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert any(n.endswith(".dist-info/licenses/LICENSE-CONTENT") for n in names)
    assert not [n for n in names if n.startswith(("data/", "tests/", "notebooks/"))]


def test_an_installed_wheel_trains_from_an_empty_folder_offline(wheel, tmp_path):
    site, home, work = tmp_path / "site", tmp_path / "home", tmp_path / "empty"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(site), str(wheel)], check=True, capture_output=True)
    home.mkdir()
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("GANCOURSE_DATA", "XDG_DATA_HOME", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), PYTHONPATH=str(site), GANCOURSE_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1")
    before = sorted(site.rglob("*"))
    where = subprocess.run([sys.executable, "-c", "import gancourse.paths as p; print(p.__file__); print(p.HERE)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site)) and "checkout=None" in where
    out = subprocess.run([sys.executable, "-m", "gancourse", "train", "mlp-gan", "--dataset", "mnist",
                          "--profile", "quick", "--out", "run"], cwd=work, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "(from the user data folder) and this machine is offline" in out.stderr
    assert "Using the small sample shipped in" in out.stderr
    assert (work / "run" / "checkpoint.pt").is_file()
    assert sorted(site.rglob("*")) == before  # nothing written into the installed package


def test_a_relative_path_that_leaves_the_checkout_is_shown_as_given(monkeypatch, tmp_path):
    (tmp_path / "project" / "notebooks").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "project" / "notebooks")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    shown = paths.display_path(Path("../../shared/data"), checkout=tmp_path / "project")
    assert shown == os.path.join("..", "..", "shared", "data")  # not notebooks/../../shared/data
