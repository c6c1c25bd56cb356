// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title AbiDecodeProbe
/// @notice What Solidity's own abi.decode makes of an exit leaf, for the test that shows why
///         ZkExitHelper checks the leaf's encoding by hand: abi.decode refuses dirty address bits
///         but reads a non-canonical data offset, trailing bytes or non-zero padding as the same
///         fields, so several byte strings (several leaf hashes) would decode to one exit.
contract AbiDecodeProbe {
    function decode(bytes calldata leaf)
        external
        pure
        returns (uint256 id, address sender, address receiver, bytes memory data)
    {
        (id, sender, receiver, data) = abi.decode(leaf, (uint256, address, address, bytes));
    }
}
