// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IL2StateReceiver} from "../src/IL2StateReceiver.sol";
import {TokenBucketQueue} from "./TokenBucketQueue.sol";

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
///      ChildToken count (L2StateSender lets anyone send an exit to any receiver).
///      Payouts are rate-limited without loss (TokenBucketQueue): a withdrawal that does not fit the
///      bucket is queued and paid later by releaseQueued, and the exit succeeds either way.
///      Payment policy: each payout calls `to` with exactly PAYOUT_GAS (the call is refused with
///      InsufficientGas, reverting, if less would reach it, so a caller cannot starve a payee into
///      failing). A payee that refuses the ether, or needs more gas, does not block anything: its
///      amount moves to claimable[to], which `to` withdraws with claim(destination), to an address
///      of its choice, with all the gas it wants. So a recipient that reverts forever cannot hold
///      up the FIFO queue (its item leaves the queue like any other), costs a releaser at most
///      PAYOUT_GAS, and loses nothing. At every moment: paid + totalClaimable + queuedValue + claimed
///      is the sum of the withdrawals delivered.
contract RootBridge is IL2StateReceiver, TokenBucketQueue {
    /// @notice The gas each payout call gets (a contract wallet's receive fits; more is claim()'s).
    uint256 public constant PAYOUT_GAS = 50_000;
    /// @dev What must be left before a payout call so that PAYOUT_GAS reaches the payee: the call's
    ///      own cost (value transfer, a cold and possibly new account: at most 36,600) and 1/64.
    uint256 private constant _PAYOUT_GAS_NEEDED = 100_000;

    /// @notice The rootchain StateSender.
    IStateSender public immutable stateSender;
    /// @notice The ChildToken on the child chain.
    address public immutable childToken;
    /// @notice The ZkExitHelper allowed to deliver withdrawals, or zero: then none is accepted
    ///         (a deployment without the exit path).
    address public immutable exitHelper;

    /// @notice What each account may claim: payouts its address refused.
    mapping(address account => uint256 amount) public claimable;
    /// @notice The sum of claimable.
    uint256 public totalClaimable;

    /// @notice Exit `id` paid `amount` wei to `to` (at once, or released from the queue:
    ///         TransferQueued and TransferReleased then say when).
    event Withdrawn(uint256 indexed id, address indexed to, uint256 amount);
    /// @notice Exit `id`'s payout to `to` failed: `amount` was added to claimable[to] instead.
    event WithdrawalClaimable(uint256 indexed id, address indexed to, uint256 amount);
    /// @notice `account` claimed `amount` wei, paid to `destination`.
    event Claimed(address indexed account, address indexed destination, uint256 amount);

    error RootBridge__NothingDeposited();
    error RootBridge__ZeroRecipient();
    error RootBridge__NotExitHelper(address caller);
    error RootBridge__UnknownSender(address sender);
    error RootBridge__TransferFailed(address to, uint256 amount);
    error RootBridge__NothingToClaim();
    error RootBridge__InsufficientGas();

    /// @param stateSender_ The rootchain StateSender deposits are announced through.
    /// @param childToken_ The ChildToken on the child chain (mints deposits, sends withdrawals).
    /// @param exitHelper_ The rootchain ZkExitHelper, or address(0) for a deposit-only bridge.
    /// @param limit The withdrawals' rate limit (TokenBucketQueue).
    constructor(IStateSender stateSender_, address childToken_, address exitHelper_, RateLimit memory limit)
        TokenBucketQueue(limit)
    {
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
        _arrive(id, to, amount);
    }

    /// @notice Pay the caller's claimable balance to `destination`, with all the gas left; reverts
    ///         (keeping the balance) if the payment fails.
    function claim(address destination) external nonReentrant {
        if (destination == address(0)) revert RootBridge__ZeroRecipient();
        uint256 amount = claimable[msg.sender];
        if (amount == 0) revert RootBridge__NothingToClaim();
        claimable[msg.sender] = 0;
        totalClaimable -= amount;
        emit Claimed(msg.sender, destination, amount);
        (bool paid,) = destination.call{value: amount}("");
        if (!paid) revert RootBridge__TransferFailed(destination, amount);
    }

    /// @dev Pay a withdrawal that left the bucket or the queue, with PAYOUT_GAS; a payout that
    ///      fails becomes claimable (see the contract's policy).
    function _deliver(uint256 id, address to, uint256 amount) internal override {
        if (gasleft() < _PAYOUT_GAS_NEEDED) revert RootBridge__InsufficientGas();
        bool paid;
        assembly ("memory-safe") {
            // No return data is copied: a payee cannot make the payer pay for a large one.
            paid := call(PAYOUT_GAS, to, amount, 0, 0, 0, 0)
        }
        if (paid) {
            emit Withdrawn(id, to, amount);
        } else {
            claimable[to] += amount;
            totalClaimable += amount;
            emit WithdrawalClaimable(id, to, amount);
        }
    }
}
