pragma circom 2.1.0;

// Light-client header update: a new rootchain header, linked to the trusted checkpoint and
// final under the validator set that checkpoint names (docs/PROTOCOL.md section 2).

include "circomlib/circuits/comparators.circom";
include "common.circom";
include "validators.circom";

// HeaderUpdate(V)
// Input, public: trustedHeaderHash (the checkpoint the verifier holds).
// Inputs, private: trustedHeader[7], header[7] (protocol field order), validatorKeys[V][2],
//   validatorPowers[V], signed[V], sigR8[V][2], sigS[V].
// Outputs (public): headerHash, number, eventRoot of the new header.
template HeaderUpdate(V) {
    signal input trustedHeaderHash;
    signal input trustedHeader[HEADER_FIELDS()];
    signal input header[HEADER_FIELDS()];
    signal input validatorKeys[V][2];
    signal input validatorPowers[V];
    signal input signed[V];
    signal input sigR8[V][2];
    signal input sigS[V];
    signal output headerHash;
    signal output number;
    signal output eventRoot;

    // The checkpoint: its fields are the ones the verifier trusts.
    signal checkpointHash <== HeaderHash()(trustedHeader);
    checkpointHash === trustedHeaderHash;

    // The link: child of the checkpoint, same chain, higher number, signed by the named set.
    header[H_PARENT_HASH()] === trustedHeaderHash;
    header[H_CHAIN_ID()] === trustedHeader[H_CHAIN_ID()];
    header[H_VALIDATOR_SET_HASH()] === trustedHeader[H_NEXT_VALIDATOR_SET_HASH()];
    RangeCheck(64)(trustedHeader[H_NUMBER()]);
    RangeCheck(64)(header[H_NUMBER()]);
    signal numberRises <== LessThan(64)([trustedHeader[H_NUMBER()], header[H_NUMBER()]]);
    numberRises === 1;

    // The new header and its finality under the set it names.
    headerHash <== HeaderHash()(header);
    signal setHash <== ValidatorSetHash(V)(validatorKeys, validatorPowers);
    setHash === header[H_VALIDATOR_SET_HASH()];
    // The powers are checked inside (quorum reached); the light client does not need them.
    (_, _) <== QuorumCertificate(V)(headerHash, validatorKeys, validatorPowers, signed, sigR8, sigS);

    number <== header[H_NUMBER()];
    eventRoot <== header[H_EVENT_ROOT()];
}
