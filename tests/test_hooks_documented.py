"""Every hook in seqkit.core.hookspecs is documented in docs/plugins.md with its exact signature, and has a test.

(Datasette's idea: the docs cannot drift from the code, and no hook goes untested.)
"""
import ast
import inspect
import re
from pathlib import Path

from seqkit.core import hookspecs
from seqkit.core.plugins import HOOKS

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "plugins.md"
HEADING = re.compile(r"^### `(seqkit_\w+)\(([^)]*)\)`\s*$", re.M)


def _code_hooks():
    return {name: [p for p in inspect.signature(fn).parameters] for name, fn in HOOKS.items()}


def test_the_hook_list_is_read_from_hookspecs():
    marked = {name for name, fn in vars(hookspecs).items() if hasattr(fn, "seqkit_spec")}
    assert marked and marked == set(HOOKS)


def test_every_hook_is_documented_with_its_signature():
    documented = {m.group(1): [a.strip() for a in m.group(2).split(",") if a.strip()]
                  for m in HEADING.finditer(DOC.read_text(encoding="utf-8"))}
    code = _code_hooks()
    missing = sorted(set(code) - set(documented))
    assert not missing, f"hooks missing from {DOC.name} (add a '### `name(args)`' heading): {missing}"
    stale = sorted(set(documented) - set(code))
    assert not stale, f"{DOC.name} documents hooks that do not exist: {stale}"
    for name, params in code.items():
        assert documented[name] == params, f"{DOC.name} documents {name}({', '.join(documented[name])}), " \
                                           f"the code has {name}({', '.join(params)})"


def test_every_hook_has_a_test_named_after_it():
    tests = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tests |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    untested = sorted(name for name in HOOKS if f"test_hook_{name}" not in tests)
    assert not untested, f"write a test_hook_<name> test for: {untested}"
