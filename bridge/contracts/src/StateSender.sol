// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title StateSender
/// @notice The rootchain side of StateSync, as in Polygon Edge: anyone may send bytes to a
///         receiver on the child chain; validators put every StateSynced event in the next
///         header's event tree, and the child chain's ZkStateReceiver executes it once proven.
/// @dev Ids count from 1 with no gaps, which lets the receiver replace a per-id replay map
///      with one counter.
contract StateSender {
    /// @notice The largest payload, in bytes (Edge's limit).
    uint256 public constant MAX_LENGTH = 2048;

    /// @notice The id of the last event emitted (0 before the first one).
    uint256 public counter;

    /// @notice A message for `receiver` on the child chain.
    /// @param id Consecutive from 1.
    /// @param sender The caller of syncState, which the receiver should authenticate.
    /// @param receiver The child-chain contract whose onStateReceive gets `data`.
    /// @param data The payload.
    event StateSynced(uint256 indexed id, address indexed sender, address indexed receiver, bytes data);

    /// @notice The receiver is the zero address (no contract can live there).
    error StateSender__ZeroReceiver();
    /// @notice The payload is longer than MAX_LENGTH.
    error StateSender__DataTooLong(uint256 length, uint256 maxLength);

    /// @notice Emit a StateSynced event for `receiver` carrying `data`.
    /// @param receiver The child-chain contract to call; must not be zero.
    /// @param data The payload, at most MAX_LENGTH bytes.
    function syncState(address receiver, bytes calldata data) external {
        if (receiver == address(0)) revert StateSender__ZeroReceiver();
        if (data.length > MAX_LENGTH) revert StateSender__DataTooLong(data.length, MAX_LENGTH);
        emit StateSynced(++counter, msg.sender, receiver, data);
    }
}
