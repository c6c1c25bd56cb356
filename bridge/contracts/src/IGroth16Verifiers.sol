// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// The snarkjs-generated verifiers (`snarkjs zkey export solidityverifier`), one per circuit.
// They differ only in the number of public signals, which the ABI fixes. Public signals are in
// snarkjs order: the circuit's outputs first, then its public inputs (docs/PROTOCOL.md, section 4).
// A snarkjs verifier returns false (it does not revert) for a false proof, a signal >= r, and
// also when a precompile runs out of gas: callers must give it enough gas.

/// @notice HeaderUpdate(V): [headerHash, number, eventRoot, trustedHeaderHash].
interface IHeaderUpdateVerifier {
    function verifyProof(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[4] calldata pubSignals
    ) external view returns (bool);
}

/// @notice StateSync(V, D, B): [headerHash, number, eventRoot, trustedHeaderHash, gamma, eventsCommitment].
interface IStateSyncVerifier {
    function verifyProof(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[6] calldata pubSignals
    ) external view returns (bool);
}

/// @notice EventInclusion(D, B): [eventRoot, gamma, eventsCommitment].
interface IEventInclusionVerifier {
    function verifyProof(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[3] calldata pubSignals
    ) external view returns (bool);
}

/// @notice CheckpointUpdate(V), the exit direction:
///         [checkpointHash, number, exitRootHigh, exitRootLow, trustedCheckpointHash], where the
///         256-bit keccak exit root is exitRootHigh * 2^128 + exitRootLow (each limb below 2^128,
///         so no bit is lost to the field).
interface ICheckpointUpdateVerifier {
    function verifyProof(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[5] calldata pubSignals
    ) external view returns (bool);
}
