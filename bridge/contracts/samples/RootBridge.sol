// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IL2StateReceiver} from "../src/IL2StateReceiver.sol";

/// @notice The part of StateSender a bridge uses.
interface IStateSender {
    function syncState(address receiver, bytes calldata data) external;
}

/// @title RootBridge
/// @notice A sample rootchain bridge: ether deposited here is announced through StateSender as
///         abi.encode(to, amount) for ChildToken, which mints it on the child chain once proven.
///         The ether stays locked here until ChildToken burns the tokens in a withdrawal, whose
///         exit ZkExitHelper delivers with a Merkle proof: then it is paid to the exit's `to`.
/// @dev Withdrawals are exits: only the exit helper may deliver them, and only exits sent by
///      ChildToken count (L2StateSender lets anyone send an exit to any receiver). A payment that
///      fails reverts the exit, which the helper leaves retryable.
contract RootBridge is IL2StateReceiver {
    /// @notice The rootchain StateSender.
    IStateSender public immutable stateSender;
    /// @notice The ChildToken on the child chain.
    address public immutable childToken;
    /// @notice The ZkExitHelper allowed to deliver withdrawals, or zero: then none is accepted
    ///         (a deployment without the exit path).
    address public immutable exitHelper;

    /// @notice Exit `id` paid `amount` wei to `to`.
    event Withdrawn(uint256 indexed id, address indexed to, uint256 amount);

    error RootBridge__NothingDeposited();
    error RootBridge__ZeroRecipient();
    error RootBridge__NotExitHelper(address caller);
    error RootBridge__UnknownSender(address sender);
    error RootBridge__TransferFailed(address to, uint256 amount);

    /// @param stateSender_ The rootchain StateSender deposits are announced through.
    /// @param childToken_ The ChildToken on the child chain (mints deposits, sends withdrawals).
    /// @param exitHelper_ The rootchain ZkExitHelper, or address(0) for a deposit-only bridge.
    constructor(IStateSender stateSender_, address childToken_, address exitHelper_) {
        stateSender = stateSender_;
        childToken = childToken_;
        exitHelper = exitHelper_;
    }

    /// @notice Deposit msg.value for `to` on the child chain.
    function deposit(address to) external payable {
        if (msg.value == 0) revert RootBridge__NothingDeposited();
        if (to == address(0)) revert RootBridge__ZeroRecipient();
        stateSender.syncState(childToken, abi.encode(to, msg.value));
    }

    /// @inheritdoc IL2StateReceiver
    function onL2StateReceive(uint256 id, address sender, bytes calldata data) external {
        // exitHelper == 0 never matches a caller: a deposit-only bridge refuses every exit.
        if (msg.sender != exitHelper) revert RootBridge__NotExitHelper(msg.sender);
        if (sender != childToken) revert RootBridge__UnknownSender(sender);
        (address to, uint256 amount) = abi.decode(data, (address, uint256));
        if (to == address(0)) revert RootBridge__ZeroRecipient();
        emit Withdrawn(id, to, amount);
        (bool paid,) = to.call{value: amount}("");
        if (!paid) revert RootBridge__TransferFailed(to, amount);
    }
}
