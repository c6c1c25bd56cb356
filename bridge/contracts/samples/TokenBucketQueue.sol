// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title TokenBucketQueue
/// @notice A rate limit that loses nothing, for the sample bridge's two payout sides (ChildToken
///         mints deposits, RootBridge pays withdrawals). A transfer that fits the token bucket is
///         delivered at once; one that does not is queued, never dropped and never reverted, so the
///         bridge's callback still succeeds and its event or exit counts as executed, in order.
/// @dev Policy.
///      * Bucket (Chainlink CCIP's model): `capacity` and `refillPerSecond` are fixed at deployment.
///        The bucket starts full and refills linearly with block.timestamp up to `capacity`; a
///        delivery consumes its amount.
///      * Queue: a transfer of at most `capacity` that does not fit, or that arrives while others
///        wait, joins a FIFO queue (no transfer overtakes one that waits). releaseQueued(maxCount),
///        callable by anyone, delivers from the head while the bucket allows, whole transfers only.
///        Every queued transfer is delivered eventually: the bucket refills to `capacity`, which
///        fits any of them, so the head waits at most amount / refillPerSecond seconds.
///      * Large transfers (Wormhole's model): a transfer above `capacity` can never fit, so it
///        waits `largeTransferDelay` in a lane of its own and is then delivered without touching
///        the bucket. It is not in the FIFO queue because there it would hold back every transfer
///        behind it for the whole delay: anyone able to send one transfer above capacity could stall
///        the bridge. The large lane is FIFO too (one delay for all, so the oldest ripens first).
///        releaseQueued serves the ripe large transfers first, then the queue.
///      * Accounting: `queuedValue` is the sum of both lanes, so delivered + queuedValue is what
///        arrived, at every moment. A transfer leaves its lane (storage written) before it is
///        delivered, so a delivery that calls out (RootBridge pays ether) sees a consistent state,
///        and a transfer that arrives meanwhile joins the tail.
///      * The bucket's level and timestamp share one slot (capacity is bounded to uint192), and the
///        queue's head and tail another: a delivery at once reads two slots and writes one.
abstract contract TokenBucketQueue {
    /// @notice The rate limit's parameters, fixed at deployment.
    /// @param capacity The bucket's size: the most delivered at once, and the largest transfer that
    ///        is rate-limited (larger ones wait largeTransferDelay instead).
    /// @param refillPerSecond What the bucket regains each second (at most `capacity`).
    /// @param largeTransferDelay How long a transfer above `capacity` waits, in seconds.
    struct RateLimit {
        uint256 capacity;
        uint256 refillPerSecond;
        uint256 largeTransferDelay;
    }

    /// @notice A transfer waiting in a lane.
    struct QueuedTransfer {
        address to;
        uint64 queuedAt;
        uint256 amount;
        uint256 id;
    }

    /// @notice A lane's bounds: transfers [head, tail) wait.
    struct Lane {
        uint128 head;
        uint128 tail;
    }

    /// @notice The largest largeTransferDelay accepted.
    uint256 public constant MAX_LARGE_TRANSFER_DELAY = 30 days;
    uint256 private constant _MAX_CAPACITY = type(uint192).max;
    uint256 private constant _FREE = 1;
    uint256 private constant _HELD = 2;

    /// @notice The bucket's size (see RateLimit).
    uint256 public immutable capacity;
    /// @notice What the bucket regains each second.
    uint256 public immutable refillPerSecond;
    /// @notice How long a transfer above `capacity` waits before it can be released.
    uint256 public immutable largeTransferDelay;

    // The bucket: its level at _updatedAt (one slot).
    uint192 private _level;
    uint64 private _updatedAt;
    /// @notice The FIFO queue of transfers waiting for the bucket: [head, tail).
    Lane public queue;
    /// @notice The lane of transfers above capacity waiting for their delay: [head, tail).
    Lane public largeQueue;
    /// @notice The sum of the amounts waiting in both lanes.
    uint256 public queuedValue;
    /// @notice The transfers of the queue, by position.
    mapping(uint256 index => QueuedTransfer) public queuedTransfers;
    /// @notice The transfers of the large lane, by position.
    mapping(uint256 index => QueuedTransfer) public largeTransfers;
    uint256 private _lock = _FREE;

    /// @notice Transfer `id` (the deposit's or the exit's) to `to` waits at `index` of the queue, or
    ///         of the large lane if `large`.
    event TransferQueued(uint256 indexed id, address indexed to, uint256 amount, bool large, uint256 index);
    /// @notice The queued transfer `id` at `index` (of the large lane if `large`) was delivered.
    event TransferReleased(uint256 indexed id, address indexed to, uint256 amount, bool large, uint256 index);

    /// @notice A rate-limit parameter is unusable (zero, or out of range).
    error TokenBucketQueue__InvalidConfiguration(string what);
    /// @notice releaseQueued or claim was entered again from a delivery.
    error TokenBucketQueue__Reentrancy();

    modifier nonReentrant() {
        if (_lock == _HELD) revert TokenBucketQueue__Reentrancy();
        _lock = _HELD;
        _;
        _lock = _FREE;
    }

    constructor(RateLimit memory limit) {
        if (limit.capacity == 0 || limit.capacity > _MAX_CAPACITY) {
            revert TokenBucketQueue__InvalidConfiguration("capacity");
        }
        if (limit.refillPerSecond == 0 || limit.refillPerSecond > limit.capacity) {
            revert TokenBucketQueue__InvalidConfiguration("refillPerSecond");
        }
        if (limit.largeTransferDelay == 0 || limit.largeTransferDelay > MAX_LARGE_TRANSFER_DELAY) {
            revert TokenBucketQueue__InvalidConfiguration("largeTransferDelay");
        }
        capacity = limit.capacity;
        refillPerSecond = limit.refillPerSecond;
        largeTransferDelay = limit.largeTransferDelay;
        _level = uint192(limit.capacity);
        _updatedAt = uint64(block.timestamp);
    }

    /// @notice Deliver what may be delivered now, oldest first, at most `maxCount` transfers: the
    ///         large transfers whose delay has passed, then the queue's head while it fits the
    ///         bucket. Anyone may call it; it returns how many it delivered (0 is no error).
    function releaseQueued(uint256 maxCount) external nonReentrant returns (uint256 released) {
        uint256 delay = largeTransferDelay;
        while (released < maxCount) {
            Lane storage lane = largeQueue;
            uint256 head = lane.head;
            if (head == lane.tail) break;
            QueuedTransfer storage waiting = largeTransfers[head];
            if (waiting.queuedAt + delay > block.timestamp) break;
            (address to, uint256 amount, uint256 id) = (waiting.to, waiting.amount, waiting.id);
            delete largeTransfers[head];
            lane.head = uint128(head + 1);
            queuedValue -= amount;
            ++released;
            emit TransferReleased(id, to, amount, true, head);
            _deliver(id, to, amount);
        }
        if (released == maxCount) return released;
        Lane memory bounds = queue;
        if (bounds.head == bounds.tail) return released; // nothing waits: leave the bucket as stored
        _storeLevel(available());
        while (released < maxCount) {
            Lane storage lane = queue;
            uint256 head = lane.head;
            if (head == lane.tail) break;
            QueuedTransfer storage waiting = queuedTransfers[head];
            uint256 amount = waiting.amount;
            // Read again each time: a delivery that called out may have let a transfer through.
            uint256 level = _level;
            if (amount > level) break;
            (address to, uint256 id) = (waiting.to, waiting.id);
            delete queuedTransfers[head];
            lane.head = uint128(head + 1);
            _level = uint192(level - amount);
            queuedValue -= amount;
            ++released;
            emit TransferReleased(id, to, amount, false, head);
            _deliver(id, to, amount);
        }
    }

    /// @notice What the bucket holds now: what a transfer may take at once.
    function available() public view returns (uint256) {
        uint256 level = _level;
        // elapsed < 2^64 and refillPerSecond <= capacity < 2^192: the product cannot overflow.
        uint256 refilled = (block.timestamp - _updatedAt) * refillPerSecond;
        uint256 room = capacity - level;
        return refilled >= room ? capacity : level + refilled;
    }

    /// @notice The bucket as stored: its level at `updatedAt` (available() projects it to now).
    function bucket() external view returns (uint256 level, uint256 updatedAt) {
        return (_level, _updatedAt);
    }

    /// @dev A transfer arrives (the callback's checks passed): delivered at once if the queue is
    ///      empty and it fits the bucket, else queued. Never reverts by itself.
    function _arrive(uint256 id, address to, uint256 amount) internal {
        if (amount > capacity) {
            Lane storage large = largeQueue;
            uint256 index = large.tail;
            large.tail = uint128(index + 1);
            largeTransfers[index] = QueuedTransfer(to, uint64(block.timestamp), amount, id);
            queuedValue += amount;
            emit TransferQueued(id, to, amount, true, index);
            return;
        }
        Lane memory lane = queue;
        if (lane.head == lane.tail) {
            uint256 level = available();
            if (amount <= level) {
                _storeLevel(level - amount);
                _deliver(id, to, amount);
                return;
            }
        }
        queue.tail = lane.tail + 1;
        queuedTransfers[lane.tail] = QueuedTransfer(to, uint64(block.timestamp), amount, id);
        queuedValue += amount;
        emit TransferQueued(id, to, amount, false, lane.tail);
    }

    /// @dev Hand `amount` to `to` (mint, pay): the transfer has left its lane already.
    function _deliver(uint256 id, address to, uint256 amount) internal virtual;

    function _storeLevel(uint256 level) private {
        _level = uint192(level);
        _updatedAt = uint64(block.timestamp);
    }
}
