"""The package's structure: imports run only downward, no cycles, files of one concept."""

import ast
import pathlib
import re

import keras_samplepairing

PACKAGE = pathlib.Path(keras_samplepairing.__file__).parent
# Bottom to top: a module imports only from its own rank or below, and within
# its own rank only from its own subpackage.
RANKS = {
    "ops": 0,
    "engine": 1,
    "layers": 2,
    "data": 2,
    "models": 2,
    "callbacks": 3,
    "visualization": 4,
    # The package's public names: over everything up to the callbacks and
    # the visualization; the applications (compare, demo) may use them.
    "__init__": 4.5,
    "compare": 5,
    "demo": 6,
    "__main__": 7,
}
README = PACKAGE.parent / "README.md"


def _part(module: str) -> str:
    """The top-level part of the package a dotted module name belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: pathlib.Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _is_module(name: str) -> bool:
    path = PACKAGE.parent / name.replace(".", "/")
    return path.is_dir() or path.with_suffix(".py").exists()


def _imports(path: pathlib.Path) -> set[str]:
    """Every module of the package that ``path`` imports by name, anywhere in
    it (inside functions and under TYPE_CHECKING too). ``from package import
    module`` counts as importing the module, not the package's __init__."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert not node.level, f"{path}: relative import of {node.module}"
            if not node.module.startswith("keras_samplepairing"):
                continue
            modules = {f"{node.module}.{a.name}" for a in node.names}
            modules = {m for m in modules if _is_module(m)}
            found |= modules or {node.module}
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("keras_samplepairing"))
    return found


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_imports_run_only_downward():
    upward = []
    for module, imported in _graph().items():
        here = _part(module)
        for target in imported:
            there = _part(target)
            if there == here:
                continue
            if RANKS[there] >= RANKS[here]:
                upward.append(f"{module} -> {target}")
    assert not upward, "\n".join(upward)


def test_no_two_modules_import_each_other():
    graph = _graph()
    edges = {module: {t for t in targets if t in graph} for module, targets in graph.items()}
    # Tarjan's strongly connected components: any with two modules is a cycle.
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    assert not cycles, cycles


def test_every_file_holds_one_concept_in_at_most_400_lines():
    listed = set(re.findall(r"`(keras_samplepairing/[\w/]+\.py)`", README.read_text()))
    long = [
        str(path.relative_to(PACKAGE.parent))
        for path in PACKAGE.rglob("*.py")
        if len(path.read_text().splitlines()) > 400
    ]
    unexplained = [path for path in long if path not in listed]
    assert not unexplained, f"over 400 lines and not listed in the README: {unexplained}"


def test_the_suites_slowest_files_are_files_of_the_suite():
    # conftest.py hands them to the workers first; a renamed file would
    # quietly drop to the back of the queue.
    from tests.conftest import SLOWEST_FILES

    missing = [path for path in SLOWEST_FILES if not (PACKAGE.parent / path).is_file()]
    assert not missing and len(set(SLOWEST_FILES)) == len(SLOWEST_FILES), missing
