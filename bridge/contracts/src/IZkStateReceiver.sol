// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IZkStateReceiver
/// @notice The child-chain end of StateSync with Groth16 proofs in place of Edge's BLS commit.
///         The contract trusts one rootchain header (its checkpoint, stored as a hash) and moves
///         it forward with proofs; events are executed in id order, each exactly once, under
///         event roots of headers it has accepted. docs/PROTOCOL.md specifies every value here.
interface IZkStateReceiver {
    /// @notice A rootchain StateSynced event, with Edge's field layout.
    struct StateSync {
        uint256 id;
        address sender;
        address receiver;
        bytes data;
    }

    /// @notice The safety rails, fixed at deployment (docs/PROTOCOL.md section 9).
    struct Rails {
        address governance;
        address guardian;
        uint256 trustingPeriod;
        uint256 maxPauseDuration;
    }

    /// @notice A header as the public signals name it.
    struct Head {
        uint256 headerHash;
        uint256 number;
        uint256 eventRoot;
    }

    /// @notice A Groth16 proof as snarkjs's calldata exporter writes it (pB in EIP-197 order).
    struct Proof {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    /// @notice A header became the checkpoint; its event root may now be executed against.
    event HeaderAccepted(uint256 indexed number, uint256 headerHash, uint256 eventRoot);

    /// @notice Two final headers at one number: `acceptedHash` (accepted here) and `conflictingHash`
    ///         (proven by the evidence, linked to a header this receiver trusted). Nothing moves
    ///         until governance recovers.
    event Frozen(uint256 indexed number, uint256 acceptedHash, uint256 conflictingHash, address reporter);
    /// @notice Governance set a new genesis after a freeze or an expiry.
    event Recovered(uint256 indexed number, uint256 headerHash, uint64 lastExecutedId);
    /// @notice The guardian paused execution until `until` (headers are still accepted).
    event Paused(uint256 until);

    /// @notice An event was executed (or retried). On failure `message` holds the start (at most
    ///         MAX_MESSAGE_LENGTH bytes) of the receiver's revert data, and the event may be retried.
    event StateSyncResult(uint256 indexed id, bool indexed success, bytes message);

    /// @notice A constructor argument is unusable (a verifier without code, a zero or
    ///         non-canonical genesis hash, a batch size out of range).
    error ZkStateReceiver__InvalidConfiguration(string what);
    /// @notice A public input is not below the BN254 scalar field order r (or a number not below 2^64).
    error ZkStateReceiver__NotCanonical(uint256 value);
    /// @notice The proven header does not come after the checkpoint.
    error ZkStateReceiver__NumberNotRising(uint256 number, uint256 lastNumber);
    /// @notice A header with a zero event root: never a valid tree root, always refused.
    error ZkStateReceiver__ZeroEventRoot();
    /// @notice The verifier rejected the proof for these public signals.
    error ZkStateReceiver__InvalidProof();
    /// @notice The transaction's gas ran short of what a verifier or receiver call must be given.
    error ZkStateReceiver__InsufficientGas();
    /// @notice No accepted header has this number.
    error ZkStateReceiver__UnknownHeader(uint256 number);
    /// @notice A batch holds 1 to batchSize events.
    error ZkStateReceiver__BatchSize(uint256 length, uint256 batchSize);
    /// @notice The events' calldata is not a valid ABI encoding (offsets out of bounds, dirty addresses).
    error ZkStateReceiver__MalformedBatch();
    /// @notice Events must continue from lastExecutedId, with consecutive ids.
    error ZkStateReceiver__UnexpectedId(uint256 expected, uint256 got);
    /// @notice This exact event is not awaiting a retry.
    error ZkStateReceiver__NotRetriable(uint256 id);
    /// @notice An execution is in progress (a receiver called back into this contract).
    error ZkStateReceiver__Reentrancy();
    /// @notice A retry's gas limit below the stipend or above MAX_RECEIVER_GAS.
    error ZkStateReceiver__GasLimit(uint256 gasLimit);

    /// @notice Evidence of equivocation was accepted: no header, no event until recover().
    error ZkStateReceiver__Frozen();
    /// @notice No header was accepted within the trusting period (its old set may have unbonded).
    error ZkStateReceiver__Expired(uint256 expiredAt);
    /// @notice Execution is paused by the guardian until `until`.
    error ZkStateReceiver__IsPaused(uint256 until);
    /// @notice The evidence's header is not at an accepted number, or is the accepted one.
    error ZkStateReceiver__NoConflict(uint256 number);
    /// @notice Only `who` may call this.
    error ZkStateReceiver__Unauthorized(address who);
    /// @notice recover() while the receiver is neither frozen nor expired, or with a genesis
    ///         behind the receiver's state.
    error ZkStateReceiver__NotRecoverable(string why);

