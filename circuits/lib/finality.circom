pragma circom 2.1.0;

// The link and finality rules that rootchain headers and child-chain checkpoints share
// (docs/PROTOCOL.md sections 2 and 8): written once, so both directions trust the same way.

include "circomlib/circuits/comparators.circom";
include "common.circom";
include "validators.circom";

// SIGNATURES(V, Q): how many signatures a quorum of V slots carries in quorum mode Q: one per slot
// (Q = 0, QuorumCertificate) or one aggregate (Q = 1, AggregateQuorum; docs/PROTOCOL.md section 10).
function SIGNATURES(V, Q) { return Q == 1 ? 1 : V; }

// FinalUnder(V, Q): a child item (header or checkpoint) may follow its parent and is final.
// Inputs (all private to the caller): parentChainId, parentNumber, parentNextSetHash of the
//   parent (bound to the parent's hash by the caller); chainId, number, timestamp, setHash of
//   the child (bound to its hash by the caller); message, the child's signing message under its
//   purpose's domain; validatorKeys[V][2], validatorPowers[V], signed[V], and the signatures
//   sigR8[SIGNATURES(V, Q)][2], sigS[SIGNATURES(V, Q)] (Q: the quorum mode, 0 or 1).
// No outputs.
// Constrains: same chain, a higher uint64 number, a uint64 timestamp, the set the parent named
// (the keys and powers hash to it), and more than 2/3 of its power signed `message`.
template FinalUnder(V, Q) {
    assert(Q == 0 || Q == 1);
    signal input parentChainId;
    signal input parentNumber;
    signal input parentNextSetHash;
    signal input chainId;
    signal input number;
    signal input timestamp;
    signal input setHash;
    signal input message;
    signal input validatorKeys[V][2];
    signal input validatorPowers[V];
    signal input signed[V];
    signal input sigR8[SIGNATURES(V, Q)][2];
    signal input sigS[SIGNATURES(V, Q)];

    chainId === parentChainId;
    setHash === parentNextSetHash;
    // LessThan(64) is only sound on 64-bit inputs; the model holds timestamps below 2^64 too.
    RangeCheck(64)(parentNumber);
    RangeCheck(64)(number);
    RangeCheck(64)(timestamp);
    signal numberRises <== LessThan(64)([parentNumber, number]);
    numberRises === 1;

    signal computedSetHash <== ValidatorSetHash(V)(validatorKeys, validatorPowers);
    computedSetHash === setHash;
    // The powers are checked inside (quorum reached); the verifier does not need them.
    if (Q == 0) {
        (_, _) <== QuorumCertificate(V)(message, validatorKeys, validatorPowers, signed, sigR8, sigS);
    } else {
        (_, _) <== AggregateQuorum(V)(message, validatorKeys, validatorPowers, signed, sigR8[0], sigS[0]);
    }
}
