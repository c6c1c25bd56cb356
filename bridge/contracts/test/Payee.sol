// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The parts of RootBridge a payee uses.
interface IRootBridgePayer {
    function claim(address destination) external;
    function releaseQueued(uint256 maxCount) external returns (uint256);
}

/// @title Payee
/// @notice A withdrawal's recipient for RootBridge's payment paths: it takes ether, or fails in the
///         way its mode says, and it can claim what RootBridge kept for it.
contract Payee {
    enum Mode {
        Accept, // take the ether
        Refuse, // revert, forever
        BurnGas, // use up all the gas it is given (INVALID)
        Reenter // call the bridge's releaseQueued(1) and revert with what it said if it failed
    }

    Mode public mode;
    IRootBridgePayer public bridge;
    /// @notice How much ether it took, in how many payments.
    uint256 public received;
    uint256 public payments;

    function setMode(Mode mode_, IRootBridgePayer bridge_) external {
        mode = mode_;
        bridge = bridge_;
    }

    /// @notice Claim this contract's balance at the bridge, paid to `destination`.
    function claimTo(address destination) external {
        bridge.claim(destination);
    }

    receive() external payable {
        Mode m = mode;
        if (m == Mode.Refuse) revert("Payee: refused");
        if (m == Mode.BurnGas) {
            assembly {
                invalid()
            }
        }
        if (m == Mode.Reenter) {
            try bridge.releaseQueued(1) {}
            catch (bytes memory reason) {
                assembly {
                    revert(add(reason, 0x20), mload(reason))
                }
            }
        }
        received += msg.value;
        payments += 1;
    }
}
