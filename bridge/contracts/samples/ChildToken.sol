// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IStateReceiver} from "../src/IStateReceiver.sol";

/// @title ChildToken
/// @notice A sample bridge receiver: a token on the child chain minted by deposits made on the
///         rootchain. A deposit is a StateSync event from `rootBridge` whose data is
///         abi.encode(address to, uint256 amount).
/// @dev Both checks matter: only the ZkStateReceiver can deliver proven events, and only the
///      rootchain bridge may order a mint (StateSender lets anyone send to any receiver).
contract ChildToken is IStateReceiver {
    /// @notice The contract allowed to call onStateReceive.
    address public immutable stateReceiver;
    /// @notice The rootchain contract whose events are deposits.
    address public immutable rootBridge;

    uint256 public totalSupply;
    mapping(address account => uint256 amount) public balanceOf;

    /// @notice `amount` tokens were minted to `to` by deposit event `id`.
    event Deposited(uint256 indexed id, address indexed to, uint256 amount);

    error ChildToken__NotStateReceiver(address caller);
    error ChildToken__UnknownSender(address sender);
    error ChildToken__ZeroRecipient();

    /// @param stateReceiver_ The ZkStateReceiver of this chain.
    /// @param rootBridge_ The rootchain contract that calls StateSender.syncState for deposits.
    constructor(address stateReceiver_, address rootBridge_) {
        stateReceiver = stateReceiver_;
        rootBridge = rootBridge_;
    }

    /// @inheritdoc IStateReceiver
    function onStateReceive(uint256 id, address sender, bytes calldata data) external {
        if (msg.sender != stateReceiver) revert ChildToken__NotStateReceiver(msg.sender);
        if (sender != rootBridge) revert ChildToken__UnknownSender(sender);
        (address to, uint256 amount) = abi.decode(data, (address, uint256));
        if (to == address(0)) revert ChildToken__ZeroRecipient();
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Deposited(id, to, amount);
    }
}
