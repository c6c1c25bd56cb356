// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IStateReceiver} from "../src/IStateReceiver.sol";
import {TokenBucketQueue} from "./TokenBucketQueue.sol";

/// @notice The part of L2StateSender a withdrawal uses.
interface IL2StateSender {
    function syncState(address receiver, bytes calldata data) external;
}

/// @title ChildToken
/// @notice A sample bridge token on the child chain: minted by deposits made on the rootchain,
///         burnt by withdrawals, which RootBridge pays out on the rootchain. A deposit is a
///         StateSync event from `rootBridge` whose data is abi.encode(address to, uint256 amount);
///         a withdrawal is an exit (L2StateSender) to `rootBridge` with the same encoding.
/// @dev Both deposit checks matter: only the ZkStateReceiver can deliver proven events, and only
///      the rootchain bridge may order a mint (StateSender lets anyone send to any receiver).
///      Likewise RootBridge only pays exits from this contract, so only burnt tokens are paid.
///      Deposits are rate-limited without loss (TokenBucketQueue): one that does not fit the bucket
///      is queued and minted later by releaseQueued, and the callback succeeds either way, so the
///      event counts as executed in its order. At every moment totalSupply + queuedValue is what
///      was deposited minus what was withdrawn. Withdrawals are not limited here (RootBridge
///      limits their payout on the rootchain).
contract ChildToken is IStateReceiver, TokenBucketQueue {
    /// @notice The contract allowed to call onStateReceive.
    address public immutable stateReceiver;
    /// @notice The rootchain contract whose events are deposits, and which withdrawals pay out from.
    address public immutable rootBridge;
    /// @notice This chain's L2StateSender, or zero: then withdrawals are disabled (a deployment
    ///         without the exit path must not burn tokens that nothing would pay out).
    IL2StateSender public immutable l2StateSender;

    uint256 public totalSupply;
    mapping(address account => uint256 amount) public balanceOf;

    /// @notice `amount` tokens were minted to `to` by deposit event `id` (at once, or released from
    ///         the queue: TransferQueued and TransferReleased then say when).
    event Deposited(uint256 indexed id, address indexed to, uint256 amount);
    /// @notice `from` burnt `amount` tokens, to be paid to `to` on the rootchain once the exit is proven.
    event WithdrawalStarted(address indexed from, address indexed to, uint256 amount);

    error ChildToken__NotStateReceiver(address caller);
    error ChildToken__UnknownSender(address sender);
    error ChildToken__ZeroRecipient();
    error ChildToken__NothingToWithdraw();
    error ChildToken__InsufficientBalance(uint256 balance, uint256 amount);
    error ChildToken__WithdrawalsDisabled();

    /// @param stateReceiver_ The ZkStateReceiver of this chain.
    /// @param rootBridge_ The rootchain contract that calls StateSender.syncState for deposits.
    /// @param l2StateSender_ This chain's L2StateSender, or address(0) for a deposit-only token.
    /// @param limit The deposits' rate limit (TokenBucketQueue).
    constructor(address stateReceiver_, address rootBridge_, IL2StateSender l2StateSender_, RateLimit memory limit)
        TokenBucketQueue(limit)
    {
        stateReceiver = stateReceiver_;
        rootBridge = rootBridge_;
        l2StateSender = l2StateSender_;
    }

    /// @inheritdoc IStateReceiver
    function onStateReceive(uint256 id, address sender, bytes calldata data) external {
        if (msg.sender != stateReceiver) revert ChildToken__NotStateReceiver(msg.sender);
        if (sender != rootBridge) revert ChildToken__UnknownSender(sender);
        (address to, uint256 amount) = abi.decode(data, (address, uint256));
        if (to == address(0)) revert ChildToken__ZeroRecipient();
        _arrive(id, to, amount);
    }

    /// @notice Burn `amount` of the caller's tokens and send an exit for RootBridge to pay `amount`
    ///         wei to `to` on the rootchain.
    function withdraw(address to, uint256 amount) external {
        IL2StateSender sender = l2StateSender;
        if (address(sender) == address(0)) revert ChildToken__WithdrawalsDisabled();
        if (to == address(0)) revert ChildToken__ZeroRecipient();
        if (amount == 0) revert ChildToken__NothingToWithdraw();
        uint256 balance = balanceOf[msg.sender];
        if (balance < amount) revert ChildToken__InsufficientBalance(balance, amount);
        // Burn before the exit is sent: the exit is the claim on the locked ether.
        unchecked {
            balanceOf[msg.sender] = balance - amount;
            totalSupply -= amount;
        }
        sender.syncState(rootBridge, abi.encode(to, amount));
        emit WithdrawalStarted(msg.sender, to, amount);
    }

    /// @dev Mint a deposit that left the bucket or the queue.
    function _deliver(uint256 id, address to, uint256 amount) internal override {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Deposited(id, to, amount);
    }
}
