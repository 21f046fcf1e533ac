"""The package layout is the architecture: each layer imports only the layers below it.

interfaces (cli, lsp, report) > pipeline > frontends > salesforce (knowledge) > engine. The
contract lives in pyproject.toml ([tool.importlinter]); this test runs import-linter on it, so a
frontend that reaches into the pipeline, or an engine module that learns a Salesforce name, fails CI.
"""
from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_imports_follow_the_layers(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # import-linter reads pyproject.toml and imports the package from here
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "1 kept, 0 broken" in out

