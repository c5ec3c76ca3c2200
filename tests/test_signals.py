"""Ctrl-C and SIGTERM: one line, exit code 130 / 143, never a traceback, never a temporary file left behind.

The moments are made deterministic with throwaway plugins (on PYTHONPATH) that wait, after leaving a marker file,
inside the phase under test: plugin loading, and the verification of an export (while the temporary file exists).
"""
import glob
import os
import signal
import subprocess
import sys
import time

import pytest
from plugin_fixtures import write_distribution

SLOW_IMPORT = """
    import os, pathlib, time
    pathlib.Path(os.environ["MARKER"]).write_text("importing")
    time.sleep(120)
"""

# A cell whose eager forward waits while a temporary file of the export exists (that is, during verification).
SLOW_VERIFY = """
    import glob, os, pathlib, time
    import torch
    from torch import nn
    import seqkit


    class Waits(seqkit.ScanCell):
        def init_step(self, input_size):
            self.lin = nn.Linear(input_size + self.hidden_size, self.hidden_size)

        def step(self, x_t, state):
            h = torch.tanh(self.lin(torch.cat([x_t, state[0]], -1)))
            return h, (h,)

        def forward(self, x, lengths=None, state=None):
            if os.environ["PHASE"] == "export" and torch.compiler.is_exporting():
                pathlib.Path(os.environ["MARKER"]).write_text("exporting")
                time.sleep(120)
            if os.environ["PHASE"] == "verify" and not torch.compiler.is_exporting() and \
                    glob.glob(os.path.join(os.environ["WORKDIR"], ".*.tmp")):
                pathlib.Path(os.environ["MARKER"]).write_text("verifying")
                time.sleep(120)
            return super().forward(x, lengths, state)


    @seqkit.hookimpl
    def seqkit_register_cells(registry):
        registry.register("waits", Waits)
"""


def _sigint_as_usual():
    """In the child, before exec: SIGINT back to its default. A suite started in the background by a shell
    without job control (`make test &`, nohup) inherits SIGINT ignored, and Python then never raises
    KeyboardInterrupt -- the signal under test would be lost, not handled."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(tmp_path, args, module_source, module_name, phase=""):
    site = write_distribution(tmp_path / "site", f"{module_name.replace('_', '-')}", "1.0",
                              {module_name: module_name}, {module_name: module_source})
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
           "MARKER": str(tmp_path / "marker"), "WORKDIR": str(work), "PHASE": phase}
    proc = subprocess.Popen([sys.executable, "-m", "seqkit", *args], cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_sigint_as_usual)
    deadline = time.monotonic() + 600
    while not (tmp_path / "marker").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"never reached the phase under test: rc {proc.returncode}\n{out}\n{err}")
        time.sleep(0.05)
    return proc, work


@pytest.mark.parametrize("sig,code,line", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_a_signal_while_plugins_load_is_one_line(tmp_path, sig, code, line):
    proc, _ = _start(tmp_path, ["plugins"], SLOW_IMPORT, "slow_import")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert err.strip().splitlines() == [line]
    assert "Traceback" not in out + err


@pytest.mark.slow
@pytest.mark.parametrize("phase,sig,code,line", [("verify", signal.SIGINT, 130, "interrupted"),
                                                 ("verify", signal.SIGTERM, 143, "terminated"),
                                                 ("export", signal.SIGINT, 130, "interrupted")])
def test_a_signal_during_export_leaves_no_temporary_file(tmp_path, phase, sig, code, line):
    """During verification the temporary file exists (the moment the issue saw SIGTERM leave it behind); during
    torch.onnx.export, torch wraps the KeyboardInterrupt into its own error, which is not an export failure."""
    proc, work = _start(tmp_path, ["export", "--cell", "waits", "--hidden-size", "4", "-o", "m.onnx"], SLOW_VERIFY,
                        "waits_cell", phase)
    assert bool(glob.glob(str(work / ".m.onnx.*.tmp"))) == (phase == "verify")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert err.strip().splitlines() == [line]  # not "torch.onnx.export failed ... KeyboardInterrupt"
    assert os.listdir(work) == []


def test_sigterm_in_a_program_that_uses_the_api_removes_the_temporary_file_and_still_terminates(tmp_path):
    """Outside the CLI, atomic_path turns SIGTERM into cleanup, then lets it end the process as it would have."""
    code = f"""
import os, pathlib, signal, time
from seqkit.files import atomic_path
with atomic_path({str(tmp_path / 'out.bin')!r}) as tmp:
    pathlib.Path(tmp).write_bytes(b"half")
    pathlib.Path({str(tmp_path / 'marker')!r}).write_text(tmp)
    time.sleep(120)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (tmp_path / "marker").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM, err  # terminated by the signal, as without seqkit
    assert os.listdir(tmp_path) == ["marker"]


def test_ctrl_c_while_the_cli_itself_is_imported_is_one_line(tmp_path):
    """``seqkit`` enters through seqkit.__main__, which catches a Ctrl-C during the import of click and the CLI."""
    code = """
import sys
class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == "click":
            raise KeyboardInterrupt
sys.meta_path.insert(0, Interrupt())
from seqkit.__main__ import main
main(["plugins"])
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 130 and proc.stderr.strip().splitlines() == ["interrupted"], proc.stderr


def test_a_wrapped_interrupt_from_the_exporter_is_an_interrupt_not_an_export_failure(monkeypatch, plugins):
    """torch may wrap a KeyboardInterrupt into its own error (the issue saw "torch.onnx.export failed ...
    KeyboardInterrupt"); export re-raises the interrupt instead."""
    import torch

    import seqkit

    def wrapped(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise RuntimeError("Failed to export the model with torch.export") from exc

    composition = seqkit.compose("gru", plugins=plugins)
    monkeypatch.setattr(torch.onnx, "export", wrapped)
    with pytest.raises(KeyboardInterrupt):
        seqkit.to_onnx(composition)
