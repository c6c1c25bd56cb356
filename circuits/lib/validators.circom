pragma circom 2.1.0;

// Validator sets: their hash, and the quorum of signatures over a message.
// Model: docs/PROTOCOL.md section 1 (slots, padding) and section 2 (the 2/3 rule).

include "circomlib/circuits/babyjub.circom";
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

// SlotRules(CHECK_POWER): what every slot of a set obeys, in either quorum mode.
// Inputs (private): key[2], power, signed. Output: isPadding (1 for the (0, 0) padding key).
// Rules: power < 2^64 (when CHECK_POWER = 1); signed is a bit (so no slot counts twice); padding
// has no power and cannot sign; any other key is on the curve.
template SlotRules(CHECK_POWER) {
    signal input key[2];
    signal input power;
    signal input signed;
    signal output isPadding;

    if (CHECK_POWER == 1) {
        RangeCheck(64)(power);
    }
    signed * (signed - 1) === 0;
    var xIsZero = IsZero()(key[0]);
    var yIsZero = IsZero()(key[1]);
    isPadding <== xIsZero * yIsZero;
    isPadding * power === 0;
    isPadding * signed === 0;
    OnCurveIfEnabled()(1 - isPadding, key[0], key[1]);
}

// QuorumRule(V): 3 * signedPower > 2 * totalPower, exactly Edge's signed > floor(2 * total / 3)
// for integers. Inputs (private): signedPower, totalPower, sums of V powers below 2^64 each.
template QuorumRule(V) {
    signal input signedPower;
    signal input totalPower;
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
        isPadding[i] <== SlotRules(1)(keys[i], powers[i], signed[i]);
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
    QuorumRule(V)(signedPower, totalPower);
}

// AggregateQuorum(V): validators holding more than 2/3 of the set's power signed `message` with
// one aggregate signature under the sum of their keys (docs/PROTOCOL.md section 10).
// Inputs (private): message, keys[V][2], powers[V], signed[V] (one bit per slot), sigR8[2] and
//   sigS, the aggregate EdDSA-Poseidon signature.
// Outputs: signedPower, totalPower.
// Rules per slot: SlotRules without the power's range check (the powers of a trusted set are
// below 2^64 by the model, which every honest signer applies before the quorum signs a header
// naming the set, as for distinct keys and proofs of possession); the slot's key, or the identity (0, 1) when it did not sign, is added
// to the aggregate. Then the signature verifies under the aggregate (circomlib's verifier refuses
// an aggregate of small order, the identity included: 4 X must not have x = 0), R8 is on the
// curve, and the quorum rule holds. Keys of a trusted set are distinct and carry proofs of
// possession (the Python model checks both when a set is formed), so no key can cancel others.
template AggregateQuorum(V) {
    signal input message;
    signal input keys[V][2];
    signal input powers[V];
    signal input signed[V];
    signal input sigR8[2];
    signal input sigS;
    signal output signedPower;
    signal output totalPower;

    signal isPadding[V];
    signal counted[V];
    signal selectedX[V];
    signal selectedY[V];
    signal sumX[V + 1];
    signal sumY[V + 1];
    sumX[0] <== 0;
    sumY[0] <== 1;
    var total = 0;
    var signedSum = 0;
    for (var i = 0; i < V; i++) {
        // The per-slot bound on power is the model's here (docs/PROTOCOL.md section 10): 64 of
        // the ~140 constraints a slot would cost, while the sums stay range-checked (QuorumRule).
        isPadding[i] <== SlotRules(0)(keys[i], powers[i], signed[i]);
        // signed ? key : (0, 1); Baby Jubjub's addition is complete, so the identity adds cleanly.
        selectedX[i] <== signed[i] * keys[i][0];
        selectedY[i] <== signed[i] * (keys[i][1] - 1) + 1;
        (sumX[i + 1], sumY[i + 1]) <== BabyAdd()(sumX[i], sumY[i], selectedX[i], selectedY[i]);
        counted[i] <== signed[i] * powers[i];
        total += powers[i];
        signedSum += counted[i];
    }
    signedPower <== signedSum;
    totalPower <== total;

    OnCurveIfEnabled()(1, sigR8[0], sigR8[1]);
    component verifier = EdDSAPoseidonVerifier();
    verifier.enabled <== 1;
    verifier.Ax <== sumX[V];
    verifier.Ay <== sumY[V];
    verifier.S <== sigS;
    verifier.R8x <== sigR8[0];
    verifier.R8y <== sigR8[1];
    verifier.M <== message;
    QuorumRule(V)(signedPower, totalPower);
}
