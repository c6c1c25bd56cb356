// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IZkCheckpointManager
/// @notice The rootchain end of the exit direction, with a Groth16 proof in place of Edge's BLS
///         checkpoint: the contract trusts one child-chain checkpoint (stored as its Poseidon hash)
///         and moves it forward with CheckpointUpdate proofs, keeping every accepted checkpoint's
///         keccak exit root for ZkExitHelper. docs/PROTOCOL.md specifies every value here.
interface IZkCheckpointManager {
    /// @notice A Groth16 proof as snarkjs's calldata exporter writes it (pB in EIP-197 order).
    struct Proof {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    /// @notice A checkpoint became the trusted one; exits under its exit root may now execute.
    event CheckpointAccepted(uint256 indexed number, uint256 checkpointHash, bytes32 exitRoot);

    /// @notice A constructor argument is unusable (a verifier without code, a zero or
    ///         non-canonical genesis hash).
    error ZkCheckpointManager__InvalidConfiguration(string what);
    /// @notice A public input is not below the BN254 scalar field order r (or a number not below 2^64).
    error ZkCheckpointManager__NotCanonical(uint256 value);
    /// @notice The proven checkpoint does not come after the trusted one.
    error ZkCheckpointManager__NumberNotRising(uint256 number, uint256 lastNumber);
    /// @notice A zero exit root: never a tree's root (the empty tree's is not 0), always refused.
    error ZkCheckpointManager__ZeroExitRoot();
    /// @notice The verifier rejected the proof for these public signals.
    error ZkCheckpointManager__InvalidProof();
    /// @notice The transaction's gas ran short of what the verifier must be given.
    error ZkCheckpointManager__InsufficientGas();

    /// @notice Move the trusted checkpoint to one proven by a CheckpointUpdate proof.
    /// @param proof The Groth16 proof for [checkpointHash, number, exitRoot >> 128,
    ///        exitRoot & (2^128 - 1), trustedCheckpointHash].
    /// @param checkpointHash The new checkpoint's Poseidon hash, below r.
    /// @param number The new checkpoint's number, above lastNumber and below 2^64.
    /// @param exitRoot The new checkpoint's keccak exit root, non-zero; stored for exits.
    function submit(Proof calldata proof, uint256 checkpointHash, uint256 number, bytes32 exitRoot) external;

    /// @notice The trusted checkpoint: the Poseidon hash of the last accepted one.
    function trustedCheckpointHash() external view returns (uint256);

    /// @notice The trusted checkpoint's number.
    function lastNumber() external view returns (uint64);

    /// @notice The exit root of the accepted checkpoint with this number (0: none accepted).
    function exitRootOf(uint256 number) external view returns (bytes32);
}
