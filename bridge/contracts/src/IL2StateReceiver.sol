// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IL2StateReceiver
/// @notice What a rootchain contract implements to receive exits from the child chain: Edge's
///         interface (core-contracts' IL2StateReceiver), unchanged, so receivers written for
///         Edge's ExitHelper (its RootERC20Predicate and the others) work with ZkExitHelper as they are.
/// @dev No return value, as in Edge: the helper calls it with a low-level call and logs whatever
///      the receiver returns or reverts with, so a receiver may also return data.
interface IL2StateReceiver {
    /// @notice Called once per proven exit, by the exit helper, with the caller's gas.
    /// @param id The exit's id, as the child chain's L2StateSender numbered it (consecutive from 1).
    /// @param sender The child-chain account that called L2StateSender.syncState. A receiver must
    ///        check it: anyone can send an exit to any receiver.
    /// @param data The exit's payload, at most 2048 bytes.
    function onL2StateReceive(uint256 id, address sender, bytes calldata data) external;
}
