// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IStateReceiver} from "../src/IStateReceiver.sol";
import {IZkStateReceiver} from "../src/IZkStateReceiver.sol";

/// @title RevertingReceiver
/// @notice A receiver for the failure paths: it fails in the way its mode says, or accepts.
contract RevertingReceiver is IStateReceiver {
    enum Mode {
        Revert, // revert with RevertingReceiver__Refused(id)
        BurnGas, // use up the whole stipend (INVALID)
        HugeRevert, // revert with 10,000 zero bytes
        Reenter, // call ZkStateReceiver.retry and revert with what it said
        Accept // count the event and return
    }

    Mode public mode;
    /// @notice How many events were accepted, and the last one's id and data.
    uint256 public accepted;
    uint256 public lastId;
    bytes public lastData;

    error RevertingReceiver__Refused(uint256 id);

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    /// @inheritdoc IStateReceiver
    function onStateReceive(uint256 id, address sender, bytes calldata data) external {
        Mode m = mode;
        if (m == Mode.Accept) {
            accepted += 1;
            lastId = id;
            lastData = data;
            return;
        }
        if (m == Mode.Revert) revert RevertingReceiver__Refused(id);
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
        IZkStateReceiver.StateSync memory again = IZkStateReceiver.StateSync(id, sender, address(this), data);
        (, bytes memory reason) = msg.sender.call(abi.encodeCall(IZkStateReceiver.retry, (again)));
        assembly {
            revert(add(reason, 0x20), mload(reason))
        }
    }
}
