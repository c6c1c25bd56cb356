"""The README's Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    text = README.read_text()
    match = re.search(r"<!-- readme-example:[^>]*-->\n```python\n(.*?)```", text, re.DOTALL)
    assert match, "the README lost its example block"
    exec(compile(match.group(1), str(README), "exec"), {"__name__": "readme_example"})
    assert "[(1, False), (2, False)]" in capsys.readouterr().out
