"""Code shape of the project's own packages: function lengths and imports inside functions.

Usage: python tools/code_shape.py [--json] [--over LINES] [PACKAGE ...]

Reads the packages' sources (migrations excluded) and prints the number of functions,
the median and 90th percentile of their lengths in lines (``def`` to last line, as the
syntax tree reports them), the functions longer than ``--over`` lines (60 by default),
and the imports placed inside functions that name one of the packages' own modules.
``--json`` prints the same as one JSON object. It always exits 0: it reports, the
reader judges (the targets are median <= 10, p90 <= 25, none over 60, no inner imports).
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PACKAGES = ("shop", "recommender", "config")
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
IMPORTS = (ast.Import, ast.ImportFrom)


@dataclass(frozen=True)
class Function:
    path: Path
    line: int
    name: str
    length: int


def package_modules(root: Path, packages: list[str]) -> dict[str, Path]:
    """Dotted module name -> source file, for every module of the packages."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def functions_of(path: Path, tree: ast.AST) -> list[Function]:
    return [
        Function(path, node.lineno, node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, FUNCTIONS)
    ]


def imported_names(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The dotted names an import statement may refer to (relative imports resolved)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[: len(parts) - node.level + 1]
        base = ".".join([*parts, base] if base else parts)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def owning_module(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def inner_imports_of(module: str, tree: ast.AST, modules: dict[str, Path]) -> list[str]:
    """``module:line`` of each import inside a function that names another own module."""
    is_package = modules[module].name == "__init__.py"
    inner = {
        node.lineno: node
        for function in ast.walk(tree)
        if isinstance(function, FUNCTIONS)
        for node in ast.walk(function)
        if isinstance(node, IMPORTS)
    }
    found = []
    for line, node in sorted(inner.items()):
        names = imported_names(module, is_package, node)
        if {owning_module(name, modules) for name in names} - {None, module}:
            found.append(f"{module}:{line}")
    return found


def code_shape(root: Path, packages: list[str], over: int) -> dict:
    modules = package_modules(root, packages)
    functions, inner = [], []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        functions += functions_of(path.relative_to(root), tree)
        inner += inner_imports_of(module, tree, modules)
    lengths = sorted(function.length for function in functions)
    long_ones = sorted((f for f in functions if f.length > over), key=lambda f: -f.length)
    return {
        "packages": packages,
        "functions": len(lengths),
        "median": statistics.median(lengths) if lengths else 0,
        "p90": statistics.quantiles(lengths, n=10)[-1] if len(lengths) > 1 else 0,
        f"over_{over}": [f"{f.length} {f.path}:{f.line}:{f.name}" for f in long_ones],
        "inner_imports": len(inner),
        "inner": inner,
    }


def print_report(shape: dict, over: int) -> None:
    print(f"functions {shape['functions']}  median {shape['median']}  p90 {shape['p90']:.1f}")
    long_ones = shape[f"over_{over}"]
    print(f"over {over} lines: {len(long_ones)}")
    for row in long_ones:
        print(f"  {row}")
    print(f"imports inside functions naming own modules: {shape['inner_imports']}")
    for where in shape["inner"]:
        print(f"  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("packages", nargs="*", default=list(DEFAULT_PACKAGES))
    parser.add_argument("--over", type=int, default=60, help="list functions longer than this")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    shape = code_shape(args.root, args.packages, args.over)
    if args.json:
        print(json.dumps(shape))
    else:
        print_report(shape, args.over)


if __name__ == "__main__":
    main()
