// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IStateReceiver
/// @notice What a contract on the child chain implements to receive StateSync events (Edge's
///         interface, unchanged, so Edge receivers work as they are).
interface IStateReceiver {
    /// @notice Called once per proven event, with a bounded gas stipend.
    /// @param id The event's id, as the rootchain StateSender numbered it (consecutive from 1).
    /// @param sender The rootchain account that called StateSender.syncState. A receiver must
    ///        check it: anyone can send a StateSync event to any receiver.
    /// @param data The event's payload, at most 2048 bytes.
    function onStateReceive(uint256 id, address sender, bytes calldata data) external;
}
