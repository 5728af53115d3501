"""The two dependency lists (pip and conda) agree, torch is never pinned exactly, licences ship."""
import re
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib  # the dev extra installs it on Python 3.10

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}  # PyPI name -> conda-forge name


def _split(requirement: str) -> tuple[str, str]:
    """A requirement's name and version spec, without its environment marker."""
    name, spec = re.match(r"([A-Za-z0-9_.-]+)\s*([^;]*)", requirement).groups()
    return name.lower(), spec.replace(" ", "")


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pip = dict(_split(r) for r in project["dependencies"] + extras["dev"] + extras["lab"])
    conda_env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(_split(d) for d in conda_env["dependencies"] if isinstance(d, str))
    conda.pop("python"), conda.pop("pip")
    assert {CONDA_NAMES.get(k, k): v for k, v in pip.items()} == conda
    pip_section = next(d["pip"] for d in conda_env["dependencies"] if isinstance(d, dict))
    assert pip_section == ["-e ."]
    assert "conda-forge" in conda_env["channels"]


def test_torch_has_floor_pins_only():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name, spec = _split(requirement)
        if name in ("torch", "torchvision"):
            assert spec.startswith(">=") and "," not in spec and "==" not in spec


def test_the_licences_exist_and_pyproject_names_them():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"].startswith("MIT") and project["license-files"] == ["LICENSE", "LICENSE-CONTENT"]
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    content = (ROOT / "LICENSE-CONTENT").read_text()
    assert "CC BY 4.0" in content and "https://creativecommons.org/licenses/by/4.0/" in content
    readme = (ROOT / "README.md").read_text()
    assert "## Licences" in readme and "[LICENSE](LICENSE)" in readme and "[LICENSE-CONTENT](LICENSE-CONTENT)" in readme
    assert project["authors"] and any("Python :: 3.10" in c for c in project["classifiers"])
