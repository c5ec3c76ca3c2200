"""The runtime and `seqkit predict` serve every built-in task's model in a process where torch cannot be imported."""
import json
import subprocess
import sys

import numpy as np
import pytest
from deploy_cases import BLOCK, CASES, assert_same, samples, write_input

from seqkit.runtime import load

CHILD = BLOCK + """
import json
import numpy as np
from seqkit.runtime import load
from seqkit.cli import main

try:
    import torch  # noqa: F401
    blocked = False
except ImportError:
    blocked = True
jobs = json.load(open(sys.argv[1]))
out = {"blocked": blocked, "predict": {}, "cli": {}, "stream": {}}
for case, job in jobs.items():
    model = load(job["path"])
    out["predict"][case] = model.predict(job["samples"], batch_size=2)
    try:
        main(["predict", job["path"], job["input"], "-o", job["output"]])
    except SystemExit as exc:
        assert exc.code in (0, None), exc.code
    out["cli"][case] = [json.loads(line) for line in open(job["output"])]
    if job.get("stream"):
        stream = load(job["stream"]).stream()
        whole = next(s for s in job["samples"] if not isinstance(s, str))  # a WAV path does not stream
        out["stream"][case] = [stream.push(whole[:2]), stream.push(whole[2:])]
out["modules"] = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps(out))
"""


def plain(value):
    return value.tolist() if isinstance(value, np.ndarray) else value


@pytest.mark.slow
def test_every_task_is_served_with_torch_blocked(deployed, tmp_path):
    jobs = {}
    for case in CASES:
        source, _ = write_input(case, tmp_path)
        jobs[case] = {"path": str(deployed(case).path), "samples": [plain(s) for s in samples(case)],
                      "input": str(source), "output": str(tmp_path / f"out-{case}.jsonl")}
        if case != "classification-features":
            jobs[case]["stream"] = str(deployed(case, streaming=True).path)
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "jobs.json")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["blocked"], "the import blocker did not stop torch"
    assert not {"torch", "onnx", "onnxscript"} & set(out["modules"])
    for case, job in jobs.items():
        model = load(job["path"])
        assert_same(out["predict"][case], model.predict(job["samples"]), where=case)
        _, expected = write_input(case, tmp_path)
        cli = [{k: v for k, v in r.items() if k not in ("sample", "source")} for r in out["cli"][case]]
        assert_same(cli, model.predict(expected), where=f"{case} (seqkit predict)")
        if "stream" in job:  # the streaming file, chunk by chunk, gives what this plain file gives at once
            whole = next(s for s in job["samples"] if not isinstance(s, str))
            first, both = out["stream"][case]
            assert_same(first, model.predict([whole[:2]])[0], where=f"{case} (stream, first chunk)")
            want = model.predict([whole])[0]
            if "tags" in want:  # per-step outputs cover the steps of the chunk just pushed
                want = {k: v[2:] for k, v in want.items()}
            assert_same(both, want, where=f"{case} (stream, both chunks)")
    assert set(out["stream"]) == set(CASES) - {"classification-features"}


def test_predict_help_and_runtime_import_no_torch():
    for code in ("import seqkit.runtime as r; r.load; r.Stream; r.read_samples; import seqkit.runtime.encode",
                 "from seqkit.cli import main\ntry:\n    main(['predict', '--help'])\nexcept SystemExit:\n    pass"):
        proc = subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
