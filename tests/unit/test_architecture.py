"""The house rules, checked over the import graph of every module.

Read ``chalicelib/__init__.py`` for the map. In short, arrows point one way:

- ``chalicelib.platform`` (errors, config, keys, metrics...) imports nothing
  else of the shop;
- the features (``catalog``, ``search``, ``orders``, ``accounts``, ``photos``) never
  import ``chalice``, the API layer or the composition root: they are called
  with what they need;
- only ``chalicelib.api`` (and the per-function entries in
  ``chalicelib.lambdas``, and ``app.py``) speak HTTP and Chalice;
- nothing in ``chalicelib/`` or ``infra/`` (or ``app.py``) imports the local
  tooling (``localdev/``), the tests or the benchmarks;
- ``bench/`` shares test code only through ``tests/support/``.

Every import counts, also one inside a function or under ``TYPE_CHECKING``:
a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("app.py", "chalicelib", "infra", "localdev", "bench", "tests")
FEATURES = ("chalicelib.catalog", "chalicelib.search", "chalicelib.orders", "chalicelib.accounts", "chalicelib.photos")
# Which features a feature may use: search and orders read the catalog; a product records its photos.
FEATURE_USES = {
    "chalicelib.photos": (),
    "chalicelib.catalog": ("chalicelib.photos",),
    "chalicelib.accounts": (),
    "chalicelib.search": ("chalicelib.catalog",),
    "chalicelib.orders": ("chalicelib.catalog",),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files() -> Iterator[Path]:
    for source in SOURCES:
        path = ROOT / source
        yield from [path] if path.is_file() else sorted(path.rglob("*.py"))


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every import in the file, relative ones resolved."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            yield node.lineno, module
            for alias in node.names:  # `from chalicelib import catalog` imports chalicelib.catalog
                yield node.lineno, f"{module}.{alias.name}"


GRAPH = {module_name(path): (path, list(imports_of(path))) for path in python_files()}


def within(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def offending(importer: str, rule: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    path, imports = GRAPH[importer]
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for line, module in imports
        if within(module, *rule) and not within(module, *allowed)
    ]


def modules_in(*packages: str) -> list[str]:
    return [name for name in GRAPH if within(name, *packages)]


def broken(modules: list[str], rule: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    return [problem for module in modules for problem in offending(module, rule, allowed)]


def test_the_platform_layer_imports_nothing_else_of_the_shop() -> None:
    shop = ("chalicelib", "chalice", "infra", "localdev", "tests", "bench")
    assert broken(modules_in("chalicelib.platform"), shop, allowed=("chalicelib.platform",)) == []


@pytest.mark.parametrize("feature", FEATURES)
def test_a_feature_knows_nothing_of_http_chalice_or_how_it_is_wired(feature: str) -> None:
    rule = ("chalice", "chalicelib.api", "chalicelib.lambdas", "chalicelib.bootstrap", "app")
    assert broken(modules_in(feature), rule) == []


@pytest.mark.parametrize("feature", FEATURES)
def test_a_feature_uses_only_the_features_it_builds_on(feature: str) -> None:
    others = tuple(f for f in FEATURES if f != feature)
    assert broken(modules_in(feature), others, allowed=FEATURE_USES[feature]) == []


def test_the_composition_root_builds_features_without_speaking_http() -> None:
    assert broken(["chalicelib.bootstrap"], ("chalice", "chalicelib.api", "chalicelib.lambdas")) == []


def test_the_shop_and_its_infrastructure_never_import_local_tooling_tests_or_benchmarks() -> None:
    modules = [*modules_in("chalicelib", "infra"), "app"]
    assert broken(modules, ("localdev", "tests", "bench")) == []


def test_the_shop_never_imports_its_infrastructure_code() -> None:
    assert broken([*modules_in("chalicelib"), "app"], ("infra",)) == []


def test_app_py_is_only_the_table_of_contents() -> None:
    _, imports = GRAPH["app"]
    assert {module for _, module in imports if not within(module, "__future__")} <= {
        "chalicelib.api",
        *(
            f"chalicelib.api.{name}"
            for name in ("admin", "authorizer", "images", "indexer", "order_events", "purchase", "search")
        ),
        "chalicelib.api.shop_app",
    }


def test_benchmarks_share_test_code_only_through_tests_support() -> None:
    assert broken(modules_in("bench"), ("tests",), allowed=("tests.support",)) == []


def test_shared_test_support_imports_no_test_module() -> None:
    rule = ("tests.unit", "tests.functional", "tests.e2e", "tests.conftest")
    assert broken(modules_in("tests.support"), rule) == []


def test_no_two_modules_share_a_name() -> None:
    """A name says one thing: `grep`, tracebacks and the map find one file.

    The one exception is by design: each deployed function's entry module in
    chalicelib/lambdas/ carries the name of the function, as its blueprint in
    chalicelib/api/ does. Tests and benchmarks are named after what they check.
    """
    seen: dict[str, list[str]] = {}
    for path in python_files():
        name = module_name(path)
        if path.name in {"__init__.py", "__main__.py"} or within(name, "tests", "bench", "chalicelib.lambdas"):
            continue
        seen.setdefault(path.stem, []).append(str(path.relative_to(ROOT)))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}


def test_no_module_of_the_shop_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in (ROOT / "chalicelib").rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > 400
    }
    assert long == {}


def test_the_rules_see_a_broken_arrow(tmp_path: Path) -> None:
    """The checker itself finds an import that breaks a rule (and names its line)."""
    module = ROOT / "chalicelib" / "platform" / "config.py"
    found = [m for _, m in imports_of(module)]
    assert "chalicelib.platform.errors" in found  # a relative import, resolved
    fake = tmp_path / "probe.py"
    fake.write_text("def f():\n    from localdev import gateway\n")
    assert [m for _, m in ast_imports(fake)] == ["localdev", "localdev.gateway"]


def ast_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.lineno, node.module))
            out.extend((node.lineno, f"{node.module}.{a.name}") for a in node.names)
    return out
