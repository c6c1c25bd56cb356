// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IZkStateReceiver} from "./IZkStateReceiver.sol";

/// @title StateSyncBatch
/// @notice The batch commitment of docs/PROTOCOL.md, section 4, as statesync/model.py's
///         compute_batch_commitment computes it:
///           v = [firstId, n, sender_0, receiver_0, dataHash_0, ...], zero-padded to 2 + 3B words,
///           gamma = uint256(keccak256(abi.encodePacked(eventRoot, v))) mod r,
///           eventsCommitment = sum_j v[j] * gamma^(j+1) mod r.
/// @dev The library checks the batch's shape (1 <= n <= B, ids firstId, firstId + 1, ...) and its
///      calldata encoding; the caller checks that eventRoot < r.
library StateSyncBatch {
    /// @notice The BN254 scalar field order.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice gamma and eventsCommitment of `events`, which must hold 1 to `batchSize` events
    ///         with ids firstId, firstId + 1, ... (reverts with the receiver's errors otherwise).
    function commit(
        uint256 eventRoot,
        IZkStateReceiver.StateSync[] calldata events,
        uint256 batchSize,
        uint256 firstId
    ) internal pure returns (uint256 gamma, uint256 commitment) {
        return commitWords(encode(eventRoot, events, batchSize, firstId), events.length);
    }

    /// @notice [eventRoot, v...]: the words gamma hashes, v zero-padded to 2 + 3 * batchSize.
    function encode(
        uint256 eventRoot,
        IZkStateReceiver.StateSync[] calldata events,
        uint256 batchSize,
        uint256 firstId
    ) internal pure returns (uint256[] memory words) {
        uint256 n = events.length;
        if (n == 0 || n > batchSize) revert IZkStateReceiver.ZkStateReceiver__BatchSize(n, batchSize);
        words = new uint256[](3 + 3 * batchSize);
        words[0] = eventRoot;
        words[1] = firstId;
        words[2] = n;
        _writeEvents(words, events, firstId);
    }

    /// @notice gamma = keccak256(words) mod r, and sum_j v[j] * gamma^(j+1) mod r over v = words[1:].
    /// @param n The number of events: v[2 + 3n ..] is padding.
    function commitWords(uint256[] memory words, uint256 n) internal pure returns (uint256 gamma, uint256 commitment) {
        assembly ("memory-safe") {
            gamma := mod(keccak256(add(words, 0x20), mul(mload(words), 0x20)), R)
        }
        // Horner from the last non-padding word down: acc = (acc + v[j]) * gamma. The zero
        // padding after it would leave acc at 0, so skipping it changes nothing and costs O(n).
        assembly ("memory-safe") {
            let r := R
            for { let p := add(words, mul(add(3, mul(3, n)), 0x20)) } gt(p, add(words, 0x20)) { p := sub(p, 0x20) } {
                commitment := mulmod(addmod(commitment, mload(p), r), gamma, r)
            }
        }
    }

    /// @dev words[3 + 3i ..] = sender_i, receiver_i, dataHash_i, checking ids as it goes.
    ///      The calldata is read raw, with the checks Solidity's decoder would make: offsets below
    ///      2^64 (no wrap-around), each event's head and data inside the calldata, addresses with
    ///      clean upper bits. The receiver's execution loop relies on these checks.
    ///      dataHash_i = uint256(keccak256(data_i)) mod r, as the event leaf takes it.
    function _writeEvents(uint256[] memory words, IZkStateReceiver.StateSync[] calldata events, uint256 firstId)
        private
        pure
    {
        uint256 n = events.length;
        uint256 failure; // 1: malformed, 2: unexpected id (at `index`, with id `found`)
        uint256 index;
        uint256 found;
        assembly ("memory-safe") {
            let base := events.offset
            let slot := add(words, 0x80) // words[3]
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let e := add(base, calldataload(add(base, shl(5, i))))
                let data := add(e, calldataload(add(e, 0x60)))
                let length := calldataload(data)
                let sender := calldataload(add(e, 0x20))
                let receiver := calldataload(add(e, 0x40))
                if or(
                    or(gt(calldataload(add(base, shl(5, i))), 0xffffffffffffffff), gt(add(e, 0x80), calldatasize())),
                    or(
                        or(gt(calldataload(add(e, 0x60)), 0xffffffffffffffff), gt(length, 0xffffffffffffffff)),
                        or(gt(add(add(data, 0x20), length), calldatasize()), shr(160, or(sender, receiver)))
                    )
                ) {
                    failure := 1
                    break
                }
                found := calldataload(e)
                if iszero(eq(found, add(firstId, i))) {
                    failure := 2
                    index := i
                    break
                }
                let buffer := mload(0x40) // scratch past the free pointer for keccak(data)
                calldatacopy(buffer, add(data, 0x20), length)
                mstore(slot, sender)
                mstore(add(slot, 0x20), receiver)
                mstore(add(slot, 0x40), mod(keccak256(buffer, length), R))
                slot := add(slot, 0x60)
            }
        }
        if (failure == 1) revert IZkStateReceiver.ZkStateReceiver__MalformedBatch();
        if (failure == 2) revert IZkStateReceiver.ZkStateReceiver__UnexpectedId(firstId + index, found);
    }
}
