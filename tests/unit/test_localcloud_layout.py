"""The local cloud's layout, read from its source with `ast`: a core that imports nothing of the project, one module
per emulation that imports only the core, no import circle, and no module-level state."""

import ast
from pathlib import Path

import pytest

LOCALCLOUD = Path(__file__).resolve().parents[2] / "localcloud"


def module_name(path: Path) -> str:
    parts = path.relative_to(LOCALCLOUD.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(LOCALCLOUD.rglob("*.py"))}


def project_imports(module: str) -> set[str]:
    """The local cloud's modules that `module` imports anywhere (at the top, in functions, for type checking)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from localcloud import extensions` imports a module; `from localcloud.core import Hooks` a name
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        imported |= {name for name in names if name in MODULES and name != module}
    # Importing `localcloud.emulations.x` runs the package's __init__ first: an edge Python makes, not the code.
    return imported


def import_cycles() -> list[list[str]]:
    """Every import path that leads back to where it started (depth-first search over the import graph)."""
    graph = {module: project_imports(module) for module in MODULES}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        for imported in sorted(graph[module]):
            if imported == path[0]:
                cycles.append([*path, imported])
            elif imported not in path and imported > path[0]:  # each cycle once, from its smallest module
                visit(imported, [*path, imported])

    for module in sorted(graph):
        visit(module, [module])
    return cycles


def test_the_layout_is_what_this_test_reads() -> None:
    assert {"localcloud.core", "localcloud.extensions", "localcloud.cloud", "localcloud.scenarios"} <= set(MODULES)
    assert project_imports("localcloud.extensions") >= {"localcloud.core", "localcloud.emulations.sagemaker_endpoints"}


def test_no_local_cloud_module_imports_a_module_that_imports_it_back() -> None:
    assert import_cycles() == []


def test_the_core_imports_no_module_of_the_project() -> None:
    source = MODULES["localcloud.core"].read_text(encoding="utf-8")
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & {"localcloud", "controlplane", "mlops", "tests", "benchmarks"}


@pytest.mark.parametrize("module", sorted(name for name in MODULES if name.startswith("localcloud.emulations.")))
def test_each_emulation_imports_only_the_core(module: str) -> None:
    assert project_imports(module) == {"localcloud.core"}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_keeps_state_in_globals(module: str) -> None:
    """State lives on the registry (and the emulations) a LocalCloud owns, never in a module: no `global`, and no
    module-level variable set to None, an empty list or an empty dict to be filled in later."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Global)]
    placeholders = [
        ast.unparse(node)
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None and _placeholder(node.value)
    ]
    assert placeholders == []


def _placeholder(value: ast.expr) -> bool:
    """None, [] or {}: a module-level value meant to be replaced or filled at run time."""
    if isinstance(value, ast.Constant):
        return value.value is None
    if isinstance(value, ast.List):
        return not value.elts
    return isinstance(value, ast.Dict) and not value.keys


def _patches(module: str) -> list[ast.FunctionDef]:
    """The module's top-level functions that replace something in moto (they call `<registry>.replace`)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    return [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(
            isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "replace"
            for call in ast.walk(node)
        )
    ]


@pytest.mark.parametrize("module", sorted(name for name in MODULES if name.startswith("localcloud.emulations.")))
def test_each_patch_names_the_aws_documentation_it_follows_and_the_moto_gap_it_fills(module: str) -> None:
    patches = _patches(module)
    assert patches, f"{module} patches nothing"
    undocumented = [
        patch.name
        for patch in patches
        if "docs.aws.amazon.com" not in (ast.get_docstring(patch) or "") or "moto gap" not in ast.get_docstring(patch)
    ]
    assert undocumented == []


def _top_level_names(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def test_every_import_from_the_local_cloud_names_something_it_defines() -> None:
    """What the demo, the benchmarks, the scripts and the tests import from localcloud exists (a moved helper
    breaks here, not in a benchmark nobody ran)."""
    root = LOCALCLOUD.parent
    folders = ("localcloud", "tests", "benchmarks", "scripts", "mlops")
    missing = []
    for path in (path for folder in folders for path in (root / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in MODULES and node.level == 0:
                defined = _top_level_names(node.module)
                missing += [
                    f"{path.relative_to(root)}: {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name not in defined and f"{node.module}.{alias.name}" not in MODULES
                ]
    assert missing == []
