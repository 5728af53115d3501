"""Re-execute the course's notebooks in place with papermill and report what failed and where.

Usage: python tools/run_notebooks.py [--profile {quick,cpu,gpu,colab,auto}] [--timeout S] [NOTEBOOK ...]

The stored outputs show the ``cpu`` profile unless --profile says otherwise (``auto``: each notebook
picks from the device, gpu on CUDA). Every run starts from scratch: ``resume = False``, so no stored
output comes from a checkpoint of older code. Headless kernels show static figures instead of
widgets, and every cell has an execution timeout, so a run never hangs. A notebook is overwritten
only when it ran clean, so a failure never leaves a stored error behind. Exit code 1 if any failed.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("notebooks", "solutions")
# The dataset root as given (relative to the folder this script starts in), resolved once: each
# notebook's kernel gets it relative to its own folder.
DATA_ROOT = (Path(os.environ["GANCOURSE_DATA"]).expanduser().resolve()
             if os.environ.get("GANCOURSE_DATA") else None)


def settle_carriage_returns(text: str) -> str:
    """What a terminal would show: each line keeps only what its last carriage return left, so a
    stored progress bar reads as it finished, not as every redraw."""
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))


def tidy_streams(cell) -> None:
    """Join a cell's consecutive stream outputs of the same name, and all its stderr (where progress
    bars draw, around any figure they update) into its last stderr output; then settle carriage
    returns as a terminal would show them."""
    outputs = []
    for output in cell.get("outputs", []):
        if (output.get("output_type") == "stream" and outputs and outputs[-1].get("output_type") == "stream"
                and outputs[-1]["name"] == output["name"]):
            outputs[-1]["text"] += output["text"]
        else:
            outputs.append(output)
    stderr = [o for o in outputs if o.get("output_type") == "stream" and o["name"] == "stderr"]
    if len(stderr) > 1:
        stderr[-1]["text"] = "".join(o["text"] for o in stderr)
        outputs = [o for o in outputs if not any(o is e for e in stderr[:-1])]
    for output in outputs:
        if output.get("output_type") == "stream":
            output["text"] = settle_carriage_returns(output["text"])
    if "outputs" in cell:
        cell["outputs"] = outputs


def run(path: Path, profile: str | None, timeout: int) -> tuple[float, str | None]:
    """Execute one notebook; returns (seconds, None) or (seconds, where and what failed)."""
    declared = papermill.inspect_notebook(str(path))
    parameters = {"profile": profile} if profile else {}
    if "resume" in declared:
        parameters["resume"] = False
    if DATA_ROOT is not None:  # the kernel runs in the notebook's folder: no absolute paths stored
        os.environ["GANCOURSE_DATA"] = os.path.relpath(DATA_ROOT, path.parent)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / path.name
        try:
            papermill.execute_notebook(str(path), str(out), parameters=parameters, cwd=str(path.parent),
                                       kernel_name="python3", progress_bar=False,
                                       execution_timeout=timeout)
        except papermill.PapermillExecutionError as err:
            return time.perf_counter() - start, f"cell {err.cell_index}: {err.ename}: {err.evalue}"
        except Exception as err:  # noqa: BLE001 - a kernel that dies, a missing notebook, ...
            return time.perf_counter() - start, f"{type(err).__name__}: {err}"
        nb = nbformat.read(out, as_version=4)
        # papermill's injected parameters would pin the profile for every later run (nbval included)
        nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
        for cell in nb.cells:  # timestamps only make diffs noisy
            cell.metadata.pop("papermill", None)
            cell.metadata.pop("execution", None)
            tidy_streams(cell)
        nb.metadata.pop("papermill", None)
        nb.metadata.pop("widgets", None)  # widget state of earlier runs: no stored output shows a widget
        nbformat.write(nb, path)
    return time.perf_counter() - start, None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("quick", "cpu", "gpu", "colab", "auto"), default="cpu",
                        help="the profile every notebook runs (default cpu; auto: by device)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds one cell may run (default 1800)")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/ and solutions/")
    args = parser.parse_args()
    os.environ["GANCOURSE_NO_WIDGETS"] = "1"  # kernels inherit it: no widget waits for a front end
    paths = args.notebooks or sorted(p for f in FOLDERS for p in (ROOT / f).glob("*.ipynb"))
    failures = 0
    print(f"{'notebook':<45} {'seconds':>8}  result")
    for path in paths:
        seconds, problem = run(path.resolve(), None if args.profile == "auto" else args.profile, args.timeout)
        failures += problem is not None
        name = path.resolve().relative_to(ROOT).as_posix()
        print(f"{name:<45} {seconds:>8.1f}  {'ok' if problem is None else 'FAILED at ' + problem}",
              flush=True)
    print(f"{len(paths) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
