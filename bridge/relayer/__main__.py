"""`python -m bridge.relayer run --config FILE`."""

from .cli import app

app()
