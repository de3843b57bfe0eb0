"""Which environment variables a function's code reads, found in its source.

From the module of a function's handler, every module of the shop it imports
(lazily or not) is followed; in each, a read is ``<env>.need("NAME")``,
``<env>.get("NAME", ...)`` or ``<env>["NAME"]`` where ``<env>`` mentions an
``env``/``environ``/``environment`` (``os.environ``, ``Env(environ)``...).
Following every import over-approximates what one invocation reads, which is
what a template must cover: a value missing for a path rarely taken is still a
500 on that path.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from infra.template import ROOT

NAME = re.compile(r"^[A-Z][A-Z0-9_]{2,}$")
ENV_NAMES = frozenset({"env", "environ", "environment"})


@dataclass
class Reads:
    required: set[str] = field(default_factory=set)  # need() or [...]: no default
    optional: set[str] = field(default_factory=set)  # get(): a default if unset

    @property
    def all(self) -> set[str]:
        return self.required | self.optional


def source_of(module: str) -> Path | None:
    for path in (ROOT / f"{module.replace('.', '/')}.py", ROOT / module.replace(".", "/") / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported(path: Path, module: str) -> set[str]:
    found: set[str] = set()
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def modules_reached(start: str) -> set[str]:
    """``start`` and every module of chalicelib/ (or app.py) it imports, transitively."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        module = todo.pop()
        path = source_of(module)
        if module in seen or path is None or not (module == "app" or module.startswith("chalicelib")):
            continue
        seen.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # a package's __init__ runs first
        todo += sorted(imported(path, module))
    return seen


def _mentions_env(node: ast.AST) -> bool:
    return any(
        (isinstance(n, ast.Name) and n.id in ENV_NAMES) or (isinstance(n, ast.Attribute) and n.attr in ENV_NAMES)
        for n in ast.walk(node)
    )


def reads_in(path: Path) -> Reads:
    reads = Reads()
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("need", "get")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and NAME.match(node.args[0].value)
            and _mentions_env(node.func.value)
        ):
            (reads.required if node.func.attr == "need" else reads.optional).add(node.args[0].value)
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
            and NAME.match(node.slice.value)
            and _mentions_env(node.value)
            and isinstance(node.ctx, ast.Load)
        ):
            reads.required.add(node.slice.value)
    return reads


def reads_of_handler(handler: str) -> Reads:
    """What the function whose handler is ``handler`` (``module.attribute``) may read."""
    total = Reads()
    for module in modules_reached(handler.rsplit(".", 1)[0]):
        path = source_of(module)
        assert path is not None
        found = reads_in(path)
        total.required |= found.required
        total.optional |= found.optional
    total.optional -= total.required
    return total
