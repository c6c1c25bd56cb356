pragma circom 2.1.0;

// Validator sets: their hash, and the quorum of signatures over a message.
// Model: docs/PROTOCOL.md section 1 (slots, padding) and section 2 (the 2/3 rule).

include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/eddsaposeidon.circom";
include "circomlib/circuits/poseidon.circom";
include "common.circom";

// ValidatorSetHash(V): the set's commitment, absorbing [Ax_0, Ay_0, p_0, Ax_1, ...] 15 at a
// time into a Poseidon(16) chain that starts from V.
// Inputs (private): keys[V][2], powers[V]. Output: out = validatorSetHash.
template ValidatorSetHash(V) {
    signal input keys[V][2];
    signal input powers[V];
    signal output out;

    var N = 3 * V;
    var CHUNKS = (N + 14) \ 15;
    signal chain[CHUNKS + 1];
    chain[0] <== V;
    component sponge[CHUNKS];
    for (var c = 0; c < CHUNKS; c++) {
        sponge[c] = Poseidon(16);
        sponge[c].inputs[0] <== chain[c];
        for (var k = 0; k < 15; k++) {
            var j = 15 * c + k;
            if (j >= N) {
                sponge[c].inputs[k + 1] <== 0;
            } else if (j % 3 == 2) {
                sponge[c].inputs[k + 1] <== powers[j \ 3];
            } else {
                sponge[c].inputs[k + 1] <== keys[j \ 3][j % 3];
            }
        }
        chain[c + 1] <== sponge[c].out;
    }
    out <== chain[CHUNKS];
}

// QuorumCertificate(V): validators holding more than 2/3 of the set's power signed `message`.
// Inputs (private): message, keys[V][2], powers[V], signed[V] (one bit per slot),
//   sigR8[V][2], sigS[V] (EdDSA-Poseidon signatures; any values where signed = 0).
// Outputs: signedPower, totalPower.
// Rules per slot: power < 2^64; signed is a bit (so no slot counts twice); a (0, 0) key marks
// padding, which has no power and cannot sign; any other key is on the curve; a signing slot's
// R8 is on the curve and its signature verifies on `message`.
template QuorumCertificate(V) {
    signal input message;
    signal input keys[V][2];
    signal input powers[V];
    signal input signed[V];
    signal input sigR8[V][2];
    signal input sigS[V];
    signal output signedPower;
    signal output totalPower;

    signal isPadding[V];
    signal counted[V];
    component verifiers[V];
    var total = 0;
    var signedSum = 0;
    for (var i = 0; i < V; i++) {
        RangeCheck(64)(powers[i]);
        signed[i] * (signed[i] - 1) === 0;

        var xIsZero = IsZero()(keys[i][0]);
        var yIsZero = IsZero()(keys[i][1]);
        isPadding[i] <== xIsZero * yIsZero;
        isPadding[i] * powers[i] === 0;
        isPadding[i] * signed[i] === 0;
        OnCurveIfEnabled()(1 - isPadding[i], keys[i][0], keys[i][1]);
        // circomlib's verifier does not check R8; an off-curve R8 gets no benefit of the doubt.
        OnCurveIfEnabled()(signed[i], sigR8[i][0], sigR8[i][1]);

        verifiers[i] = EdDSAPoseidonVerifier();
        verifiers[i].enabled <== signed[i];
        verifiers[i].Ax <== keys[i][0];
        verifiers[i].Ay <== keys[i][1];
        verifiers[i].S <== sigS[i];
        verifiers[i].R8x <== sigR8[i][0];
        verifiers[i].R8y <== sigR8[i][1];
        verifiers[i].M <== message;

        counted[i] <== signed[i] * powers[i];
        total += powers[i];
        signedSum += counted[i];
    }
    signedPower <== signedSum;
    totalPower <== total;

    // 3 * signed > 2 * total, exactly Edge's signed > floor(2 * total / 3) for integers.
    // Both sides are sums of 64-bit values times 3 at most, below 2^QB; range-check them anyway
    // so the comparator's inputs are bounded by a constraint, not by an argument.
    var QB = 64 + bitLength(V) + 2;
    signal threeSigned <== 3 * signedPower;
    signal twoTotal <== 2 * totalPower;
    RangeCheck(QB)(threeSigned);
    RangeCheck(QB)(twoTotal);
    signal quorumReached <== LessThan(QB)([twoTotal, threeSigned]);
    quorumReached === 1;
}
