// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IL2StateReceiver} from "../src/IL2StateReceiver.sol";

/// @title NoopL2Receiver
/// @notice Accepts every exit and does nothing: what per-exit gas figures are measured with, so
///         they count the exit helper's work and not the application's.
contract NoopL2Receiver is IL2StateReceiver {
    /// @inheritdoc IL2StateReceiver
    function onL2StateReceive(uint256, address, bytes calldata) external {}
}