    /// @notice Move the checkpoint to a header proven by a HeaderUpdate proof.
    /// @param proof The Groth16 proof for [headerHash, number, eventRoot, trustedHeaderHash].
    /// @param headerHash The new header's Poseidon hash.
    /// @param number The new header's number, above lastNumber.
    /// @param eventRoot The new header's event tree root, non-zero; stored for executeEvents.
    function submitHeader(Proof calldata proof, uint256 headerHash, uint256 number, uint256 eventRoot) external;

    /// @notice Move the checkpoint and execute a batch of the new header's events, with one
    ///         StateSync proof (the default path).
    /// @param events 1 to batchSize events with ids lastExecutedId + 1, lastExecutedId + 2, ...
    function syncState(
        Proof calldata proof,
        uint256 headerHash,
        uint256 number,
        uint256 eventRoot,
        StateSync[] calldata events
    ) external;

    /// @notice Execute a batch of events of an already accepted header (an EventInclusion proof).
    /// @param headerHash, number, eventRoot The accepted header whose event root the proof is
    ///        about (checked against what was accepted: isAccepted).
    function executeEvents(
        Proof calldata proof,
        uint256 headerHash,
        uint256 number,
        uint256 eventRoot,
        StateSync[] calldata events
    ) external;

    /// @notice Execute the next batch with the StateSync proof of a header that is accepted already
    ///         (someone submitted it first): the header part is settled, the events still run.
    /// @param linkedHeaderHash The checkpoint the proof was made against (its 4th public signal).
    function executeStateSync(
        Proof calldata proof,
        uint256 headerHash,
        uint256 number,
        uint256 eventRoot,
        uint256 linkedHeaderHash,
        StateSync[] calldata events
    ) external;

    /// @notice Run an event whose receiver call failed once more, with the same gas stipend.
    /// @param obj The event exactly as proven; it is matched against the stored hash.
    function retry(StateSync calldata obj) external;

    /// @notice Run a failed event once more, forwarding gasLimit (at least receiverGas) to it:
    ///         anyone may pay for a receiver that needs more than the stipend.
    function retryWithGas(StateSync calldata obj, uint256 gasLimit) external;

    /// @notice Freeze on evidence of equivocation: a HeaderUpdate (or HeaderChain) proof of a
    ///         final header `conflicting`, at the number of the `accepted` header with another
    ///         hash, made against the `linked` header this receiver accepted (its checkpoint then).
    ///         Anyone may call it; `accepted` and `linked` are checked against what was accepted
    ///         (isAccepted; the genesis's event root is 0).
    function freezeWithHeader(Proof calldata proof, Head calldata conflicting, Head calldata accepted, Head calldata linked)
        external;

    /// @notice freezeWithHeader with a StateSync proof (the relayer's usual proof): its batch
    ///         part (gamma, eventsCommitment) is the proof's own and is not executed.
    function freezeWithStateSync(
        Proof calldata proof,
        Head calldata conflicting,
        Head calldata accepted,
        Head calldata linked,
        uint256 gamma,
        uint256 eventsCommitment
    ) external;

    /// @notice Governance only, only while frozen or expired: trust a new genesis header (hash,
    ///         number at or above lastNumber) and the last event id delivered (at or above
    ///         lastExecutedId). Proofs linked to headers of before stop counting.
    function recover(uint256 genesisHeaderHash, uint64 genesisNumber, uint64 lastExecutedId_) external;

    /// @notice Guardian only: pause execution (events, retries) for maxPauseDuration from now.
    function pause() external;

    /// @notice Whether evidence froze the receiver.
    function frozen() external view returns (bool);

    /// @notice Whether the trusting period has passed since the last accepted header.
    function expired() external view returns (bool);

    /// @notice Whether execution is paused now.
    function paused() external view returns (bool);

    /// @notice Whether the header (headerHash, number, eventRoot) was accepted since the last
    ///         recovery (the epoch's genesis counts, with event root 0).
    function isAccepted(uint256 headerHash, uint256 number, uint256 eventRoot) external view returns (bool);

    /// @notice The gas each receiver call gets in a batch (fixed at deployment).
    function receiverGas() external view returns (uint256);

    /// @notice The checkpoint: the Poseidon hash of the last accepted header.
    function trustedHeaderHash() external view returns (uint256);

    /// @notice The checkpoint's number.
    function lastNumber() external view returns (uint64);

    /// @notice The id of the last executed event (failed ones included: they wait in failedStateSyncs).
    function lastExecutedId() external view returns (uint64);

    /// @notice keccak256(abi.encode(event)) for an event whose receiver call failed, else 0.
    function failedStateSyncs(uint256 id) external view returns (bytes32);

    /// @notice The circuits' B: how many events one proof covers.
    function batchSize() external view returns (uint256);

    /// @notice gamma and eventsCommitment of a batch under eventRoot, as a proof must carry them.
    function computeBatchCommitment(uint256 eventRoot, StateSync[] calldata events)
        external
        view
        returns (uint256 gamma, uint256 commitment);
}
