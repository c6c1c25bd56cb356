// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IStateReceiver} from "../src/IStateReceiver.sol";

/// @title NoopReceiver
/// @notice Accepts every event and does nothing: what per-event gas figures are measured with,
///         so they count the receiver contract's work and not the application's.
contract NoopReceiver is IStateReceiver {
    /// @inheritdoc IStateReceiver
    function onStateReceive(uint256, address, bytes calldata) external {}
}
