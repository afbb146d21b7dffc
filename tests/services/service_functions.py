"""The public functions of `lovemart.services`, found by reading their source: which write audit rows, and
which take a village to read in. Tests use these lists to prove they cover every such service."""

import ast
import inspect
import pkgutil
from functools import cache
from importlib import import_module

import lovemart.services


@cache
def _modules() -> dict[str, ast.Module]:
    found = {}
    for info in pkgutil.iter_modules(lovemart.services.__path__):
        module = import_module(f"lovemart.services.{info.name}")
        found[module.__name__] = ast.parse(inspect.getsource(module))
    return found


def _records_directly(node: ast.FunctionDef) -> bool:
    """Calls `audit.record(...)` or names an `AuditTag` (handing it to a helper that records it)."""
    for child in ast.walk(node):
        if isinstance(child, ast.Attribute) and isinstance(child.value, ast.Name):
            if (child.value.id, child.attr) == ("audit", "record") or child.value.id == "AuditTag":
                return True
    return False


def _local_calls(node: ast.FunctionDef) -> set[str]:
    return {
        child.func.id
        for child in ast.walk(node)
        if isinstance(child, ast.Call) and isinstance(child.func, ast.Name)
    }


def writing_functions() -> set[str]:
    """`module.function` of every public service function that writes an audit row, itself or through a
    private helper of its module."""
    found = set()
    for name, tree in _modules().items():
        if name == "lovemart.services.audit":
            continue
        functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
        writes = {n for n, f in functions.items() if _records_directly(f)}
        while True:  # through the module's own helpers, to a fixed point
            more = {n for n, f in functions.items() if n not in writes and _local_calls(f) & writes}
            if not more:
                break
            writes |= more
        found |= {f"{name}.{n}" for n in writes if not n.startswith("_")}
    return found


def village_functions() -> set[str]:
    """`module.function` of every public service function with a `village_id` or `village_ids` parameter."""
    found = set()
    for name, tree in _modules().items():
        for function in tree.body:
            if not isinstance(function, ast.FunctionDef) or function.name.startswith("_"):
                continue
            parameters = {a.arg for a in function.args.args + function.args.kwonlyargs}
            if parameters & {"village_id", "village_ids"}:
                found.add(f"{name}.{function.name}")
    return found
