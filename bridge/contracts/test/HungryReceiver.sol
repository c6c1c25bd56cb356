// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IStateReceiver} from "../src/IStateReceiver.sol";

/// @title HungryReceiver
/// @notice A receiver that writes `slots` fresh storage slots per event (data = abi.encode(slots)):
///         ~22.1k gas each, like Edge's ChildERC20Predicate mapping a token (clone + initialize,
///         345,871 gas), so a test can need more than any stipend it chooses.
contract HungryReceiver is IStateReceiver {
    mapping(uint256 id => mapping(uint256 slot => uint256)) public written;
    uint256 public received;

    /// @inheritdoc IStateReceiver
    function onStateReceive(uint256 id, address, bytes calldata data) external {
        uint256 slots = abi.decode(data, (uint256));
        for (uint256 i; i < slots; ++i) {
            written[id][i] = i + 1;
        }
        received += 1;
    }
}
