pragma circom 2.1.0;

// StateSync(V, D, B, Q): a header update and a batch of its events in one proof, the form the
// receiver contract takes by default (docs/PROTOCOL.md section 5).

include "events.circom";
include "header.circom";

// Inputs, public: trustedHeaderHash, gamma, eventsCommitment.
// Inputs, private: those of HeaderUpdate(V, Q) and of EventInclusion(D, B) except eventRoot,
//   which is the new header's.
// Outputs (public): headerHash, number, eventRoot.
template StateSync(V, D, B, Q) {
    signal input trustedHeaderHash;
    signal input gamma;
    signal input eventsCommitment;
    signal input trustedHeader[HEADER_FIELDS()];
    signal input header[HEADER_FIELDS()];
    signal input validatorKeys[V][2];
    signal input validatorPowers[V];
    signal input signed[V];
    signal input sigR8[SIGNATURES(V, Q)][2];
    signal input sigS[SIGNATURES(V, Q)];
    signal input firstId;
    signal input firstPosition;
    signal input active[B];
    signal input senders[B];
    signal input receivers[B];
    signal input dataHashes[B];
    signal input siblings[B][D];
    signal output headerHash;
    signal output number;
    signal output eventRoot;

    (headerHash, number, eventRoot) <== HeaderUpdate(V, Q)(
        trustedHeaderHash, trustedHeader, header,
        validatorKeys, validatorPowers, signed, sigR8, sigS
    );
    EventInclusion(D, B)(
        eventRoot, gamma, eventsCommitment, firstId, firstPosition,
        active, senders, receivers, dataHashes, siblings
    );
}
