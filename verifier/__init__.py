"""Strict Groth16 verification in Python, the light client, and Solidity deployment."""
