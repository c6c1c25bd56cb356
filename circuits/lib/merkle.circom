pragma circom 2.1.0;

// Fixed-depth binary Poseidon Merkle trees (docs/PROTOCOL.md section 3).

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/poseidon.circom";

// MerkleRoot(D): the root reached from `leaf` at `position` with the given siblings.
// Inputs (private): leaf, position (< 2^D, enforced), siblings[D] (bottom-up).
// Output: root.
// Bit k of position (least significant first) is 1 when the level-k node is a right child.
template MerkleRoot(D) {
    signal input leaf;
    signal input position;
    signal input siblings[D];
    signal output root;

    signal bits[D] <== Num2Bits(D)(position);
    signal nodes[D + 1];
    signal swap[D];
    nodes[0] <== leaf;
    for (var k = 0; k < D; k++) {
        // swap = bit * (sibling - node): left/right are then linear in it (one constraint a level).
        swap[k] <== bits[k] * (siblings[k] - nodes[k]);
        nodes[k + 1] <== Poseidon(2)([nodes[k] + swap[k], siblings[k] - swap[k]]);
    }
    root <== nodes[D];
}

// EmptyRoot(D): the root of a depth-D tree whose leaves are all the zero leaf 0.
// Output: root. (D Poseidon(2) over constants: the circuit derives it instead of trusting a
// hard-coded number; circom --O2 folds it to a constant, so it adds no constraints.)
template EmptyRoot(D) {
    signal output root;
    signal nodes[D + 1];
    nodes[0] <== 0;
    for (var k = 0; k < D; k++) {
        nodes[k + 1] <== Poseidon(2)([nodes[k], nodes[k]]);
    }
    root <== nodes[D];
}
