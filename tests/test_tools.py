"""The notebook re-runner stores what a reader should see."""
import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / "tools" / "run_notebooks.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("run_notebooks", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_stored_progress_bar_reads_as_finished():
    settle = load_tool().settle_carriage_returns
    text = "loading\n  0%|      | 0/10\r 50%|###   | 5/10\r100%|######| 10/10\n10 steps done\n"
    assert settle(text) == "loading\n100%|######| 10/10\n10 steps done\n"
    assert settle("no bars here\n") == "no bars here\n"
    assert settle("a trailing return\r\n") == "a trailing return\n"
    assert settle("\rbar 50%\rbar 100%\r\n") == "bar 100%\n"


def test_the_progress_bar_is_plain_text_when_widgets_are_off(monkeypatch, capsys):
    from gancourse.run import progress_bar
    monkeypatch.setenv("GANCOURSE_NO_WIDGETS", "1")
    bar = progress_bar(range(3), desc="steps", mininterval=0)
    assert type(bar).__module__ == "tqdm.std"
    list(bar)
    assert "3/3" in capsys.readouterr().err


def test_consecutive_streams_are_joined_before_settling():
    cell = {"outputs": [
        {"output_type": "stream", "name": "stderr", "text": "\rbar  0%"},
        {"output_type": "stream", "name": "stderr", "text": "\rbar 50%"},
        {"output_type": "stream", "name": "stderr", "text": "\rbar 100%\n"},
        {"output_type": "stream", "name": "stdout", "text": "done\n"},
        {"output_type": "display_data", "data": {}, "metadata": {}},
        {"output_type": "stream", "name": "stdout", "text": "after\n"}]}
    load_tool().tidy_streams(cell)
    assert [o.get("text") for o in cell["outputs"]] == ["bar 100%\n", "done\n", None, "after\n"]


def test_a_progress_bar_around_a_live_figure_is_stored_once_finished():
    cell = {"outputs": [
        {"output_type": "stream", "name": "stderr", "text": "\rbar  0%"},
        {"output_type": "display_data", "data": {}, "metadata": {}},
        {"output_type": "stream", "name": "stderr", "text": "\rbar 100%\n"},
        {"output_type": "stream", "name": "stdout", "text": "done\n"}]}
    load_tool().tidy_streams(cell)
    assert [o.get("text") for o in cell["outputs"]] == [None, "bar 100%\n", "done\n"]


def test_each_notebook_finds_the_dataset_root_from_its_own_folder(tmp_path, monkeypatch):
    import nbformat
    import papermill
    data = tmp_path / "shared" / "data"
    data.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GANCOURSE_DATA", "shared/data")  # relative to where the tool starts
    tool = load_tool()
    seen = []

    def execute(path, out, cwd, **kwargs):
        import os
        seen.append((Path(cwd) / os.environ["GANCOURSE_DATA"]).resolve())
        raise RuntimeError("not executed here")

    monkeypatch.setattr(papermill, "execute_notebook", execute)
    monkeypatch.setattr(papermill, "inspect_notebook", lambda path: {})
    for where in ("notebooks", "solutions/deeper", "notebooks"):
        notebook = tmp_path / where / "lecture.ipynb"
        notebook.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbformat.v4.new_notebook(), notebook)
        tool.run(notebook, "quick", timeout=5)
    assert seen == [data.resolve()] * 3
