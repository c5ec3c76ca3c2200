"""The README's walk-throughs run as written: each ```bash block, then the ```python block after it."""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = README.read_text().split("## Walk-throughs", 1)[1].split("\n## ", 1)[0]
PAIRS = re.findall(r"\*\*(\w[\w ]*)\*\*.*?```bash\n(.*?)```\s*```python\n(.*?)```", SECTION, re.S)
SEQKIT = [sys.executable, "-m", "seqkit"]
#: what a reader downloads before a walk-through (seqkit does not ship it), as the README names it -> its copy in
#: ../shared/data; linked into the working folder, where the reader unzipped it
DOWNLOADED = {"sentiment labelled sentences": "sentiment-labelled-sentences", "cmn.txt": "tatoeba-eng-cmn/cmn.txt"}


def test_every_builtin_task_has_a_walk_through():
    names = [name.lower() for name, _, _ in PAIRS]
    assert names == ["classification", "forecasting", "speech frames", "video frames", "adding problem", "deployment",
                     "sentiment", "speech to text", "language model", "translation"]
    assert all(any(folder in commands for _, commands, _ in PAIRS) for folder in DOWNLOADED)


@pytest.mark.slow
@pytest.mark.parametrize("name,commands,snippet", PAIRS, ids=[p[0] for p in PAIRS])
def test_walk_through(tmp_path, shared_data, name, commands, snippet):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for folder, copy in DOWNLOADED.items():  # where the reader unzipped it: the working folder
        if folder in commands:
            (tmp_path / folder).symlink_to(shared_data(copy))
    for line in commands.strip().splitlines():
        argv = shlex.split(line)
        assert argv[0] == "seqkit"
        proc = subprocess.run(SEQKIT + argv[1:], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
        if argv[1] == "evaluate":
            assert "baseline" in proc.stdout
        if argv[1] == "export":
            assert "verified" in proc.stdout and (tmp_path / argv[-1]).exists()
    proc = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
