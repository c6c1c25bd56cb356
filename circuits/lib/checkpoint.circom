pragma circom 2.1.0;

// Checkpoint updates for the exit direction: child-chain checkpoints, linked to the checkpoint
// the rootchain trusts and final under the set it names (docs/PROTOCOL.md section 8). The
// exit tree is keccak and stays outside the circuit: only its root is carried, exactly.

include "common.circom";
include "finality.circom";

// FinalCheckpoint(V, Q): one checkpoint step, FinalChild's twin.
// Inputs (all private to the caller): parentHash, parentChainId, parentNumber and
//   parentNextSetHash of the parent checkpoint (bound to its hash by the caller),
//   checkpoint[10] (protocol field order), validatorKeys[V][2], validatorPowers[V], signed[V],
//   sigR8[SIGNATURES(V, Q)][2], sigS[SIGNATURES(V, Q)] (finality.circom).
// Output: checkpointHash of `checkpoint`.
// Constrains: FinalUnder's rules, with the message under the checkpoint domain tag, and every
// limb (exit root, block hash) below 2^128, so each 256-bit value has one reading.
template FinalCheckpoint(V, Q) {
    signal input parentHash;
    signal input parentChainId;
    signal input parentNumber;
    signal input parentNextSetHash;
    signal input checkpoint[CHECKPOINT_FIELDS()];
    signal input validatorKeys[V][2];
    signal input validatorPowers[V];
    signal input signed[V];
    signal input sigR8[SIGNATURES(V, Q)][2];
    signal input sigS[SIGNATURES(V, Q)];
    signal output checkpointHash;

    checkpoint[C_PARENT_HASH()] === parentHash;
    RangeCheck(128)(checkpoint[C_EXIT_ROOT_HIGH()]);
    RangeCheck(128)(checkpoint[C_EXIT_ROOT_LOW()]);
    RangeCheck(128)(checkpoint[C_BLOCK_HASH_HIGH()]);
    RangeCheck(128)(checkpoint[C_BLOCK_HASH_LOW()]);
    checkpointHash <== CheckpointHash()(checkpoint);
    signal message <== SigningMessage(CHECKPOINT_SIGNING_DOMAIN())(checkpoint[C_CHAIN_ID()], checkpointHash);
    FinalUnder(V, Q)(
        parentChainId, parentNumber, parentNextSetHash,
        checkpoint[C_CHAIN_ID()], checkpoint[C_NUMBER()], checkpoint[C_TIMESTAMP()],
        checkpoint[C_VALIDATOR_SET_HASH()],
        message, validatorKeys, validatorPowers, signed, sigR8, sigS
    );
}

// CheckpointUpdate(V, Q)
// Input, public: trustedCheckpointHash (the checkpoint the rootchain holds).
// Inputs, private: trustedCheckpoint[10], checkpoint[10] (protocol field order),
//   validatorKeys[V][2], validatorPowers[V], signed[V], sigR8[SIGNATURES(V, Q)][2], sigS[SIGNATURES(V, Q)] (finality.circom).
// Outputs (public): checkpointHash, number, exitRootHigh, exitRootLow of the new checkpoint.
template CheckpointUpdate(V, Q) {
    signal input trustedCheckpointHash;
    signal input trustedCheckpoint[CHECKPOINT_FIELDS()];
    signal input checkpoint[CHECKPOINT_FIELDS()];
    signal input validatorKeys[V][2];
    signal input validatorPowers[V];
    signal input signed[V];
    signal input sigR8[SIGNATURES(V, Q)][2];
    signal input sigS[SIGNATURES(V, Q)];
    signal output checkpointHash;
    signal output number;
    signal output exitRootHigh;
    signal output exitRootLow;

    signal trustedHash <== CheckpointHash()(trustedCheckpoint);
    trustedHash === trustedCheckpointHash;

    checkpointHash <== FinalCheckpoint(V, Q)(
        trustedCheckpointHash, trustedCheckpoint[C_CHAIN_ID()], trustedCheckpoint[C_NUMBER()],
        trustedCheckpoint[C_NEXT_VALIDATOR_SET_HASH()], checkpoint,
        validatorKeys, validatorPowers, signed, sigR8, sigS
    );
    number <== checkpoint[C_NUMBER()];
    exitRootHigh <== checkpoint[C_EXIT_ROOT_HIGH()];
    exitRootLow <== checkpoint[C_EXIT_ROOT_LOW()];
}
