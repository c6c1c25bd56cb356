// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IZkExitHelper
/// @notice Executes child-chain exits on the rootchain against the exit roots of checkpoints that
///         ZkCheckpointManager accepted: a keccak Merkle proof per exit, checked here, so a user
///         executes their own exit without a prover. Edge's ExitHelper interface, with the
///         checkpoint's number in place of Edge's child-chain block number.
interface IZkExitHelper {
    /// @notice One exit of a batch (Edge's struct, field for field).
    /// @param blockNumber The number of the checkpoint whose exit tree holds the exit.
    /// @param leafIndex The exit's position in that tree (below 2^EXIT_TREE_DEPTH).
    /// @param unhashedLeaf abi.encode(uint256 id, address sender, address receiver, bytes data).
    /// @param proof The EXIT_TREE_DEPTH siblings from the leaf up.
    struct BatchExitInput {
        uint256 blockNumber;
        uint256 leafIndex;
        bytes unhashedLeaf;
        bytes32[] proof;
    }

    /// @notice An exit's receiver was called (Edge's event). On failure the exit may be executed
    ///         again; `returnData` holds at most MAX_RETURN_DATA_LENGTH bytes of what it returned.
    event ExitProcessed(uint256 indexed id, bool indexed success, bytes returnData);

    /// @notice Item `index` of a batchExit was not executed: `reason` is the selector of the error
    ///         exit() would have reverted with (an unknown checkpoint, a false proof, a malformed leaf).
    event ExitRefused(uint256 indexed index, bytes4 reason);

    /// @notice The guardian paused exit and batchExit until `until` (a timestamp).
    event Paused(address indexed guardian, uint256 until);

    /// @notice A constructor argument is unusable (a checkpoint manager without code, a maximum
    ///         pause of 0 or above MAX_PAUSE_DURATION).
    error ZkExitHelper__InvalidConfiguration(string what);
    /// @notice A proof that does not have exactly EXIT_TREE_DEPTH siblings.
    error ZkExitHelper__ProofLength(uint256 length);
    /// @notice A leaf index at or above 2^EXIT_TREE_DEPTH.
    error ZkExitHelper__LeafIndexOutOfRange(uint256 leafIndex);
    /// @notice The leaf is not exactly abi.encode(uint256, address, address, bytes) (its length given).
    error ZkExitHelper__MalformedLeaf(uint256 length);
    /// @notice No accepted checkpoint has this number.
    error ZkExitHelper__UnknownCheckpoint(uint256 number);
    /// @notice The proof does not lead from the leaf to the checkpoint's exit root (the exit's id given).
    error ZkExitHelper__InvalidProof(uint256 id);
    /// @notice The exit with this id was executed successfully already.
    error ZkExitHelper__AlreadyProcessed(uint256 id);
    /// @notice The receiver failed having been left at most 1/64 of the gas: the caller's gas ran short.
    error ZkExitHelper__InsufficientGas();
    /// @notice An exit is in progress (a receiver called back into this contract).
    error ZkExitHelper__Reentrancy();
    /// @notice exit and batchExit are paused by the guardian until `until` (a timestamp).
    error ZkExitHelper__Paused(uint256 until);
    /// @notice pause() from an account that is not the guardian.
    error ZkExitHelper__NotGuardian(address caller);

    /// @notice Execute one exit; reverts if it is refused or was executed already.
    /// @param blockNumber The number of the checkpoint whose exit tree holds the exit.
    function exit(uint256 blockNumber, uint256 leafIndex, bytes calldata unhashedLeaf, bytes32[] calldata proof)
        external;

    /// @notice Execute several exits. Exits executed already are skipped silently; a refused item
    ///         is skipped with ExitRefused; the others run in order.
    function batchExit(BatchExitInput[] calldata inputs) external;

    /// @notice Guardian only: pause exit and batchExit for maxPauseDuration from now (a pause in
    ///         force is renewed from now). Checkpoints are still accepted meanwhile; the pause
    ///         expires on its own, and nothing can lift it early.
    function pause() external;

    /// @notice Whether exit and batchExit are paused now.
    function paused() external view returns (bool);

    /// @notice The timestamp at which the pause ends (exits work again from it); 0 if never paused.
    function pausedUntil() external view returns (uint64);

    /// @notice The account that may pause(), or address(0) for none (fixed at deployment).
    function guardian() external view returns (address);

    /// @notice How long one pause() lasts, in seconds (fixed at deployment).
    function maxPauseDuration() external view returns (uint256);

    /// @notice Whether the exit with this id was executed successfully (Edge's processedExits).
    function processedExits(uint256 id) external view returns (bool);

    /// @notice The root that `proof` leads to from `unhashedLeaf` at `leafIndex` (what exit()
    ///         compares with the checkpoint's exit root); reverts on a malformed proof or leaf.
    function computeRoot(uint256 leafIndex, bytes calldata unhashedLeaf, bytes32[] calldata proof)
        external
        pure
        returns (bytes32);
}
