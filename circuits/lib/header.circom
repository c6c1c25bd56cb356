pragma circom 2.1.0;

// Light-client header updates: rootchain headers, linked to the trusted checkpoint and final
// under the validator set their parent names (docs/PROTOCOL.md sections 2 and 5).

include "common.circom";
include "finality.circom";
include "merkle.circom";

// FinalChild(V, Q): one step of the chain (Q: the quorum mode, finality.circom's SIGNATURES).
// Inputs (all private to the caller): parentHash, parentChainId, parentNumber and
//   parentNextSetHash of the parent (whose hash the caller has computed from its fields, so
//   they are bound to it), header[9] (protocol field order), validatorKeys[V][2],
//   validatorPowers[V], signed[V], sigR8[SIGNATURES(V, Q)][2], sigS[SIGNATURES(V, Q)].
// Output: headerHash of `header`.
// Constrains: header is parent's child on the same chain with a higher number and a uint64
// timestamp, names the set parent named, and more than 2/3 of that set's power signed its
// signing message (SigningMessage: the header hash under the header domain tag and chain id).
template FinalChild(V, Q) {
    signal input parentHash;
    signal input parentChainId;
    signal input parentNumber;
    signal input parentNextSetHash;
    signal input header[HEADER_FIELDS()];
    signal input validatorKeys[V][2];
    signal input validatorPowers[V];
    signal input signed[V];
    signal input sigR8[SIGNATURES(V, Q)][2];
    signal input sigS[SIGNATURES(V, Q)];
    signal output headerHash;

    header[H_PARENT_HASH()] === parentHash;
    // The model holds block-hash limbs below 2^128 (section 2); a signed r - 1 must not pass
    // here either, or one header would have two readings of its block hash.
    RangeCheck(128)(header[H_BLOCK_HASH_HIGH()]);
    RangeCheck(128)(header[H_BLOCK_HASH_LOW()]);
    headerHash <== HeaderHash()(header);
    signal message <== SigningMessage(HEADER_SIGNING_DOMAIN())(header[H_CHAIN_ID()], headerHash);
    FinalUnder(V, Q)(
        parentChainId, parentNumber, parentNextSetHash,
        header[H_CHAIN_ID()], header[H_NUMBER()], header[H_TIMESTAMP()], header[H_VALIDATOR_SET_HASH()],
        message, validatorKeys, validatorPowers, signed, sigR8, sigS
    );
}

// HeaderUpdate(V, Q)
// Input, public: trustedHeaderHash (the checkpoint the verifier holds).
// Inputs, private: trustedHeader[9], header[9] (protocol field order), validatorKeys[V][2],
//   validatorPowers[V], signed[V], sigR8[SIGNATURES(V, Q)][2], sigS[SIGNATURES(V, Q)]: one
//   signature per slot (Q = 0) or one aggregate signature (Q = 1), the same public signals.
// Outputs (public): headerHash, number, eventRoot of the new header.
template HeaderUpdate(V, Q) {
    signal input trustedHeaderHash;
    signal input trustedHeader[HEADER_FIELDS()];
    signal input header[HEADER_FIELDS()];
    signal input validatorKeys[V][2];
    signal input validatorPowers[V];
    signal input signed[V];
    signal input sigR8[SIGNATURES(V, Q)][2];
    signal input sigS[SIGNATURES(V, Q)];
    signal output headerHash;
    signal output number;
    signal output eventRoot;

    // The checkpoint: its fields are the ones the verifier trusts.
    signal checkpointHash <== HeaderHash()(trustedHeader);
    checkpointHash === trustedHeaderHash;

    headerHash <== FinalChild(V, Q)(
        trustedHeaderHash, trustedHeader[H_CHAIN_ID()], trustedHeader[H_NUMBER()],
        trustedHeader[H_NEXT_VALIDATOR_SET_HASH()], header,
        validatorKeys, validatorPowers, signed, sigR8, sigS
    );
    number <== header[H_NUMBER()];
    eventRoot <== header[H_EVENT_ROOT()];
}

// HeaderChain(V, D, N, Q): N headers in one proof, each the final child of the one before, so a
// client that fell behind (or a contract) catches up with one verification. The set may rotate
// at every step: header i is signed by the set header i-1 names. Only the last header's event
// root is published, so headers 0..N-2 must carry no events (the empty depth-D tree's root):
// otherwise anyone could skip a header with unexecuted events and strand them, since ids must
// be executed in order (docs/PROTOCOL.md section 5).
// Input, public: trustedHeaderHash (the checkpoint the verifier holds).
// Inputs, private: trustedHeader[9], headers[N][9], and per header the validatorKeys[V][2],
//   validatorPowers[V], signed[V], sigR8[SIGNATURES(V, Q)][2], sigS[SIGNATURES(V, Q)] of the set
//   that signs it.
// Outputs (public): headerHash, number, eventRoot of the last header (the same public signals
//   as HeaderUpdate, so the same contract entry point and light-client rule accept it).
template HeaderChain(V, D, N, Q) {
    signal input trustedHeaderHash;
    signal input trustedHeader[HEADER_FIELDS()];
    signal input headers[N][HEADER_FIELDS()];
    signal input validatorKeys[N][V][2];
    signal input validatorPowers[N][V];
    signal input signed[N][V];
    signal input sigR8[N][SIGNATURES(V, Q)][2];
    signal input sigS[N][SIGNATURES(V, Q)];
    signal output headerHash;
    signal output number;
    signal output eventRoot;

    signal checkpointHash <== HeaderHash()(trustedHeader);
    checkpointHash === trustedHeaderHash;

    // hashes[i] is the hash of the parent of headers[i]; each link computes the next one.
    signal hashes[N + 1];
    hashes[0] <== trustedHeaderHash;
    component links[N];
    for (var i = 0; i < N; i++) {
        links[i] = FinalChild(V, Q);
        links[i].parentHash <== hashes[i];
        links[i].parentChainId <== i == 0 ? trustedHeader[H_CHAIN_ID()] : headers[i - 1][H_CHAIN_ID()];
        links[i].parentNumber <== i == 0 ? trustedHeader[H_NUMBER()] : headers[i - 1][H_NUMBER()];
        links[i].parentNextSetHash <== i == 0
            ? trustedHeader[H_NEXT_VALIDATOR_SET_HASH()]
            : headers[i - 1][H_NEXT_VALIDATOR_SET_HASH()];
        links[i].header <== headers[i];
        links[i].validatorKeys <== validatorKeys[i];
        links[i].validatorPowers <== validatorPowers[i];
        links[i].signed <== signed[i];
        links[i].sigR8 <== sigR8[i];
        links[i].sigS <== sigS[i];
        hashes[i + 1] <== links[i].headerHash;
    }
    signal emptyRoot <== EmptyRoot(D)();
    for (var i = 0; i < N - 1; i++) {
        headers[i][H_EVENT_ROOT()] === emptyRoot;
    }
    headerHash <== hashes[N];
    number <== headers[N - 1][H_NUMBER()];
    eventRoot <== headers[N - 1][H_EVENT_ROOT()];
}
