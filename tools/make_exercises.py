"""Generate exercises/ from solutions/, the single source of every exercise.

Each region between `### BEGIN SOLUTION <label>` and `### END SOLUTION` in a code cell becomes
`raise NotImplementedError("<label>")` at the same indentation; outputs and execution counts are
cleared, and the Colab badge is pointed at the exercise's own path.

Usage: python tools/make_exercises.py          write exercises/
       python tools/make_exercises.py --check  exit 1 if exercises/ differs from what would be written
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BEGIN = re.compile(r"^(\s*)### BEGIN SOLUTION\s*(.*)$")
END = re.compile(r"^\s*### END SOLUTION\s*$")


def strip_solutions(source: str, where: str) -> str:
    """Replace each solution region of a cell's source with a NotImplementedError stub."""
    out, inside = [], False
    for line in source.splitlines():
        begin = BEGIN.match(line)
        if begin:
            if inside or not begin.group(2):
                raise ValueError(f"{where}: nested BEGIN SOLUTION, or one without a label "
                                 f"such as '### BEGIN SOLUTION Exercise 1.1: the loss'")
            indent, label = begin.groups()
            out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError({json.dumps(label)})"]
            inside = True
        elif END.match(line):
            if not inside:
                raise ValueError(f"{where}: END SOLUTION without BEGIN SOLUTION")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: BEGIN SOLUTION without END SOLUTION")
    return "\n".join(out)


def make_exercise(solution: Path) -> nbformat.NotebookNode:
    """The exercise notebook generated from one solution notebook."""
    nb = nbformat.read(solution, as_version=4)
    regions = 0
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            regions += cell.source.count("### BEGIN SOLUTION")
            cell.source = strip_solutions(cell.source, f"{solution.name} cell {i}")
            cell.outputs, cell.execution_count = [], None
        elif cell.cell_type == "markdown":
            cell.source = cell.source.replace(f"solutions/{solution.name}", f"exercises/{solution.name}")
    if regions == 0:
        raise ValueError(f"{solution}: no '### BEGIN SOLUTION' region, so nothing to practise")
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)  # widget state of the solution's earlier runs
    return nb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args()
    stale = []
    for solution in sorted((ROOT / "solutions").glob("*.ipynb")):
        target = ROOT / "exercises" / solution.name
        text = nbformat.writes(make_exercise(solution)) + "\n"
        if args.check:
            if not target.is_file() or target.read_text() != text:
                stale.append(target.relative_to(ROOT))
        else:
            target.parent.mkdir(exist_ok=True)
            target.write_text(text)
            print(f"wrote {target.relative_to(ROOT)}")
    if stale:
        print(f"out of date (run: make exercises): {', '.join(map(str, stale))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
