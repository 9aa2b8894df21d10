"""The layout shows the architecture (STYLE.md rules 2 and 5): pure domain modules, floors that only look down."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOORS = ["trials", "patients", "lesions", "outcomes"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


DOMAIN_FILES = sorted(p for app in FLOORS for p in (ROOT / app / "domain").rglob("*.py"))


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_domain_modules_never_import_django(path: Path) -> None:
    assert not _imports(path) & {"django", "rest_framework", "celery", "lifelines", "pandas"}


@pytest.mark.parametrize("app", FLOORS)
def test_a_lower_app_never_imports_a_higher_one(app: str) -> None:
    higher = set(FLOORS[FLOORS.index(app) + 1 :])
    for path in (ROOT / app).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        assert not _imports(path) & higher, f"{path.relative_to(ROOT)} imports {_imports(path) & higher}"
