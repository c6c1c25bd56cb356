pragma circom 2.1.0;
include "circomlib/circuits/comparators.circom";

// Test-only circuits for the setup and verifier tests (not product circuits).

// Tiny(): z = w^2 * x + y with w != 0. Inputs: x, y (public), w (private). Output: z (public).
// Three public signals (z, x, y) and a circomlib gadget, so the fixture exercises
// `-l node_modules` as real circuits do.
template Tiny() {
    signal input x;
    signal input y;
    signal input w;
    signal output z;
    signal t <== w * w;
    z <== t * x + y;
    signal wIsZero <== IsZero()(w);
    wIsZero === 0;
}

// Product(): c = a * b + 3. Inputs: a (public), b (private). Output: c (public).
template Product() {
    signal input a;
    signal input b;
    signal output c;
    c <== a * b + 3;
}

// TwoOutputs(): outputs and several public inputs, a big constant, an unused (zero-column)
// input. Inputs: a, unused (public), b, c (private). Outputs: d, e (public).
template TwoOutputs() {
    signal input a;
    signal input b;
    signal input c;
    signal input unused;
    signal output d;
    signal output e;
    signal t;
    t <== a * b + 3 * c;
    d <== t * t - 7 * a + 12345678901234567890123456789;
    e <== (a + b + c) * (a - 2 * b + 5);
}

// Wide(N): one signal in many constraints (several accumulators per column), negative
// coefficients, a long linear combination, repeated coefficient values.
// Inputs: x, y (public), in[N] (private). Outputs: out[N], s (public).
template Wide(N) {
    signal input x;
    signal input y;
    signal input in[N];
    signal output out[N];
    signal output s;
    var acc = 0;
    for (var i = 0; i < N; i++) {
        out[i] <== (x + i * 1234567891011121314151617181920) * (in[i] - y * (i % 3 + 1));
        acc += in[i] * (21888242871839275222246405745257275088548364400416034343698204186575808495617 - i - 1);
    }
    signal t;
    t <== acc * x;
    s <== t * t + 5;
}
