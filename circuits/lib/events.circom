pragma circom 2.1.0;

// StateSync events: inclusion of a batch under an event root, and the batch commitment a
// contract recomputes (docs/PROTOCOL.md sections 3 and 4).

include "circomlib/circuits/poseidon.circom";
include "common.circom";
include "merkle.circom";

// EventInclusion(D, B): n (1 <= n <= B) events with ids firstId, firstId + 1, ... are the
// leaves of eventRoot at positions firstPosition, firstPosition + 1, ..., and the batch
// v = [firstId, n, sender_0, receiver_0, dataHash_0, ...] (zero past n) satisfies
// eventsCommitment = sum_j v[j] * gamma^(j + 1).
// Inputs, public: eventRoot, gamma, eventsCommitment.
// Inputs, private: firstId (< 2^64), firstPosition, active[B] (n leading ones),
//   senders[B], receivers[B], dataHashes[B], siblings[B][D].
template EventInclusion(D, B) {
    signal input eventRoot;
    signal input gamma;
    signal input eventsCommitment;
    signal input firstId;
    signal input firstPosition;
    signal input active[B];
    signal input senders[B];
    signal input receivers[B];
    signal input dataHashes[B];
    signal input siblings[B][D];

    // Batch shape: active is 1...10...0 with at least one 1; inactive slots are all zero, as
    // the contract pads them.
    active[0] === 1;
    var n = 0;
    for (var i = 0; i < B; i++) {
        active[i] * (active[i] - 1) === 0;
        if (i > 0) {
            active[i] * (1 - active[i - 1]) === 0;
        }
        (1 - active[i]) * senders[i] === 0;
        (1 - active[i]) * receivers[i] === 0;
        (1 - active[i]) * dataHashes[i] === 0;
        n += active[i];
    }
    RangeCheck(64)(firstId);

    // Inclusion: each active event's leaf, at its consecutive position, reaches eventRoot.
    signal positions[B];
    signal roots[B];
    for (var i = 0; i < B; i++) {
        // Inactive slots use position 0, so a batch ending at the tree's last leaf stays in range.
        positions[i] <== active[i] * (firstPosition + i);
        var leaf = Poseidon(4)([firstId + i, senders[i], receivers[i], dataHashes[i]]);
        roots[i] <== MerkleRoot(D)(leaf, positions[i], siblings[i]);
        active[i] * (roots[i] - eventRoot) === 0;
    }

    // Commitment by Horner's rule, from the last element down: acc = (acc + v[j]) * gamma.
    var L = 2 + 3 * B;
    signal acc[L + 1];
    acc[L] <== 0;
    for (var j = L - 1; j >= 0; j--) {
        var v;
        if (j == 0) {
            v = firstId;
        } else if (j == 1) {
            v = n;
        } else if ((j - 2) % 3 == 0) {
            v = senders[(j - 2) \ 3];
        } else if ((j - 2) % 3 == 1) {
            v = receivers[(j - 2) \ 3];
        } else {
            v = dataHashes[(j - 2) \ 3];
        }
        acc[j] <== (acc[j + 1] + v) * gamma;
    }
    eventsCommitment === acc[0];
}
