"""The notebook machinery: generated exercises, Colab headers, parameters, stored outputs."""
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib  # the dev extra installs it on Python 3.10

ROOT = Path(__file__).resolve().parents[1]
SLUG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["gancourse"]["github_slug"]
LECTURES = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))
ALL = LECTURES + SOLUTIONS + EXERCISES


def test_the_course_has_its_notebooks():
    assert [p.name for p in LECTURES][:2] == ["01_vanilla_gan.ipynb", "02_gradient_saturation.ipynb"]
    assert [p.name for p in SOLUTIONS] == [p.name for p in EXERCISES]
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", p.name) for p in ALL)


def test_exercises_are_generated_from_solutions():
    out = subprocess.run([sys.executable, "tools/make_exercises.py", "--check"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.name)
def test_exercises_hide_every_solution(path):
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "BEGIN SOLUTION" not in code and "END SOLUTION" not in code
    stubs = re.findall(r'raise NotImplementedError\("(Exercise \d+\.\d+): [^"]+"\)', code)
    assert stubs and stubs[0].endswith(".1")
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.name)
def test_an_untouched_exercise_stops_at_its_first_exercise(path):
    nb = nbformat.read(path, as_version=4)
    number = path.name[:2].lstrip("0")
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with pytest.raises(CellExecutionError) as info:
        client.execute()
    assert "NotImplementedError" in str(info.value)
    assert f"Exercise {number}.1:" in str(info.value)
    errors = [i for i, c in enumerate(nb.cells) for o in c.get("outputs", []) if o.output_type == "error"]
    first_check = next(i for i, c in enumerate(nb.cells) if "check_" in c.source and "import" not in c.source)
    assert errors == [first_check]
    assert "[FAIL]" in "".join(o.get("text", "") for o in nb.cells[first_check].outputs)


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_colab_badge_install_cell_and_parameters(path):
    nb = nbformat.read(path, as_version=4)
    relpath = path.relative_to(ROOT).as_posix()
    url = f"https://colab.research.google.com/github/{SLUG}/blob/main/{relpath}"
    assert nb.cells[0].cell_type == "markdown" and f"]({url})" in nb.cells[0].source
    install = nb.cells[1].source
    assert nb.cells[1].cell_type == "code" and '"google.colab" in sys.modules' in install
    assert f'slug = "{SLUG}"' in install and install.count(SLUG) == 1  # the slug, defined once
    assert '%pip install --quiet "gancourse @ git+https://github.com/{slug}"' in install
    assert "raise RuntimeError(" in install and not nb.cells[1].outputs
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "profile = None" in params[0].source


_RUN_INSTALL_CELL = """
import json, sys, types
from IPython.core.interactiveshell import InteractiveShell

source, report, calls = sys.stdin.read(), {}, []
shell = InteractiveShell.instance()
shell.register_magic_function(calls.append, "line", "pip")  # records the line IPython expanded
report["elsewhere"] = [shell.run_cell(source).success, list(calls)]
sys.modules["google.colab"] = types.ModuleType("google.colab")
sys.modules["gancourse"] = types.ModuleType("gancourse")  # as if pip had installed it
report["colab"] = [shell.run_cell(source).success, list(calls)]
sys.modules["gancourse"] = None  # as if pip had failed: the import raises ImportError
result = shell.run_cell(source)
report["colab_failed"] = [result.success, repr(result.error_in_exec)]
print(json.dumps(report))
"""


def test_the_install_cell_installs_on_colab_fails_loudly_and_does_nothing_elsewhere():
    sources = {nbformat.read(p, as_version=4).cells[1].source for p in ALL}
    assert len(sources) == 1, "every notebook has the same install cell"
    out = subprocess.run([sys.executable, "-c", _RUN_INSTALL_CELL], input=sources.pop(),
                         capture_output=True, text=True, check=True)
    report = json.loads(out.stdout.splitlines()[-1])
    assert report["elsewhere"] == [True, []]
    assert report["colab"] == [True, [f'install --quiet "gancourse @ git+https://github.com/{SLUG}"']]
    success, error = report["colab_failed"]
    assert not success and error.startswith("RuntimeError(")
    assert f"could not install the gancourse package from https://github.com/{SLUG}" in error
    assert "pip's message above" in error


@pytest.mark.parametrize("path", LECTURES + SOLUTIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_stored_outputs_are_executed_small_and_clean(path):
    text = path.read_text()
    assert len(text) < 2_000_000, "keep stored outputs small (figure dpi, GIF size)"
    nb = nbformat.reads(text, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert all(c.execution_count for c in code[2:]), "commit notebooks executed (make figures)"
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = json.dumps([o.get("text", "") for o in outputs] + [o.get("data", {}).get("text/plain", "")
                                                               for o in outputs])
    assert not re.search(r"(/work/|/root/|/home/|/tmp/|/Users/)", printed), "absolute paths in outputs"
    # a stored widget reads as its first state (a progress bar at 0%) wherever widgets do not render
    assert not [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert "widgets" not in nb.metadata, "widget state of an earlier run that no output shows"
    assert "<!-- VERIFY" not in text, "a result sentence is still waiting to be checked against its output"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_lecture_has_three_exercises_each_with_a_check(path):
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    numbers = set(re.findall(r"### BEGIN SOLUTION (Exercise \d+\.\d+):", code))
    assert len(numbers) >= 3, numbers
    checks = [c for c in nb.cells if c.cell_type == "code" and re.match(r"(# NBVAL_CHECK_OUTPUT\n)?check_\w+\(", c.source)]
    assert len(checks) >= len(numbers)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_a_check_cell_prints_its_line_and_nothing_else(path):
    """No stray ``True`` after [PASS]: the check's result does not echo."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and re.match(r"(# NBVAL_CHECK_OUTPUT\n)?check_\w+\(", cell.source):
            assert [o.output_type for o in cell.outputs] == ["stream"], cell.source
            assert re.fullmatch(r"\[PASS\] [^\n]+\n", cell.outputs[0].text), cell.outputs[0].text
