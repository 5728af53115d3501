"""Re-execute the course's notebooks in place with papermill and report what failed and where.

Usage: python tools/run_notebooks.py [--profile {quick,cpu,gpu}] [NOTEBOOK ...]

Without --profile each notebook picks its profile from the device (gpu on CUDA, else cpu), as a
student's run would. A notebook is overwritten only when it ran clean, so a failure never leaves a
stored error behind. Exit code 1 if any notebook failed.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("notebooks", "solutions")


def run(path: Path, profile: str | None) -> tuple[float, str | None]:
    """Execute one notebook; returns (seconds, None) or (seconds, where and what failed)."""
    parameters = {"profile": profile} if profile else {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / path.name
        try:
            papermill.execute_notebook(str(path), str(out), parameters=parameters, cwd=str(path.parent),
                                       kernel_name="python3", progress_bar=False)
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
        nb.metadata.pop("papermill", None)
        nbformat.write(nb, path)
    return time.perf_counter() - start, None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("quick", "cpu", "gpu"), help="default: by device")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/ and solutions/")
    args = parser.parse_args()
    paths = args.notebooks or sorted(p for f in FOLDERS for p in (ROOT / f).glob("*.ipynb"))
    failures = 0
    print(f"{'notebook':<45} {'seconds':>8}  result")
    for path in paths:
        seconds, problem = run(path.resolve(), args.profile)
        failures += problem is not None
        name = path.resolve().relative_to(ROOT).as_posix()
        print(f"{name:<45} {seconds:>8.1f}  {'ok' if problem is None else 'FAILED at ' + problem}",
              flush=True)
    print(f"{len(paths) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
