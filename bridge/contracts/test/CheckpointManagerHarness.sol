// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ICheckpointUpdateVerifier} from "../src/IGroth16Verifiers.sol";
import {ZkCheckpointManager} from "../src/ZkCheckpointManager.sol";

/// @title CheckpointManagerHarness
/// @notice A ZkCheckpointManager that can also store exit roots without proofs, for the tests and
///         the benchmark that show an exit's gas does not depend on how many checkpoints are
///         stored (a thousand proven submissions take half an hour on py-evm). The lookup an exit
///         makes, exitRootOf, is ZkCheckpointManager's own, unchanged.
contract CheckpointManagerHarness is ZkCheckpointManager {
    constructor(ICheckpointUpdateVerifier verifier_, uint256 genesisCheckpointHash, uint64 genesisNumber)
        ZkCheckpointManager(verifier_, genesisCheckpointHash, genesisNumber)
    {}

    /// @notice Store `root` as the exit root of the next `count` checkpoint numbers.
    function seed(uint256 count, bytes32 root) external {
        uint256 number = lastNumber;
        for (uint256 i; i < count; ++i) {
            exitRootOf[++number] = root;
        }
        lastNumber = uint64(number);
    }
}
