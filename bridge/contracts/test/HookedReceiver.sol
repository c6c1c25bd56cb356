// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IStateReceiver} from "../src/IStateReceiver.sol";

/// @title HookedReceiver
/// @notice A receiver whose outcome depends on the gas it gets: it credits the event, then runs a
///         follow-up hook of nearly HOOK_GAS in a try/catch. Given its full stipend the hook runs;
///         starved, it would report success with the hook skipped. The audit's griefing receiver.
contract HookedReceiver is IStateReceiver {
    uint256 public constant HOOK_GAS = 400_000;
    mapping(uint256 id => bool) public credited;
    mapping(uint256 id => bool) public hooked;
    mapping(uint256 id => mapping(uint256 slot => uint256)) private _scratch;

    /// @inheritdoc IStateReceiver
    function onStateReceive(uint256 id, address, bytes calldata) external {
        credited[id] = true;
        try this.hook{gas: HOOK_GAS}(id) {} catch {}
    }

    /// @notice The follow-up work: fifteen fresh slots and the mark (~355k gas, within HOOK_GAS).
    function hook(uint256 id) external {
        if (msg.sender != address(this)) revert();
        for (uint256 i; i < 15; ++i) {
            _scratch[id][i] = i + 1;
        }
        hooked[id] = true;
    }
}
