"""seqkit's JavaScript runtime (js/) against the Python runtime: tests/js_fixtures.py writes what seqkit.runtime
gives for tokenizer, encoder, checks, results and sampling cases, and node's own test runner checks that
js/seqkit.mjs gives the same (js/test/*.test.mjs). Node 20 is required, not optional (CI has it)."""
import os
import shutil
import subprocess
from pathlib import Path

from js_fixtures import WORD_PATTERN, write

ROOT = Path(__file__).resolve().parents[1]


def test_fixture_pattern_is_the_classification_tokenizer():
    from seqkit.builtin.tasks.classification import TOKEN_RE

    assert TOKEN_RE.pattern == WORD_PATTERN


def test_node_test_runner_passes_on_python_fixtures(tmp_path):
    node = shutil.which("node")
    assert node, "node (20 or later) is needed for js/; CI machines have it"
    fixtures = write(tmp_path / "fixtures.json")
    tests = sorted(str(p) for p in (ROOT / "js" / "test").glob("*.test.mjs"))
    assert tests
    proc = subprocess.run([node, "--test", *tests], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "SEQKIT_JS_FIXTURES": str(fixtures)}, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "# fail 0" in proc.stdout and "# pass 6" in proc.stdout, proc.stdout[-2000:]
