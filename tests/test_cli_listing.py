"""`seqkit plugins` and `seqkit datasets` stay readable: tab-separated when piped, a table on a wide terminal,
one block per row in 80 columns (never one word per line), and descriptions printed as written (no markup)."""
import json
import os
import pty
import re
import subprocess
import sys

import pytest

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
GRU = "Gated recurrent unit (Cho et al. 2014), PyTorch's formulation."
NPZ = "an .npz with X [items, time, features], y [items] and optional lengths [items]"


def _on_terminal(args, tmp_path, columns: int) -> str:
    """``seqkit ARGS`` with stdout on a pseudo-terminal ``columns`` wide; its text without colours."""
    main, child = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "50", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "seqkit", *args], stdout=child, stderr=subprocess.PIPE,
                            env=env, cwd=tmp_path)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    return ANSI.sub("", b"".join(chunks).decode()).replace("\r\n", "\n")


@pytest.mark.parametrize("command,header", [("plugins", "kind\tname\tplugin\tdistribution\tversion\tdescription"),
                                            ("datasets", "task\tdataset\tsplits\tdescription")])
def test_piped_output_is_tab_separated_with_every_description_whole(run, command, header):
    text = run(command).output
    lines = text.splitlines()
    assert lines[0] == header
    rows = [line.split("\t") for line in lines[1:] if "\t" in line]
    assert len(rows) >= 5 and all(len(r) == header.count("\t") + 1 for r in rows), rows
    assert not {"┃", "│", "━"} & set(text)  # no box drawing for cut/awk/grep
    if command == "plugins":
        assert ["cell", "gru", "gru", "seqkit"] == rows[[r[1] for r in rows].index("gru")][:4]
        assert GRU in text
    else:
        assert NPZ in text  # [X] and [y] are text, not markup
        json_rows = json.loads(run(command, "--json").output)["datasets"]
        assert len(json_rows) == len(rows)


@pytest.mark.parametrize("command,first,description", [
    ("plugins", "cell gru  (seqkit", GRU),
    ("datasets", "classification basic-motions  (splits: train, test)",
     "BasicMotions: smart-watch accelerometer+gyroscope, 100 steps x 6 features"),
])
def test_an_80_column_terminal_gets_one_block_per_row_that_fits(tmp_path, command, first, description):
    text = _on_terminal([command], tmp_path, 80)
    lines = text.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80, max(lines, key=len)
    assert any(line.startswith(first) for line in lines), text[:2000]
    assert description in text.replace("\n    ", " ")  # wrapped at the width, not one word per line
    alone = [len(line.split()) == 1 and line.startswith("    ") for line in lines]
    assert not any(all(alone[i:i + 2]) for i in range(len(alone))), text[:2000]  # never a word per line
    if command == "datasets":
        assert NPZ in " ".join(text.split())  # a note may wrap at the width


def test_a_wide_terminal_gets_a_table_with_whole_descriptions(tmp_path):
    text = _on_terminal(["plugins"], tmp_path, 200)
    assert "┃ kind" in text and GRU in text
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 200
