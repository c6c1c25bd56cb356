// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ICheckpointUpdateVerifier} from "./IGroth16Verifiers.sol";
import {IZkCheckpointManager} from "./IZkCheckpointManager.sol";

/// @title ZkCheckpointManager
/// @notice Accepts child-chain checkpoints on the rootchain once a Groth16 proof shows that the
///         child chain's validators finalised them (docs/PROTOCOL.md). Replaces Edge's
///         CheckpointManager and its on-chain BLS aggregation (~324k gas + 18.2k per validator +
///         20.3k per signer on a standard EVM, ~840k at 16 validators with 11 signing; ~280k here
///         whatever the set): no validator set is stored, only the hash of the last accepted
///         checkpoint, which the circuit links every new checkpoint to, and each checkpoint's exit root.
/// @dev * Exit roots are kept by checkpoint number in a mapping, so ZkExitHelper finds one in O(1)
///        whatever the number of checkpoints stored (Edge binary-searches its checkpoints' block
///        numbers: +22.6k gas per exit at 1,024 checkpoints).
///      * The exit root is a 256-bit keccak root; the circuit takes it as two 128-bit limbs, so
///        both are canonical field elements by construction and no two roots share signals.
///      * The genesis checkpoint's own exits cannot be proven here (its root is not stored):
///        exits start in the range after it, as events do in ZkStateReceiver.
contract ZkCheckpointManager is IZkCheckpointManager {
    /// @notice Gas given to the verifier: a snarkjs verifier with 5 signals needs ~225k; it returns
    ///         false rather than reverting when a precompile runs short, so it must get enough.
    uint256 public constant VERIFIER_GAS = 300_000;

    /// @dev The BN254 scalar field order.
    uint256 private constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 private constant LIMB_MASK = (1 << 128) - 1;

    /// @notice The snarkjs verifier of the CheckpointUpdate circuit (5 signals).
    ICheckpointUpdateVerifier public immutable verifier;

    /// @inheritdoc IZkCheckpointManager
    uint256 public trustedCheckpointHash;
    /// @inheritdoc IZkCheckpointManager
    uint64 public lastNumber;
    /// @dev Shares lastNumber's slot and is never 0, so the slot is non-zero from deployment: the
    ///      first submit after a genesis at number 0 rewrites it (5k) instead of filling it (22.1k).
    uint8 private _slotInUse = 1;
    /// @inheritdoc IZkCheckpointManager
    mapping(uint256 number => bytes32 exitRoot) public exitRootOf;

    /// @param verifier_ The snarkjs verifier of the CheckpointUpdate circuit.
    /// @param genesisCheckpointHash The hash of the checkpoint trusted out of band.
    /// @param genesisNumber That checkpoint's number.
    constructor(ICheckpointUpdateVerifier verifier_, uint256 genesisCheckpointHash, uint64 genesisNumber) {
        // An account without code would "verify" every call: the call succeeds, returning nothing.
        if (address(verifier_).code.length == 0) revert ZkCheckpointManager__InvalidConfiguration("verifier");
        if (genesisCheckpointHash == 0 || genesisCheckpointHash >= R) {
            revert ZkCheckpointManager__InvalidConfiguration("genesisCheckpointHash");
        }
        verifier = verifier_;
        trustedCheckpointHash = genesisCheckpointHash;
        lastNumber = genesisNumber;
    }

    /// @inheritdoc IZkCheckpointManager
    function submit(Proof calldata proof, uint256 checkpointHash, uint256 number, bytes32 exitRoot) external {
        // The verifier would refuse a hash >= r too (checkField), but x and x + r must never both
        // reach it: the contract decides what is canonical, not the generated code.
        if (checkpointHash >= R) revert ZkCheckpointManager__NotCanonical(checkpointHash);
        if (number > type(uint64).max) revert ZkCheckpointManager__NotCanonical(number);
        uint256 last = lastNumber;
        if (number <= last) revert ZkCheckpointManager__NumberNotRising(number, last);
        if (exitRoot == 0) revert ZkCheckpointManager__ZeroExitRoot();
        uint256 root = uint256(exitRoot);
        uint256[5] memory signals = [checkpointHash, number, root >> 128, root & LIMB_MASK, trustedCheckpointHash];
        bool ok;
        try verifier.verifyProof{gas: VERIFIER_GAS}(proof.a, proof.b, proof.c, signals) returns (bool verdict) {
            ok = verdict;
        } catch {}
        _requireVerified(ok);
        trustedCheckpointHash = checkpointHash;
        lastNumber = uint64(number);
        exitRootOf[number] = exitRoot;
        emit CheckpointAccepted(number, checkpointHash, exitRoot);
    }

    /// @dev A verifier that ran short of gas returns false: tell that apart from a false proof,
    ///      since only the first is the submitter's fault. If it was given less than VERIFIER_GAS,
    ///      at most 1/64 of the gas before the call is left.
    function _requireVerified(bool ok) private view {
        if (ok) return;
        if (gasleft() < VERIFIER_GAS / 63) revert ZkCheckpointManager__InsufficientGas();
        revert ZkCheckpointManager__InvalidProof();
    }
}
