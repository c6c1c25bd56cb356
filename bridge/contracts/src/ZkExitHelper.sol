// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IL2StateReceiver} from "./IL2StateReceiver.sol";
import {IZkCheckpointManager} from "./IZkCheckpointManager.sol";
import {IZkExitHelper} from "./IZkExitHelper.sol";

/// @title ZkExitHelper
/// @notice Executes the child chain's exits (L2StateSender's L2StateSynced events) on the rootchain:
///         anyone presents an exit's leaf and its keccak Merkle proof against the exit root of a
///         checkpoint ZkCheckpointManager accepted, and the exit's receiver gets onL2StateReceive
///         (Edge's callback, so Edge's receivers work unchanged). Replaces Edge's ExitHelper.
/// @dev Execution policy.
///      * Lookup: `blockNumber` is the checkpoint's number (Edge's is a child-chain block number,
///        which its CheckpointManager binary-searches: +22.6k gas at 1,024 checkpoints). Here it
///        reads one mapping entry, so an exit costs the same however many checkpoints are stored.
///      * Tree: fixed depth EXIT_TREE_DEPTH (statesync/exits.py): a node is keccak256(left ||
///        right), bit i of leafIndex (least significant first) says the node at level i is a right
///        child, as in Edge's Merkle.checkMembership. The depth is fixed, so no inner node can pass
///        for a leaf, and the leaf is keccak256(unhashedLeaf).
///      * Leaf encoding: unhashedLeaf must be exactly abi.encode(uint256 id, address sender, address
///        receiver, bytes data): head offset 0x80, clean address words, no trailing bytes, zero
///        padding. Solidity's abi.decode would accept other readings (any in-bounds data offset,
///        junk after the data, non-zero padding; it refuses only dirty address bits), and with them
///        one set of fields could come from several byte strings. The tree's leaves are hashes of
///        canonical encodings, so this costs an honest exit nothing; it makes the decoded fields the
///        one reading of the proven bytes, and the call below forwards those bytes unchanged.
///      * Replay: a bitmap, 256 ids a word (ids are consecutive from 1, so a checkpoint's exits
///        share a few words and most exits rewrite a warm, non-zero word instead of a fresh slot).
///        The bit is set before the receiver is called (effects before interactions) and cleared
///        if the call fails, so a failed exit can be executed again (Edge's semantics) and a
///        successful one exactly once.
///      * Receiver gas: as in Edge, the receiver gets all the gas the 63/64 rule allows. If it
///        fails having left this contract at most 1/64 of the gas before the call, it ran out of
///        gas the caller chose not to send, so the transaction reverts (InsufficientGas) instead of
///        logging a failure. A failure leaves no state behind (the bit is cleared again), but the
///        revert keeps a short-gas call from passing as an executed attempt: eth_estimateGas finds
///        the gas at which the receiver runs to its end instead of the least gas that logs a
///        failure (as it does for snarkjs verifiers that return false when starved), and relayers
///        and UIs never see ExitProcessed(id, false) for an exit that would have succeeded.
///        The rule sees only the receiver's own gas. A receiver that fails because a sub-call of
///        its own was starved keeps more than 1/64 and its failure is logged (harmlessly: the exit
///        stays retryable). A receiver that catches a starved sub-call and carries on succeeds
///        without it, as under Edge's ExitHelper, which checks nothing: such receivers must check
///        gasleft() themselves.
///      * A receiver without code fails (Edge's call to it would succeed, executing nothing).
///      * Reentrancy: a receiver cannot call exit or batchExit while an exit runs.
///      * batchExit skips exits executed already (two relayers racing over the same exits do not
///        revert each other) and skips a refused item (unknown checkpoint, false proof, malformed
///        leaf or proof) with ExitRefused(index, reason) instead of reverting the batch, which
///        Edge does. Items are independent: each has its own proof, id and bit, and a refused one
///        executes nothing and changes no state, so the other items run exactly as they would in
///        batches of their own; one bad item (a relayer's bug, a leaf built from a log that was
///        reorganised away on the child chain) does not hold back the good ones. The caller sees
///        every refusal in the receipt and can resubmit with exit() to get the revert reason.
///        A short-gas receiver still reverts the whole batch, since it is the caller's doing.
///      * Guardian pause, adding no trust: `guardian` and `maxPauseDuration` are fixed at
///        deployment (guardian address(0): no pause ever). The guardian's one power is pause():
///        exit and batchExit revert with Paused(until) until `pausedUntil` = the call's timestamp +
///        maxPauseDuration. Another pause() renews it from then; there is no unpause, the pause
///        expires on its own. It cannot execute, refuse or reorder an exit, move a root, or touch a
///        receiver: ZkCheckpointManager keeps accepting checkpoints (it is not paused), proofs stay
///        valid, and every exit executes after the pause as it would have before, in any order.
///        The worst a guardian can do is delay exits while it keeps renewing, in steps of at most
///        maxPauseDuration that anyone sees on-chain (Paused events). Every other entry point
///        treats the guardian as anyone else.
contract ZkExitHelper is IZkExitHelper {
    /// @notice Levels of the exit tree (statesync/exits.py EXIT_TREE_DEPTH): 65,536 exits per checkpoint.
    uint256 public constant EXIT_TREE_DEPTH = 16;
    /// @notice At most this many bytes of a receiver's return or revert data are logged: a receiver
    ///         cannot make the caller pay for a huge return buffer.
    uint256 public constant MAX_RETURN_DATA_LENGTH = 256;

    bytes32 private constant _PROCESSED_TOPIC = keccak256("ExitProcessed(uint256,bool,bytes)");
    /// @notice The longest pause the guardian may set in one call (maxPauseDuration's bound).
    uint256 public constant MAX_PAUSE_DURATION = 30 days;
    uint8 private constant _FREE = 1;
    uint8 private constant _HELD = 2;

    /// @notice Where the exit roots of accepted checkpoints are read.
    IZkCheckpointManager public immutable checkpointManager;
    /// @inheritdoc IZkExitHelper
    address public immutable guardian;
    /// @inheritdoc IZkExitHelper
    uint256 public immutable maxPauseDuration;

    // Slot 0: the lock, 1 (free) or 2 (held), never 0, so taking it rewrites a non-zero slot; and
    // pausedUntil beside it, so the pause check reads a slot the lock has warmed already.
    uint8 private _lock = _FREE;
    /// @inheritdoc IZkExitHelper
    uint64 public pausedUntil;
    /// @notice Bit (id & 255) of word (id >> 8) is set when exit `id` was executed successfully.
    mapping(uint256 word => uint256 bits) public processedExitBitmap;

    modifier nonReentrant() {
        if (_lock == _HELD) revert ZkExitHelper__Reentrancy();
        _lock = _HELD;
        _;
        _lock = _FREE;
    }

    modifier whenNotPaused() {
        uint256 until = pausedUntil;
        if (block.timestamp < until) revert ZkExitHelper__Paused(until);
        _;
    }

    /// @param checkpointManager_ The ZkCheckpointManager whose exit roots exits are proven against.
    /// @param guardian_ The account that may pause exits, or address(0) for none.
    /// @param maxPauseDuration_ How long one pause() lasts, 1 s to MAX_PAUSE_DURATION.
    constructor(IZkCheckpointManager checkpointManager_, address guardian_, uint256 maxPauseDuration_) {
        if (address(checkpointManager_).code.length == 0) {
            revert ZkExitHelper__InvalidConfiguration("checkpointManager");
        }
        if (maxPauseDuration_ == 0 || maxPauseDuration_ > MAX_PAUSE_DURATION) {
            revert ZkExitHelper__InvalidConfiguration("maxPauseDuration");
        }
        checkpointManager = checkpointManager_;
        guardian = guardian_;
        maxPauseDuration = maxPauseDuration_;
    }

    /// @inheritdoc IZkExitHelper
    function exit(uint256 blockNumber, uint256 leafIndex, bytes calldata unhashedLeaf, bytes32[] calldata proof)
        external
        nonReentrant
        whenNotPaused
    {
        (bytes4 refusal, uint256 detail) = _exit(blockNumber, leafIndex, unhashedLeaf, proof);
        if (refusal != 0) {
            assembly ("memory-safe") {
                // Every refusal is an error with one uint256 argument.
                mstore(0x00, refusal)
                mstore(0x04, detail)
                revert(0x00, 0x24)
            }
        }
    }

    /// @inheritdoc IZkExitHelper
    function batchExit(BatchExitInput[] calldata inputs) external nonReentrant whenNotPaused {
        uint256 n = inputs.length;
        for (uint256 i; i < n; ++i) {
            BatchExitInput calldata input = inputs[i];
            (bytes4 refusal,) = _exit(input.blockNumber, input.leafIndex, input.unhashedLeaf, input.proof);
            if (refusal != 0 && refusal != ZkExitHelper__AlreadyProcessed.selector) emit ExitRefused(i, refusal);
        }
    }

    /// @inheritdoc IZkExitHelper
    function pause() external {
        // guardian == 0 matches no caller: a helper deployed without a guardian is never paused.
        if (msg.sender != guardian) revert ZkExitHelper__NotGuardian(msg.sender);
        uint256 until = block.timestamp + maxPauseDuration;
        pausedUntil = uint64(until);
        emit Paused(msg.sender, until);
    }

    /// @inheritdoc IZkExitHelper
    function paused() external view returns (bool) {
        return block.timestamp < pausedUntil;
    }

    /// @inheritdoc IZkExitHelper
    function processedExits(uint256 id) external view returns (bool) {
        return (processedExitBitmap[id >> 8] >> (id & 255)) & 1 == 1;
    }

    /// @inheritdoc IZkExitHelper
    function computeRoot(uint256 leafIndex, bytes calldata unhashedLeaf, bytes32[] calldata proof)
        external
        pure
        returns (bytes32)
    {
        if (proof.length != EXIT_TREE_DEPTH) revert ZkExitHelper__ProofLength(proof.length);
        if (leafIndex >> EXIT_TREE_DEPTH != 0) revert ZkExitHelper__LeafIndexOutOfRange(leafIndex);
        if (!_isCanonical(unhashedLeaf)) revert ZkExitHelper__MalformedLeaf(unhashedLeaf.length);
        return _computeRoot(leafIndex, unhashedLeaf, proof);
    }

    // ------------------------------------------------------------------------------------------
    // Internals

    /// @dev One exit: checked, then executed. Returns 0, or the selector of the refusal's error and
    ///      its argument (nothing was executed or changed then).
    function _exit(uint256 number, uint256 leafIndex, bytes calldata leaf, bytes32[] calldata proof)
        private
        returns (bytes4 refusal, uint256 detail)
    {
        if (proof.length != EXIT_TREE_DEPTH) return (ZkExitHelper__ProofLength.selector, proof.length);
        if (leafIndex >> EXIT_TREE_DEPTH != 0) return (ZkExitHelper__LeafIndexOutOfRange.selector, leafIndex);
        if (!_isCanonical(leaf)) return (ZkExitHelper__MalformedLeaf.selector, leaf.length);
        uint256 id;
        assembly ("memory-safe") {
            id := calldataload(leaf.offset)
        }
        uint256 word = id >> 8;
        uint256 bit = 1 << (id & 255);
        uint256 bits = processedExitBitmap[word];
        // Before the proof, as in Edge: a batch skips a processed exit at the price of one SLOAD.
        if (bits & bit != 0) return (ZkExitHelper__AlreadyProcessed.selector, id);
        bytes32 root = checkpointManager.exitRootOf(number);
        if (root == 0) return (ZkExitHelper__UnknownCheckpoint.selector, number);
        if (_computeRoot(leafIndex, leaf, proof) != root) return (ZkExitHelper__InvalidProof.selector, id);
        processedExitBitmap[word] = bits | bit;
        // A receiver cannot re-enter (the lock), so `bits` is still this word's value without the bit.
        if (!_callReceiver(id, leaf)) processedExitBitmap[word] = bits;
        return (0, 0);
    }

    /// @dev Whether `leaf` is exactly abi.encode(uint256, address, address, bytes): the four head
    ///      words (data offset 0x80, addresses with clean upper bits), the data's length, the data,
    ///      zero-padded to a whole word, and nothing after it.
    function _isCanonical(bytes calldata leaf) private pure returns (bool ok) {
        assembly ("memory-safe") {
            let length := leaf.length
            if gt(length, 0x9f) {
                let head := leaf.offset
                let addresses := or(calldataload(add(head, 0x20)), calldataload(add(head, 0x40)))
                let dataLength := calldataload(add(head, 0x80))
                // dataLength < length bounds it, so rounding it up to a word cannot overflow.
                if and(and(iszero(shr(160, addresses)), eq(calldataload(add(head, 0x60)), 0x80)), lt(dataLength, length))
                {
                    if eq(length, add(0xa0, and(add(dataLength, 0x1f), not(0x1f)))) {
                        // The last word's bytes past the data must be zero.
                        let used := and(dataLength, 0x1f)
                        ok := or(iszero(used), iszero(shl(shl(3, used), calldataload(add(head, sub(length, 0x20))))))
                    }
                }
            }
        }
    }

    /// @dev The root `proof` leads to from keccak256(leaf): EXIT_TREE_DEPTH keccaks of 64 bytes in
    ///      the scratch space. `proof` has EXIT_TREE_DEPTH entries (checked by the callers).
    function _computeRoot(uint256 leafIndex, bytes calldata leaf, bytes32[] calldata proof)
        private
        pure
        returns (bytes32 node)
    {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, leaf.offset, leaf.length)
            node := keccak256(ptr, leaf.length)
            let siblings := proof.offset
            for { let i := 0 } lt(i, 16) { i := add(i, 1) } {
                let sibling := calldataload(add(siblings, shl(5, i)))
                switch and(shr(i, leafIndex), 1)
                case 0 {
                    mstore(0x00, node)
                    mstore(0x20, sibling)
                }
                default {
                    mstore(0x00, sibling)
                    mstore(0x20, node)
                }
                node := keccak256(0x00, 0x40)
            }
        }
    }

    /// @dev onL2StateReceive(id, sender, data) with all the gas the 63/64 rule allows, and its
    ///      ExitProcessed. `leaf` is canonical (checked by _exit), so the call's arguments are the
    ///      leaf's own bytes: its id and sender words, then the data's length, bytes and padding.
    function _callReceiver(uint256 id, bytes calldata leaf) private returns (bool success) {
        bytes32 topic = _PROCESSED_TOPIC;
        bytes4 selector = IL2StateReceiver.onL2StateReceive.selector;
        bytes4 starved = ZkExitHelper__InsufficientGas.selector;
        assembly ("memory-safe") {
            let head := leaf.offset
            let receiver := calldataload(add(head, 0x40))
            let ptr := mload(0x40)
            let length := 0
            if extcodesize(receiver) {
                // abi.encodeCall(onL2StateReceive, (id, sender, data)): data's offset is 0x60.
                let tail := sub(leaf.length, 0x80)
                mstore(ptr, selector)
                calldatacopy(add(ptr, 0x04), head, 0x40)
                mstore(add(ptr, 0x44), 0x60)
                calldatacopy(add(ptr, 0x64), add(head, 0x80), tail)
                let before := gas()
                success := call(gas(), receiver, 0, ptr, add(0x64, tail), 0, 0)
                // Out of the gas the caller withheld: revert, never a logged failure (see above).
                if iszero(success) {
                    if iszero(gt(gas(), shr(6, before))) {
                        mstore(0x00, starved)
                        revert(0x00, 0x04)
                    }
                }
                length := returndatasize()
                // MAX_RETURN_DATA_LENGTH, as a literal.
                if gt(length, 256) { length := 256 }
            }
            // ExitProcessed(id, success, returnData): returnData is the (capped) return data.
            mstore(ptr, 0x20)
            mstore(add(ptr, 0x20), length)
            returndatacopy(add(ptr, 0x40), 0, length)
            mstore(add(add(ptr, 0x40), length), 0)
            log3(ptr, add(0x40, and(add(length, 0x1f), not(0x1f))), topic, id, success)
        }
    }
}
