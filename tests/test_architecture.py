"""The import contracts of pyproject.toml ([tool.importlinter]) hold: config on top of
the apps, the shop never importing the recommender, recommender.ml free of Django, no
import cycles, and each app's layers (models <- selectors/services <- adapters)."""

import ast
import tomllib
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

import shop.api

REPO_ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = REPO_ROOT / "pyproject.toml"
CONTRACTS = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]


@pytest.mark.parametrize("contract", [c["id"] for c in CONTRACTS])
def test_the_import_contract_holds(contract):
    """On failure the captured output names each import that breaks it."""
    assert (
        lint_imports(
            config_filename=str(PYPROJECT),
            limit_to_contracts=(contract,),
            no_cache=True,
            no_logo=True,
        )
        == 0
    )


def test_the_api_never_imports_the_recommender():
    api_dir = Path(shop.api.__file__).parent
    for source in api_dir.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] == "recommender" for n in names), source
