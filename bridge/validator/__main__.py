"""`python -m bridge.validator run --config FILE` (also keygen, export-slashing, import-slashing)."""

from .cli import app

app()
