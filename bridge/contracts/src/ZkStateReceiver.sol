// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEventInclusionVerifier, IHeaderUpdateVerifier, IStateSyncVerifier} from "./IGroth16Verifiers.sol";
import {IStateReceiver} from "./IStateReceiver.sol";
import {IZkStateReceiver} from "./IZkStateReceiver.sol";
import {StateSyncBatch} from "./StateSyncBatch.sol";

/// @title ZkStateReceiver
/// @notice Executes rootchain StateSync events on the child chain once Groth16 proofs show that
///         the rootchain's validators finalised them (docs/PROTOCOL.md). Replaces Edge's
///         StateReceiver and its BLS commit: no validator set is stored here, only the hash of
///         the last accepted header, which the circuits link every new header to.
/// @dev Execution policy.
///      * Order and replay: ids must continue from lastExecutedId with no gap, so a single
///        counter gives exactly-once, in-order execution (StateSender numbers events 1, 2, ...).
///      * Gas: each receiver gets receiverGas, fixed at deployment (Edge's MAX_GAS is 300k; its
///        own ERC-20 predicate needs ~346k to map a token). Before every receiver call the
///        contract requires that the whole stipend can be forwarded under the 63/64 rule, else
///        the transaction reverts: whoever relays (or copies a pending relay with another gas
///        limit) can never decide a receiver's outcome by starving it.
///      * More gas: an event that failed can be retried by anyone with more gas than the
///        stipend (retryWithGas), checked the same way before the call, so a receiver that
///        needs more than receiverGas is delivered, once, rather than stranded.
///      * Failure: a receiver that reverts, runs out of its stipend or has no code does not
///        stop the batch. The event counts as executed, StateSyncResult(id, false, message) is
///        emitted and keccak256(abi.encode(event)) is stored in failedStateSyncs; anyone may
///        retry() that exact event later, as often as needed, until it succeeds once.
///      * Reentrancy: a receiver cannot call back into execution or retry while a batch runs
///        (ids are consumed before receivers run, so a nested batch would run out of order).
contract ZkStateReceiver is IZkStateReceiver {
    /// @notice Gas spent between the stipend check and the CALL beyond what it forwards: a cold
    ///         account access (2,600), encoding up to 2,048 bytes of data in memory, the opcodes in
    ///         between. The check reserves it, so the CALL can forward the whole stipend.
    uint256 public constant CALL_OVERHEAD = 6_000;
    /// @notice Smallest stipend a deployment may fix (below it no useful receiver runs).
    uint256 public constant MIN_RECEIVER_GAS = 50_000;
    /// @notice Largest stipend a deployment may fix, and largest gas a retry may forward.
    uint256 public constant MAX_RECEIVER_GAS = 10_000_000;
    /// @notice Gas given to a verifier: a snarkjs verifier with 6 signals needs ~230k; it returns
    ///         false rather than reverting when a precompile runs short, so it must get enough.
    uint256 public constant VERIFIER_GAS = 300_000;
    /// @notice At most this many bytes of a failed receiver's revert data are copied and logged:
    ///         a receiver cannot make the relayer pay for a huge return buffer.
    uint256 public constant MAX_MESSAGE_LENGTH = 256;
    /// @notice Largest accepted batch size (B is the circuits' parameter, fixed at deployment).
    uint256 public constant MAX_BATCH_SIZE = 256;

    uint256 private constant R = StateSyncBatch.R;
    bytes32 private constant _RESULT_TOPIC = keccak256("StateSyncResult(uint256,bool,bytes)");

    IHeaderUpdateVerifier public immutable headerVerifier;
    IStateSyncVerifier public immutable stateSyncVerifier;
    IEventInclusionVerifier public immutable eventVerifier;
    /// @inheritdoc IZkStateReceiver
    uint256 public immutable batchSize;
    /// @inheritdoc IZkStateReceiver
    uint256 public immutable receiverGas;

    /// @notice The address that may recover() the receiver after a freeze or an expiry, and do
    ///         nothing else (fixed at deployment; zero: no recovery, a frozen receiver stays frozen).
    address public immutable governance;
    /// @notice The address that may pause() execution, and do nothing else (zero: none).
    address public immutable guardian;
    /// @notice Seconds after the last accepted header from which headers are refused (expiry).
    uint256 public immutable trustingPeriod;
    /// @notice Seconds a pause lasts unless renewed.
    uint256 public immutable maxPauseDuration;

    // Storage: slot 0 the checkpoint hash; slot 1 packs what every header update and batch reads
    // and writes: lastNumber, lastExecutedId, the reentrancy lock, the frozen flag, the time of
    // the last accepted header and the end of a pause, so the rails add no slot to a header
    // update (execution reads epochNumber's slot too: one cold read, 2.1k). The lock is 1
    // (free) or 2 (held), never 0, so slot 1 is non-zero from deployment and the first update
    // after a genesis at number 0 pays a 5k rewrite instead of a 22.1k fresh slot.
    /// @inheritdoc IZkStateReceiver
    uint256 public trustedHeaderHash;
    /// @inheritdoc IZkStateReceiver
    uint64 public lastNumber;
    /// @inheritdoc IZkStateReceiver
    uint64 public lastExecutedId;
    uint8 private _lock = _FREE;
    /// @inheritdoc IZkStateReceiver
    bool public frozen;
    /// @notice block.timestamp when the last header was accepted (or the receiver recovered).
    uint40 public lastAcceptedAt;
    /// @notice Execution is paused while block.timestamp < pausedUntil.
    uint40 public pausedUntil;
    /// @notice The genesis number of the current epoch (deployment or the last recovery): headers
    ///         and event roots below it belong to a branch that governance left.
    uint64 public epochNumber;
    // keccak256(abi.encode(headerHash, eventRoot)) of the header accepted at each number: one
    // slot binds both, so freezing on a conflict costs no second slot per header (the caller
    // names the values, the contract checks them).
    mapping(uint256 number => bytes32 accepted) private _acceptedOf;
    /// @inheritdoc IZkStateReceiver
    mapping(uint256 id => bytes32 eventHash) public failedStateSyncs;

    /// @notice Largest trusting period and pause a deployment may fix (one year).
    uint256 public constant MAX_PERIOD = 365 days;

    uint8 private constant _FREE = 1;
    uint8 private constant _HELD = 2;

    /// @dev Execution (batches, retries): not while frozen or paused.
    modifier whenExecutable() {
        if (frozen) revert ZkStateReceiver__Frozen();
        if (block.timestamp < pausedUntil) revert ZkStateReceiver__IsPaused(pausedUntil);
        _;
    }

    modifier nonReentrant() {
        if (_lock == _HELD) revert ZkStateReceiver__Reentrancy();
        _lock = _HELD;
        _;
        _lock = _FREE;
    }

    /// @param headerVerifier_ The snarkjs verifier of the HeaderUpdate circuit (4 signals), or of a
    ///        HeaderChain circuit, whose signals are the same, for a receiver that moves N headers a proof.
    /// @param stateSyncVerifier_ The snarkjs verifier of the StateSync circuit (6 signals).
    /// @param eventVerifier_ The snarkjs verifier of the EventInclusion circuit (3 signals).
    /// @param genesisHeaderHash The hash of the header trusted out of band (the first checkpoint).
    /// @param genesisNumber That header's number.
    /// @param lastExecutedId_ The id of the last event already delivered by other means (0 for
    ///        a rootchain whose StateSender starts with this contract); events of headers up to
    ///        the genesis cannot be proven here, so execution must start after them.
    /// @param batchSize_ The circuits' B: events per proof, in 1..MAX_BATCH_SIZE.
    /// @param receiverGas_ The gas each onStateReceive gets in a batch, in MIN_RECEIVER_GAS..MAX_RECEIVER_GAS.
    /// @param rails The safety rails' parameters (governance, guardian, trusting period, pause bound).
    constructor(
        IHeaderUpdateVerifier headerVerifier_,
        IStateSyncVerifier stateSyncVerifier_,
        IEventInclusionVerifier eventVerifier_,
        uint256 genesisHeaderHash,
        uint64 genesisNumber,
        uint64 lastExecutedId_,
        uint256 batchSize_,
        uint256 receiverGas_,
        Rails memory rails
    ) {
        if (address(headerVerifier_).code.length == 0) revert ZkStateReceiver__InvalidConfiguration("headerVerifier");
        if (address(stateSyncVerifier_).code.length == 0) {
            revert ZkStateReceiver__InvalidConfiguration("stateSyncVerifier");
        }
        if (address(eventVerifier_).code.length == 0) revert ZkStateReceiver__InvalidConfiguration("eventVerifier");
        if (genesisHeaderHash == 0 || genesisHeaderHash >= R) {
            revert ZkStateReceiver__InvalidConfiguration("genesisHeaderHash");
        }
        if (batchSize_ == 0 || batchSize_ > MAX_BATCH_SIZE) revert ZkStateReceiver__InvalidConfiguration("batchSize");
        if (receiverGas_ < MIN_RECEIVER_GAS || receiverGas_ > MAX_RECEIVER_GAS) {
            revert ZkStateReceiver__InvalidConfiguration("receiverGas");
        }
        if (rails.trustingPeriod == 0 || rails.trustingPeriod > MAX_PERIOD) {
            revert ZkStateReceiver__InvalidConfiguration("trustingPeriod");
        }
        if (rails.maxPauseDuration == 0 || rails.maxPauseDuration > MAX_PERIOD) {
            revert ZkStateReceiver__InvalidConfiguration("maxPauseDuration");
        }
        governance = rails.governance;
        guardian = rails.guardian;
        trustingPeriod = rails.trustingPeriod;
        maxPauseDuration = rails.maxPauseDuration;
        receiverGas = receiverGas_;
        headerVerifier = headerVerifier_;
        stateSyncVerifier = stateSyncVerifier_;
        eventVerifier = eventVerifier_;
        batchSize = batchSize_;
        _acceptedOf[genesisNumber] = _commit(genesisHeaderHash, 0);
        trustedHeaderHash = genesisHeaderHash;
        lastNumber = genesisNumber;
        epochNumber = genesisNumber;
        lastExecutedId = lastExecutedId_;
        lastAcceptedAt = uint40(block.timestamp);
    }

    // ------------------------------------------------------------------------------------------
    // Headers

    /// @inheritdoc IZkStateReceiver
    function submitHeader(Proof calldata proof, uint256 headerHash, uint256 number, uint256 eventRoot) external {
        uint256[4] memory signals = [headerHash, number, eventRoot, _checkHeader(headerHash, number, eventRoot)];
        bool ok;
        try headerVerifier.verifyProof{gas: VERIFIER_GAS}(proof.a, proof.b, proof.c, signals) returns (bool verdict) {
            ok = verdict;
        } catch {}
        _requireVerified(ok);
        _acceptHeader(headerHash, number, eventRoot);
    }

    /// @inheritdoc IZkStateReceiver
    function syncState(
        Proof calldata proof,
        uint256 headerHash,
        uint256 number,
        uint256 eventRoot,
        StateSync[] calldata events
    ) external nonReentrant {
        uint256 linked = _checkHeader(headerHash, number, eventRoot);
        uint256 firstId = _verifyStateSync(proof, [headerHash, number, eventRoot, linked], events);
        _acceptHeader(headerHash, number, eventRoot);
        // Paused: the header is accepted so that nothing is lost; its events wait, and run in
        // order afterwards through executeStateSync with this same proof.
        if (block.timestamp >= pausedUntil) _executeBatch(events, firstId);
    }

    /// @inheritdoc IZkStateReceiver
    function executeStateSync(
        Proof calldata proof,
        uint256 headerHash,
        uint256 number,
        uint256 eventRoot,
        uint256 linkedHeaderHash,
        StateSync[] calldata events
    ) external nonReentrant whenExecutable {
        // The header was accepted already (its submitter raced the relayer): only the events
        // remain. (headerHash, eventRoot) must be the accepted pair, and the circuit outputs
        // eventRoot from the preimage of headerHash, so whatever checkpoint the proof names, its
        // events are under a proven root: exactly executeEvents' guarantee.
        _requireAccepted(headerHash, number, eventRoot);
        if (linkedHeaderHash >= R) revert ZkStateReceiver__NotCanonical(linkedHeaderHash);
        uint256 firstId = _verifyStateSync(proof, [headerHash, number, eventRoot, linkedHeaderHash], events);
        _executeBatch(events, firstId);
    }

    // ------------------------------------------------------------------------------------------
    // Events

    /// @inheritdoc IZkStateReceiver
    function executeEvents(
        Proof calldata proof,
        uint256 headerHash,
        uint256 number,
        uint256 eventRoot,
        StateSync[] calldata events
    ) external nonReentrant whenExecutable {
        _requireAccepted(headerHash, number, eventRoot);
        uint256 firstId = uint256(lastExecutedId) + 1;
        (uint256 gamma, uint256 commitment) = StateSyncBatch.commit(eventRoot, events, batchSize, firstId);
        bool ok;
        try eventVerifier.verifyProof{gas: VERIFIER_GAS}(proof.a, proof.b, proof.c, [eventRoot, gamma, commitment])
        returns (bool verdict) {
            ok = verdict;
        } catch {}
        _requireVerified(ok);
        _executeBatch(events, firstId);
    }

    /// @inheritdoc IZkStateReceiver
    function retry(StateSync calldata obj) external nonReentrant whenExecutable {
        _retry(obj, receiverGas);
    }

    /// @inheritdoc IZkStateReceiver
    function retryWithGas(StateSync calldata obj, uint256 gasLimit) external nonReentrant whenExecutable {
        if (gasLimit < receiverGas || gasLimit > MAX_RECEIVER_GAS) revert ZkStateReceiver__GasLimit(gasLimit);
        _retry(obj, gasLimit);
    }

    // ------------------------------------------------------------------------------------------
    // Safety rails

    /// @inheritdoc IZkStateReceiver
    function freezeWithHeader(
        Proof calldata proof,
        Head calldata conflicting,
        Head calldata accepted,
        Head calldata linked
    ) external {
        _checkEvidence(conflicting, accepted, linked);
        bool ok;
        try headerVerifier.verifyProof{gas: VERIFIER_GAS}(
            proof.a, proof.b, proof.c, [conflicting.headerHash, conflicting.number, conflicting.eventRoot, linked.headerHash]
        ) returns (bool verdict) {
            ok = verdict;
        } catch {}
        _requireVerified(ok);
        _freeze(conflicting.number, accepted.headerHash, conflicting.headerHash);
    }

    /// @inheritdoc IZkStateReceiver
    function freezeWithStateSync(
        Proof calldata proof,
        Head calldata conflicting,
        Head calldata accepted,
        Head calldata linked,
        uint256 gamma,
        uint256 eventsCommitment
    ) external {
        if (gamma >= R) revert ZkStateReceiver__NotCanonical(gamma);
        if (eventsCommitment >= R) revert ZkStateReceiver__NotCanonical(eventsCommitment);
        _checkEvidence(conflicting, accepted, linked);
        _requireStateSyncProof(
            proof,
            [conflicting.headerHash, conflicting.number, conflicting.eventRoot, linked.headerHash, gamma, eventsCommitment]
        );
        _freeze(conflicting.number, accepted.headerHash, conflicting.headerHash);
    }

    /// @inheritdoc IZkStateReceiver
    function recover(uint256 genesisHeaderHash, uint64 genesisNumber, uint64 lastExecutedId_) external {
        if (msg.sender != governance || governance == address(0)) revert ZkStateReceiver__Unauthorized(governance);
        if (!frozen && !expired()) revert ZkStateReceiver__NotRecoverable("neither frozen nor expired");
        if (genesisHeaderHash == 0 || genesisHeaderHash >= R) revert ZkStateReceiver__NotCanonical(genesisHeaderHash);
        // Never behind what was accepted or executed: ids already run must never run again, and
        // no old event root may sit above the new genesis (execution needs number > epochNumber).
        if (genesisNumber < lastNumber) revert ZkStateReceiver__NotRecoverable("genesis below lastNumber");
        if (lastExecutedId_ < lastExecutedId) revert ZkStateReceiver__NotRecoverable("lastExecutedId goes back");
        _acceptedOf[genesisNumber] = _commit(genesisHeaderHash, 0);
        trustedHeaderHash = genesisHeaderHash;
        lastNumber = genesisNumber;
        epochNumber = genesisNumber;
        lastExecutedId = lastExecutedId_;
        frozen = false;
        lastAcceptedAt = uint40(block.timestamp);
        emit Recovered(genesisNumber, genesisHeaderHash, lastExecutedId_);
    }

    /// @inheritdoc IZkStateReceiver
    function pause() external {
        if (msg.sender != guardian || guardian == address(0)) revert ZkStateReceiver__Unauthorized(guardian);
        uint256 until = block.timestamp + maxPauseDuration;
        pausedUntil = uint40(until);
        emit Paused(until);
    }

    /// @inheritdoc IZkStateReceiver
    function expired() public view returns (bool) {
        return block.timestamp > uint256(lastAcceptedAt) + trustingPeriod;
    }

    /// @inheritdoc IZkStateReceiver
    function paused() external view returns (bool) {
        return block.timestamp < pausedUntil;
    }

    /// @inheritdoc IZkStateReceiver
    function isAccepted(uint256 headerHash, uint256 number, uint256 eventRoot) public view returns (bool) {
        return number >= epochNumber && _acceptedOf[number] == _commit(headerHash, eventRoot);
    }

    /// @inheritdoc IZkStateReceiver
    function computeBatchCommitment(uint256 eventRoot, StateSync[] calldata events)
        external
        view
        returns (uint256 gamma, uint256 commitment)
    {
        if (eventRoot >= R) revert ZkStateReceiver__NotCanonical(eventRoot);
        return StateSyncBatch.commit(eventRoot, events, batchSize, events.length == 0 ? 0 : events[0].id);
    }

    // ------------------------------------------------------------------------------------------
    // Internals

    function _retry(StateSync calldata obj, uint256 gasLimit) private {
        bytes32 eventHash = failedStateSyncs[obj.id];
        if (eventHash == 0 || eventHash != keccak256(abi.encode(obj))) revert ZkStateReceiver__NotRetriable(obj.id);
        delete failedStateSyncs[obj.id];
        if (!_callReceiver(obj, gasLimit)) failedStateSyncs[obj.id] = eventHash;
    }

    /// @dev The header's own rules; returns the checkpoint the proof must link to.
    function _checkHeader(uint256 headerHash, uint256 number, uint256 eventRoot) private view returns (uint256) {
        // The verifier would refuse values >= r too (checkField), but x and x + r must never
        // both reach it: the contract decides what is canonical, not the generated code.
        if (headerHash >= R) revert ZkStateReceiver__NotCanonical(headerHash);
        if (eventRoot >= R) revert ZkStateReceiver__NotCanonical(eventRoot);
        if (number > type(uint64).max) revert ZkStateReceiver__NotCanonical(number);
        if (number <= lastNumber) revert ZkStateReceiver__NumberNotRising(number, lastNumber);
        if (eventRoot == 0) revert ZkStateReceiver__ZeroEventRoot();
        if (frozen) revert ZkStateReceiver__Frozen();
        if (expired()) revert ZkStateReceiver__Expired(uint256(lastAcceptedAt) + trustingPeriod);
        return trustedHeaderHash;
    }

    /// @dev An accepted header of this epoch (not its genesis, whose events cannot be proven).
    function _requireAccepted(uint256 headerHash, uint256 number, uint256 eventRoot) private view {
        if (eventRoot == 0 || number <= epochNumber || _acceptedOf[number] != _commit(headerHash, eventRoot)) {
            revert ZkStateReceiver__UnknownHeader(number);
        }
    }

    function _commit(uint256 headerHash, uint256 eventRoot) private pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            mstore(0x00, headerHash)
            mstore(0x20, eventRoot)
            digest := keccak256(0x00, 0x40)
        }
    }

    /// @dev Evidence's own rules: `accepted` is the header accepted at the conflicting number,
    ///      with another hash; `linked` is an accepted header (the proof's checkpoint) before it.
    function _checkEvidence(Head calldata conflicting, Head calldata accepted, Head calldata linked) private view {
        if (frozen) revert ZkStateReceiver__Frozen();
        if (conflicting.headerHash >= R) revert ZkStateReceiver__NotCanonical(conflicting.headerHash);
        if (conflicting.eventRoot >= R) revert ZkStateReceiver__NotCanonical(conflicting.eventRoot);
        if (conflicting.number > type(uint64).max) revert ZkStateReceiver__NotCanonical(conflicting.number);
        // The genesis of an epoch is trusted out of band and cannot conflict; numbers of an older
        // epoch belong to a branch governance already left (isAccepted is false for them).
        if (
            accepted.number != conflicting.number || accepted.number <= epochNumber
                || accepted.headerHash == conflicting.headerHash
                || !isAccepted(accepted.headerHash, accepted.number, accepted.eventRoot)
        ) revert ZkStateReceiver__NoConflict(conflicting.number);
        // The circuit proves the linked header's number is below the new one; the check here only
        // keeps the named header's number honest.
        if (linked.number >= conflicting.number || !isAccepted(linked.headerHash, linked.number, linked.eventRoot)) {
            revert ZkStateReceiver__UnknownHeader(linked.number);
        }
    }

    function _freeze(uint256 number, uint256 accepted, uint256 conflicting) private {
        frozen = true;
        emit Frozen(number, accepted, conflicting, msg.sender);
    }

    /// @dev A StateSync proof of `head` (headerHash, number, eventRoot, the linked checkpoint) and
    ///      of `events` as the next batch; returns the batch's first id.
    function _verifyStateSync(Proof calldata proof, uint256[4] memory head, StateSync[] calldata events)
        private
        view
        returns (uint256 firstId)
    {
        firstId = uint256(lastExecutedId) + 1;
        (uint256 gamma, uint256 commitment) = StateSyncBatch.commit(head[2], events, batchSize, firstId);
        _requireStateSyncProof(proof, [head[0], head[1], head[2], head[3], gamma, commitment]);
    }

    function _requireStateSyncProof(Proof calldata proof, uint256[6] memory signals) private view {
        bool ok;
        try stateSyncVerifier.verifyProof{gas: VERIFIER_GAS}(proof.a, proof.b, proof.c, signals) returns (bool verdict) {
            ok = verdict;
        } catch {}
        _requireVerified(ok);
    }

    function _acceptHeader(uint256 headerHash, uint256 number, uint256 eventRoot) private {
        trustedHeaderHash = headerHash;
        lastNumber = uint64(number);
        lastAcceptedAt = uint40(block.timestamp);
        _acceptedOf[number] = _commit(headerHash, eventRoot);
        emit HeaderAccepted(number, headerHash, eventRoot);
    }

    /// @dev A verifier that ran short of gas returns false: tell that apart from a false proof,
    ///      since only the first is the relayer's fault. If it was given less than VERIFIER_GAS,
    ///      at most 1/64 of the gas before the call is left.
    function _requireVerified(bool ok) private view {
        if (ok) return;
        if (gasleft() < VERIFIER_GAS / 63) revert ZkStateReceiver__InsufficientGas();
        revert ZkStateReceiver__InvalidProof();
    }

    /// @dev Consume the ids first (effects before interactions), then run every receiver.
    ///      StateSyncBatch.commit has checked every event's encoding (offsets in bounds, clean
    ///      addresses), so the receiver calls may read the calldata raw.
    function _executeBatch(StateSync[] calldata events, uint256 firstId) private {
        uint256 last = firstId + events.length - 1;
        // Unreachable from StateSender (2^64 events), but a wrapped counter would reopen old ids.
        if (last > type(uint64).max) revert ZkStateReceiver__NotCanonical(last);
        lastExecutedId = uint64(last);
        uint256 gasLimit = receiverGas;
        uint256 n = events.length;
        for (uint256 i; i < n; ++i) {
            StateSync calldata obj;
            assembly ("memory-safe") {
                obj := add(events.offset, calldataload(add(events.offset, shl(5, i))))
            }
            if (!_callReceiver(obj, gasLimit)) failedStateSyncs[firstId + i] = keccak256(abi.encode(obj));
        }
    }

    /// @dev onStateReceive with exactly gasLimit, and its StateSyncResult. A receiver without code
    ///      fails (as in Edge): a call to it would succeed with nothing received. Hand-encoded in
    ///      memory past the free pointer, reused for every event: this is the per-event cost.
    ///      `obj`'s encoding must have been checked before: by StateSyncBatch.commit in a batch,
    ///      by abi.encode (and the stored hash) in retry().
    function _callReceiver(StateSync calldata obj, uint256 gasLimit) private returns (bool success) {
        // The 63/64 rule forwards at most 63/64 of what is left after the call's own costs: with
        // less than this, the receiver would get less than gasLimit, and its outcome (a hook
        // skipped in a try/catch, a branch on gasleft) would be the relayer's choice. Revert.
        // CALL_OVERHEAD covers what runs from here to the CALL: the cold EXTCODESIZE, encoding the
        // call in memory, and the CALL's own warm access.
        if (gasleft() < (gasLimit * 64) / 63 + CALL_OVERHEAD) revert ZkStateReceiver__InsufficientGas();
        bytes32 topic = _RESULT_TOPIC;
        bytes4 selector = IStateReceiver.onStateReceive.selector;
        uint256 id;
        assembly ("memory-safe") {
            // Addresses masked: retry() gets here through abi.encode's checks, which may clean
            // rather than refuse dirty upper bits; the call must use the values that were hashed.
            let mask := 0xffffffffffffffffffffffffffffffffffffffff
            id := calldataload(obj)
            let receiver := and(calldataload(add(obj, 0x40)), mask)
            let ptr := mload(0x40)
            let length := 0
            if extcodesize(receiver) {
                // abi.encodeCall(onStateReceive, (id, sender, data)), zero-padded.
                let data := add(obj, calldataload(add(obj, 0x60)))
                let dataLength := calldataload(data)
                mstore(ptr, selector)
                mstore(add(ptr, 0x04), id)
                mstore(add(ptr, 0x24), and(calldataload(add(obj, 0x20)), mask))
                mstore(add(ptr, 0x44), 0x60)
                mstore(add(ptr, 0x64), dataLength)
                calldatacopy(add(ptr, 0x84), add(data, 0x20), dataLength)
                mstore(add(add(ptr, 0x84), dataLength), 0)
                let size := add(0x84, and(add(dataLength, 0x1f), not(0x1f)))
                success := call(gasLimit, receiver, 0, ptr, size, 0, 0)
                length := returndatasize()
                // MAX_MESSAGE_LENGTH, as a literal: one stack slot fewer in this function.
                if gt(length, 256) { length := 256 }
            }
            // StateSyncResult(id, success, message): message is the (capped) return data.
            mstore(ptr, 0x20)
            mstore(add(ptr, 0x20), length)
            returndatacopy(add(ptr, 0x40), 0, length)
            mstore(add(add(ptr, 0x40), length), 0)
            log3(ptr, add(0x40, and(add(length, 0x1f), not(0x1f))), topic, id, success)
        }
    }
}
