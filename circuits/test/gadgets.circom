pragma circom 2.1.0;

// Tiny templates that exercise the circuit tester itself (not product circuits).
include "circomlib/circuits/comparators.circom";

// Inputs: a, b (private). Outputs: product = a * b, isZeroA = (a == 0).
// Asserts b != 0, so a zero b fails witness generation.
template ProductAndZero() {
    signal input a;
    signal input b;
    signal output product;
    signal output isZeroA;

    product <== a * b;
    isZeroA <== IsZero()(a);

    signal bInverse <-- b != 0 ? 1 / b : 0;
    bInverse * b === 1;
}

// Deliberately under-constrained: `free` is assigned with <-- and never constrained.
template Loose() {
    signal input a;
    signal output out;
    signal free <-- a * 2;
    out <== a + 1;
}
