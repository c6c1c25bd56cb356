// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IZkStateReceiver} from "../src/IZkStateReceiver.sol";
import {StateSyncBatch} from "../src/StateSyncBatch.sol";

/// @title StateSyncBatchHarness
/// @notice Exposes the StateSyncBatch library for tests, at any batch size, so its results can be
///         compared with statesync/model.py's.
contract StateSyncBatchHarness {
    /// @notice [eventRoot, v...] as the receiver hashes it (dataHash_i at index 5 + 3i).
    function encode(uint256 eventRoot, IZkStateReceiver.StateSync[] calldata events, uint256 batchSize)
        external
        pure
        returns (uint256[] memory)
    {
        return StateSyncBatch.encode(eventRoot, events, batchSize, _firstId(events));
    }

    function commit(uint256 eventRoot, IZkStateReceiver.StateSync[] calldata events, uint256 batchSize)
        external
        pure
        returns (uint256 gamma, uint256 commitment)
    {
        return StateSyncBatch.commit(eventRoot, events, batchSize, _firstId(events));
    }

    function _firstId(IZkStateReceiver.StateSync[] calldata events) private pure returns (uint256) {
        return events.length == 0 ? 0 : events[0].id;
    }
}
