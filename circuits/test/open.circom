pragma circom 2.1.0;

// Open(N): N public inputs s[N], each bound by one constraint to a private witness w, so a
// proof exists for every vector of N field elements and verifies for that vector alone.
// Test-only: the contract tests prove any public signals they need with it.
// Inputs: s[N] (public), w (private). Outputs: none.
template Open(N) {
    signal input s[N];
    signal input w;
    signal bound[N];
    for (var i = 0; i < N; i++) {
        bound[i] <== s[i] * w;
    }
}
