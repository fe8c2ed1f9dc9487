"""Ctrl-C during a command ends it with one line and exit code 130 (as ``demo run`` already did),
not a Python traceback from wherever the analysis happened to be (an optical-flow call)."""

from __future__ import annotations

import civicwatch.commands.render as render
from civicwatch.cli import main


def test_ctrl_c_is_one_line_and_exit_code_130(monkeypatch, capsys):
    def interrupted(args):  # noqa: ANN001, ANN202 - stands in for a command's long work
        raise KeyboardInterrupt

    monkeypatch.setattr(render, "run", interrupted)
    assert main(["render", "some-run"]) == 130
    assert capsys.readouterr().err == "civicwatch render: interrupted\n"
