"""Witness generation, trusted setup and Groth16 proving, driving circom and snarkjs."""
