"""`seqkit plugin new cell|task NAME` writes a package that pip installs, that registers, and whose own tests (written
with seqkit.testing: registration, contract, export + verification) pass as generated."""
import os
import subprocess
import sys

import pytest

from seqkit.cli.template import new_plugin


def test_the_package_has_what_pip_and_seqkit_need(tmp_path):
    root = new_plugin("task", "my_task", tmp_path)
    assert root == tmp_path / "seqkit-my-task"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == ["README.md", "pyproject.toml", "src/seqkit_my_task/__init__.py", "tests/test_seqkit_my_task.py"]
    pyproject = (root / "pyproject.toml").read_text()
    assert '[project.entry-points.seqkit]\nmy_task = "seqkit_my_task"' in pyproject
    assert 'name = "seqkit-my-task"' in pyproject
    module = (root / "src/seqkit_my_task/__init__.py").read_text()
    assert "class MyTask(seqkit.Task)" in module and "from seqkit.kit import POOLINGS, pad, pool" in module
    assert "$" not in module + pyproject + (root / "README.md").read_text()  # every placeholder filled


@pytest.mark.parametrize("args,message", [
    (["cell", "Bad Name"], "plugin name 'Bad Name': use lower-case letters, digits, '-' and '_', starting with a"),
    (["task", "9lives"], "plugin name '9lives'"),
    (["cell", "taken"], "seqkit-taken already exists; choose another NAME or -o DIR, or remove it"),
    (["cell", "x", "-o", "missing"], "missing is not a folder; create it first or choose another -o DIR"),
])
def test_mistakes_are_one_line_and_leave_nothing(run, tmp_path, args, message):
    (tmp_path / "seqkit-taken").mkdir()
    result = run("plugin", "new", *args)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seqkit-taken"]  # no half-written package
    assert not any((tmp_path / "seqkit-taken").iterdir())


@pytest.mark.slow
def test_both_kinds_install_register_and_pass_their_tests_exports_included(tmp_path):
    cell, task = new_plugin("cell", "my-cell", tmp_path), new_plugin("task", "my_task", tmp_path)
    site = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                          "--target", str(site), str(cell), str(task)], capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    tests = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", "-W", "error",
                            str(cell / "tests"), str(task / "tests")], capture_output=True, text=True, env=env,
                           cwd=tmp_path, timeout=600)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert "6 passed" in tests.stdout
    # their tests export a model each (assert_exports: exported, then verified against PyTorch at unseen shapes)
    assert "test_it_exports_and_verifies PASSED" in tests.stdout
    assert "test_it_exports_and_verifies_with_a_builtin_cell PASSED" in tests.stdout
