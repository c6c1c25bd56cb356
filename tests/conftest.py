"""Shared test configuration: artefacts go to a per-session build cache unless told otherwise."""
