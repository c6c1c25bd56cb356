// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title L2StateSender
/// @notice The child-chain side of exits, as in Polygon Edge: anyone may send bytes to a receiver
///         on the rootchain. Nothing executes here: validators put every L2StateSynced event in
///         the next checkpoint's keccak exit tree, the rootchain's ZkCheckpointManager accepts the
///         checkpoint with a proof, and anyone then executes the exit through ZkExitHelper.
/// @dev Ids count from 1 with no gaps (Edge's numbering): the exit helper's replay bitmap packs
///      256 consecutive ids in one storage word.
contract L2StateSender {
    /// @notice The largest payload, in bytes (Edge's limit).
    uint256 public constant MAX_LENGTH = 2048;

    /// @notice The id of the last exit emitted (0 before the first one).
    uint256 public counter;

    /// @notice A message for `receiver` on the rootchain.
    /// @param id Consecutive from 1.
    /// @param sender The caller of syncState, which the receiver should authenticate.
    /// @param receiver The rootchain contract whose onL2StateReceive gets `data`.
    /// @param data The payload.
    event L2StateSynced(uint256 indexed id, address indexed sender, address indexed receiver, bytes data);

    /// @notice The receiver is the zero address (no contract can live there).
    error L2StateSender__ZeroReceiver();
    /// @notice The payload is longer than MAX_LENGTH.
    error L2StateSender__DataTooLong(uint256 length, uint256 maxLength);

    /// @notice Emit an L2StateSynced event for `receiver` carrying `data`.
    /// @param receiver The rootchain contract to call; must not be zero.
    /// @param data The payload, at most MAX_LENGTH bytes.
    function syncState(address receiver, bytes calldata data) external {
        if (receiver == address(0)) revert L2StateSender__ZeroReceiver();
        if (data.length > MAX_LENGTH) revert L2StateSender__DataTooLong(data.length, MAX_LENGTH);
        emit L2StateSynced(++counter, msg.sender, receiver, data);
    }
}
