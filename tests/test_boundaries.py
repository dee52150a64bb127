"""Module boundaries, read from the source with `ast` (nothing is imported):

- no module uses another module's underscore names: not `from assay.x import _y`, not `x._y` on an assay module,
  on a name imported from one, or on a parameter annotated with such a name (`hf: HFModel` then `hf._y`).
  A leading-underscore module (`assay.cli._table`) is private to its package: modules of that package (and
  below) may import it, others may not;
- nothing below the command line imports from it: only modules of assay.cli import assay.cli.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "assay"

# (importing module, "what it reads") -> why it stays. Empty: keep it that way, or give a reason.
ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. assay.models.hf
    path: Path

    @property
    def package(self) -> tuple[str, ...]:
        parts = tuple(self.name.split("."))
        return parts if self.path.name == "__init__.py" else parts[:-1]


def _modules() -> list[Module]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out.append(Module(name, path))
    return out


def _private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def _is_module(dotted: str) -> bool:
    base = SRC.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _resolve(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.package[: len(module.package) - node.level + 1]
    return ".".join(base + ((node.module,) if node.module else ()))


def _module_problems(module: Module, dotted: str) -> list[str]:
    """A private module on the path of `dotted` that `module` is not inside the package of."""
    parts = dotted.split(".")
    out = []
    for i, part in enumerate(parts):
        if _private(part) and i and module.package[:i] != tuple(parts[:i]):
            out.append(f"imports private module {dotted}")
    return out


def _imports(module: Module, tree: ast.AST) -> tuple[list[str], list[str], set[str]]:
    """(private-name problems, assay.cli imports, local names bound to assay modules or their objects)."""
    problems: list[str] = []
    cli: list[str] = []
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != "assay":
                    continue
                problems += _module_problems(module, alias.name)
                cli += [alias.name] if alias.name.split(".")[:2] == ["assay", "cli"] else []
                bound.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            if source.split(".")[0] != "assay":
                continue
            problems += _module_problems(module, source)
            for alias in node.names:
                full = f"{source}.{alias.name}"
                if full.split(".")[:2] == ["assay", "cli"]:
                    cli.append(full)
                if _is_module(full):
                    problems += _module_problems(module, full)
                elif _private(alias.name):
                    problems.append(f"imports {alias.name} from {source}")
                bound.add(alias.asname or alias.name)
    return problems, cli, bound


def _typed_as(tree: ast.AST, bound: set[str]) -> set[str]:
    """Parameters annotated with a name imported from an assay module (`hf: HFModel`): another module's objects."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None and node.arg not in ("self", "cls"):
            annotation = node.annotation
            if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
                annotation = ast.parse(annotation.value, mode="eval")
            if any(isinstance(n, ast.Name) and n.id in bound for n in ast.walk(annotation)):
                out.add(node.arg)
    return out


def _attribute_problems(tree: ast.AST, bound: set[str]) -> list[str]:
    bound = bound | _typed_as(tree, bound)
    return [
        f"reads {node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and _private(node.attr)
        and isinstance(node.value, ast.Name)
        and node.value.id in bound
    ]


def _findings() -> tuple[list[str], list[str]]:
    private: list[str] = []
    cli: list[str] = []
    for module in _modules():
        tree = ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))
        problems, cli_imports, bound = _imports(module, tree)
        problems += _attribute_problems(tree, bound)
        private += [f"{module.name}: {p}" for p in problems if (module.name, p) not in ALLOWED]
        if not module.name.startswith("assay.cli"):
            cli += [f"{module.name}: imports {name}" for name in cli_imports]
    return sorted(set(private)), sorted(set(cli))


def test_no_module_reads_another_modules_private_names() -> None:
    private, _ = _findings()
    assert private == [], "make the name public where it is defined, or list it in ALLOWED with a reason"


def test_nothing_below_the_command_line_imports_from_it() -> None:
    _, cli = _findings()
    assert cli == [], "move what is needed out of assay.cli (e.g. assay.keyvalues)"


def test_allow_list_entries_are_still_needed() -> None:
    everything = []
    for module in _modules():
        tree = ast.parse(module.path.read_text(encoding="utf-8"))
        problems, _, bound = _imports(module, tree)
        everything += [(module.name, p) for p in problems + _attribute_problems(tree, bound)]
    assert sorted(set(ALLOWED) - set(everything)) == []


@pytest.mark.parametrize(
    ("importer", "source", "broken"),
    [
        ("assay/models/hf_autobatch.py", "from assay.models.hf_score import _forward\n", True),
        ("assay/models/hf_autobatch.py", "from . import hf_score\nhf_score._forward(1)\n", True),
        ("assay/models/hf_autobatch.py", "from .hf_score import PackedRow\nPackedRow._x\n", True),
        ("assay/models/hf_generate.py", "from assay.models.hf import HFModel\ndef f(hf: HFModel): hf._x\n", True),
        ("assay/models/hf_generate.py", "from assay.models.hf import HFModel\ndef f(hf: 'HFModel'): hf._x\n", True),
        ("assay/models/hf_generate.py", "class _Row:\n    _x = 1\ndef f(row: _Row):\n    row._x\n", False),
        ("assay/dvc/pipeline.py", "from assay.cli._table import table\n", True),
        ("assay/cli/run.py", "from assay.cli._table import table\n", False),
        ("assay/cli/run.py", "from assay.cli import _table\n", False),
        ("assay/models/hf.py", "import os\nos._exit(0)\n", False),
        ("assay/models/hf.py", "from assay import __version__\n", False),
    ],
)
def test_the_rules_catch_what_they_should(importer: str, source: str, broken: bool) -> None:
    path = SRC / importer
    name = ".".join(Path(importer).with_suffix("").parts)
    module = Module(name, path)
    tree = ast.parse(source)
    problems, _, bound = _imports(module, tree)
    assert bool(problems + _attribute_problems(tree, bound)) is broken
