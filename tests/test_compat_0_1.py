"""Plugin packages written for seqkit 0.1 (tests/compat_0_1: plugins/ at the last 0.1 commit, unchanged) install,
register, compose, export and verify on this seqkit; their own 0.1 tests pass; a plugin that needs a newer plugin
API gets one line naming the seqkit it needs."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import seqkit

OLD = Path(__file__).parent / "compat_0_1"
PACKAGES = ("seqkit-indrnn", "seqkit-tagging")
FUTURE = {  # a plugin written for a plugin API this seqkit does not offer
    "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
                      '[project]\nname = "seqkit-future"\nversion = "3.0"\n'
                      '[project.entry-points.seqkit]\nfuture = "seqkit_future"\n',
    "seqkit_future.py": "SEQKIT_PLUGIN_API = '>=2'\n",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The 0.1 packages (and seqkit-future) pip-installed into a folder of their own, built from a copy (pip
    builds in the source folder, which must not be the repository)."""
    root = tmp_path_factory.mktemp("compat")
    sources = []
    for name in PACKAGES:
        shutil.copytree(OLD / name, root / name, ignore=shutil.ignore_patterns("tests"))
        sources.append(root / name)
    (root / "seqkit-future").mkdir()
    for name, text in FUTURE.items():
        (root / "seqkit-future" / name).write_text(text)
    sources.append(root / "seqkit-future")
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                          "--target", str(root / "site"), *map(str, sources)], capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr
    return root / "site"


def _env(site: Path) -> dict:
    # first on the path: the 0.1 packages shadow the current plugins/ installs of the same names
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
            "PYTHONWARNINGS": "always::DeprecationWarning"}


def _run(site: Path, *args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=_env(site), cwd=cwd,
                          timeout=600)


_PROBE = """
import json, seqkit
loaded = seqkit.load_plugins()
print(json.dumps({"cell": loaded.cell("indrnn").__module__ and __import__("seqkit_indrnn").__file__,
                  "task": __import__("seqkit_tagging").__file__,
                  "problems": loaded.all_problems(),
                  "rows": {r["name"]: r["distribution"] for r in loaded.table()}}))
"""


def test_the_0_1_packages_register_from_their_0_1_install(site, tmp_path):
    run = _run(site, "-c", _PROBE, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.splitlines()[-1])
    assert got["cell"].startswith(str(site)) and got["task"].startswith(str(site))  # the 0.1 code, not plugins/
    assert got["rows"]["indrnn"] == "seqkit-indrnn" and got["rows"]["tagging"] == "seqkit-tagging"
    assert [p for p in got["problems"] if "'future'" in p] == [
        f"plugin 'future': needs seqkit plugin API >=2, but seqkit {seqkit.__version__} offers plugin API 1; "
        f"upgrade seqkit to a release after {seqkit.__version__} that offers plugin API 2 (pip install -U seqkit), "
        f"or skip it with SEQKIT_DISABLE_PLUGINS=future; it was not loaded"]
    assert len(got["problems"]) == 1, got["problems"]  # the 0.1 packages load without a problem
    assert "seqkit.task is deprecated; import from seqkit (removed in 0.4)" in run.stderr
    assert str(site / "seqkit_tagging" / "__init__.py") in run.stderr  # the warning points at the plugin's line


@pytest.mark.slow
def test_a_0_1_cell_and_a_0_1_task_compose_export_and_verify_from_the_cli(site, tmp_path):
    run = _run(site, "-m", "seqkit", "export", "--cell", "indrnn", "--task", "tagging", "--hidden-size", "6",
               "-o", "old.onnx", cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert (tmp_path / "old.onnx").stat().st_size > 0 and "Traceback" not in run.stderr
    assert "wrote old.onnx (verified" in run.stdout  # onnxruntime == PyTorch at unseen shapes


@pytest.mark.slow
def test_the_0_1_packages_own_tests_pass(site, tmp_path):
    """Their cheaper 0.1 tests, as written (training and the larger exports are covered above)."""
    tests = [shutil.copytree(OLD / name / "tests", tmp_path / name) for name in PACKAGES]
    run = _run(site, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k",
               "registers or options or logits or jsonl or contract", *map(str, tests), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "7 passed" in run.stdout, run.stdout[-1000:]
