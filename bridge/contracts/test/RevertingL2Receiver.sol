// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IL2StateReceiver} from "../src/IL2StateReceiver.sol";
import {IZkExitHelper} from "../src/IZkExitHelper.sol";

/// @title RevertingL2Receiver
/// @notice An exit receiver for the failure paths: it fails in the way its mode says, or accepts.
contract RevertingL2Receiver is IL2StateReceiver {
    enum Mode {
        Revert, // revert with RevertingL2Receiver__Refused(id)
        BurnGas, // use up all the gas it is given (INVALID)
        HugeRevert, // revert with 10,000 zero bytes
        Reenter, // call the exit helper's batchExit and revert with what it said
        Accept, // count the exit, keep its fields, return 64 bytes
        Hungry // write 10 fresh slots (~220k gas), then accept
    }

    Mode public mode;
    /// @notice How many exits were accepted, and the last one's id, sender and data.
    uint256 public accepted;
    uint256 public lastId;
    address public lastSender;
    bytes public lastData;
    mapping(uint256 id => mapping(uint256 slot => uint256)) public written;

    error RevertingL2Receiver__Refused(uint256 id);

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    /// @inheritdoc IL2StateReceiver
    function onL2StateReceive(uint256 id, address sender, bytes calldata data) external {
        Mode m = mode;
        if (m == Mode.Hungry) {
            for (uint256 i; i < 10; ++i) {
                written[id][i] = i + 1;
            }
            m = Mode.Accept;
        }
        if (m == Mode.Accept) {
            accepted += 1;
            lastId = id;
            lastSender = sender;
            lastData = data;
            assembly {
                mstore(0x00, id)
                mstore(0x20, 0x600d)
                return(0x00, 0x40)
            }
        }
        if (m == Mode.Revert) revert RevertingL2Receiver__Refused(id);
        if (m == Mode.BurnGas) {
            assembly {
                invalid()
            }
        }
        if (m == Mode.HugeRevert) {
            bytes memory zeros = new bytes(10_000);
            assembly {
                revert(add(zeros, 0x20), 10000)
            }
        }
        (, bytes memory reason) =
            msg.sender.call(abi.encodeCall(IZkExitHelper.batchExit, (new IZkExitHelper.BatchExitInput[](0))));
        assembly {
            revert(add(reason, 0x20), mload(reason))
        }
    }
}
