// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The part of StateSender a bridge uses.
interface IStateSender {
    function syncState(address receiver, bytes calldata data) external;
}

/// @title RootBridge
/// @notice A sample rootchain bridge: ether deposited here is announced through StateSender as
///         abi.encode(to, amount) for ChildToken, which mints it on the child chain once proven.
/// @dev The ether stays locked here; withdrawals (the other direction) are out of this sample.
contract RootBridge {
    /// @notice The rootchain StateSender.
    IStateSender public immutable stateSender;
    /// @notice The ChildToken on the child chain.
    address public immutable childToken;

    error RootBridge__NothingDeposited();
    error RootBridge__ZeroRecipient();

    constructor(IStateSender stateSender_, address childToken_) {
        stateSender = stateSender_;
        childToken = childToken_;
    }

    /// @notice Deposit msg.value for `to` on the child chain.
    function deposit(address to) external payable {
        if (msg.value == 0) revert RootBridge__NothingDeposited();
        if (to == address(0)) revert RootBridge__ZeroRecipient();
        stateSender.syncState(childToken, abi.encode(to, msg.value));
    }
}
