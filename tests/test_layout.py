"""The architecture, checked on the source: imports flow one way, torch only where training is, small units.

Layers, lowest first; a module may import only from its own layer and the ones
before it, and no chain of imports may lead back to where it started:

    errors, version -> runtime -> corpus -> evaluation, summary, serve -> training -> cli -> the package itself

(`evaluation` reads raw SemEval XML with the `corpus` reader, `summary` reads what `corpus`
wrote, and `serve` answers in `corpus`'s record schema, so the three sit above it, side by side.)
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "coextract"
LAYERS = ("errors", "version", "runtime", "corpus", "evaluation", "summary", "serve", "training", "cli", "")
TORCH_LAYERS = {"training"}
LAYER_RANK = {
    "errors": 0,
    "version": 0,
    "runtime": 1,
    "corpus": 2,
    "evaluation": 3,
    "summary": 3,
    "serve": 3,
    "training": 4,
    "cli": 5,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    """Where a module sits: its sub-package's rank; the package's own entry points sit on top."""
    parts = module.split(".")
    return LAYER_RANK.get(parts[1], 6) if len(parts) > 1 else 6


def imported_modules(path: Path) -> set[str]:
    """Every `coextract` module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}  # `from pkg import module`
    return {name for name in found if name in MODULES}


def external_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


GRAPH = {module: imported_modules(path) - {module} for module, path in MODULES.items()}


def test_the_walk_sees_the_package():
    assert {"coextract.runtime.tagger", "coextract.corpus.engine", "coextract.training.model"} <= set(MODULES)
    assert "coextract.runtime.features" in GRAPH["coextract.runtime.tagger"]
    assert "coextract.cli.evaluate" in GRAPH["coextract.cli"]  # `from coextract.cli import evaluate`


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_upward(module):
    upward = sorted(other for other in GRAPH[module] if layer(other) > layer(module))
    assert not upward, f"{module} (layer {layer(module)}) imports {upward} from above it"


def test_the_import_graph_has_no_cycle():
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for other in sorted(GRAPH[module]):
            assert state.get(other) != "open", "import cycle: " + " -> ".join([*path, module, other])
            if other not in state:
                visit(other, [*path, module])
        state[module] = "done"

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_only_training_imports_torch(module):
    heavy = external_imports(MODULES[module]) & {"torch", "transformers", "onnx"}
    in_training = module.split(".")[1:2] == ["training"]
    assert in_training or not heavy, f"{module} imports {sorted(heavy)}; only coextract.training may"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_are_short_or_say_why(module):
    source = MODULES[module].read_text()
    lines = source.count("\n")
    reason = "Over 250 lines because" in (ast.get_docstring(ast.parse(source)) or "")
    assert lines <= 250 or reason, f"{module}: {lines} lines and no reason in its docstring"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_function_is_over_60_lines(module):
    tree = ast.parse(MODULES[module].read_text())
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    long = {f.name: f.end_lineno - f.lineno + 1 for f in functions if f.end_lineno - f.lineno + 1 > 60}
    assert not long, f"{module}: functions over 60 lines: {long}"
