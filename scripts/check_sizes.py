"""Size limits of CONTRIBUTING.md: no module over 600 lines, no function over 80 lines.

The CLI's argument definitions (the ``register`` function of each benchwatch/cli/ module) are exempt: a
list of options is long without being complicated. Run: python scripts/check_sizes.py [paths]
(default: the package, the benchmarks, the scripts and the tests). Exit 1 when something is over a limit.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
EXEMPT_FUNCTIONS = {"register"}  # a CLI command module's argument definitions


def findings(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    found = []
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if lines > MAX_MODULE_LINES:
        found.append(f"{path}: module has {lines} lines (limit {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if node.name in EXEMPT_FUNCTIONS and "cli" in path.parts:
            continue
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        length = (node.end_lineno or node.lineno) - start + 1
        if length > MAX_FUNCTION_LINES:
            found.append(f"{path}:{node.lineno}: function {node.name} has {length} lines (limit {MAX_FUNCTION_LINES})")
    return found


def main(argv: list[str]) -> int:
    roots = [Path(arg) for arg in argv] or [Path(name) for name in ("benchwatch", "benchmarks", "scripts", "tests")]
    files = sorted(p for root in roots for p in ([root] if root.is_file() else root.rglob("*.py")))
    problems = [line for path in files for line in findings(path)]
    print("\n".join(problems) if problems else f"sizes ok: {len(files)} modules")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
