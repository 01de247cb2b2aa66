"""Find the names custom.py registers without running it.

The as-you-type check must not import the user's code (it may import torch, or be half
written), yet it should still tell `mpl` from a registered `my_mlp`. Reading the
`@register(...)` decorators from the syntax tree gives exactly that, cheaply.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from recipe.config.errors import Position, Problem


@dataclass
class CustomScan:
    """Names registered in custom.py, and a syntax problem if it does not parse."""

    names: dict[str, int] = field(default_factory=dict)  # name -> line
    problem: Problem | None = None
    exists: bool = False


def _register_name(decorator: ast.expr, default: str) -> str | None:
    call_args: list[ast.expr] = []
    keywords: list[ast.keyword] = []
    target = decorator
    if isinstance(decorator, ast.Call):
        target = decorator.func
        call_args = decorator.args
        keywords = decorator.keywords
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
    if name != "register":
        return None
    for arg in call_args[:1]:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
    for keyword in keywords:
        if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    return default


def scan_custom_source(text: str, file: str) -> CustomScan:
    """Registered names in custom.py source text (a syntax error is reported, not raised)."""
    scan = CustomScan(exists=True)
    try:
        tree = ast.parse(text, filename=file)
    except SyntaxError as exc:
        scan.problem = Problem(
            Position(file, exc.lineno or 1, exc.offset or 1),
            f"in custom.py: SyntaxError: {exc.msg}",
        )
        return scan
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                name = _register_name(decorator, node.name)
                if name:
                    scan.names[name] = node.lineno
    return scan


def scan_custom_file(path: str, display: str) -> CustomScan:
    """Scan custom.py at `path`; a missing file simply registers nothing."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return CustomScan()
    return scan_custom_source(text, display)
