pragma circom 2.1.0;

// Small shared pieces: header field positions, range checks, bit lengths.
// See docs/PROTOCOL.md for the model these follow.

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/poseidon.circom";

// Header field positions (docs/PROTOCOL.md section 2); the Python reference uses the same order.
function HEADER_FIELDS() { return 9; }
function H_CHAIN_ID() { return 0; }
function H_NUMBER() { return 1; }
function H_PARENT_HASH() { return 2; }
function H_TIMESTAMP() { return 3; }
function H_EVENT_ROOT() { return 4; }
function H_VALIDATOR_SET_HASH() { return 5; }
function H_NEXT_VALIDATOR_SET_HASH() { return 6; }
// The range's last rootchain block hash, 256 bits as two 128-bit limbs (high, low): no bit lost.
function H_BLOCK_HASH_HIGH() { return 7; }
function H_BLOCK_HASH_LOW() { return 8; }

// Checkpoint field positions (docs/PROTOCOL.md section 8): a header's twin for the child chain
// whose 256-bit keccak exit root enters exactly, as two 128-bit limbs (high, low).
function CHECKPOINT_FIELDS() { return 10; }
function C_CHAIN_ID() { return 0; }
function C_NUMBER() { return 1; }
function C_PARENT_HASH() { return 2; }
function C_TIMESTAMP() { return 3; }
function C_EXIT_ROOT_HIGH() { return 4; }
function C_EXIT_ROOT_LOW() { return 5; }
function C_VALIDATOR_SET_HASH() { return 6; }
function C_NEXT_VALIDATOR_SET_HASH() { return 7; }
function C_BLOCK_HASH_HIGH() { return 8; }
function C_BLOCK_HASH_LOW() { return 9; }

// Baby Jubjub: a x^2 + y^2 = 1 + d x^2 y^2
function BABYJUB_A() { return 168700; }
function BABYJUB_D() { return 168696; }

// Number of bits needed to write x (x >= 1).
function bitLength(x) {
    var n = 0;
    while (x > 0) {
        n++;
        x = x \ 2;
    }
    return n;
}

// RangeCheck(n): constrains in < 2^n.
// Input: in (any visibility). No outputs.
template RangeCheck(n) {
    signal input in;
    signal bits[n] <== Num2Bits(n)(in);
}

// Domain tags of signatures, ASCII read as big-endian integers (statesync.model.SigningPurpose):
// "zkstatesync/header/v1" for rootchain headers, "zkstatesync/checkpoint/v1" for child checkpoints.
function HEADER_SIGNING_DOMAIN() { return 178916636490733412758715052159860834009358166619697; }
function CHECKPOINT_SIGNING_DOMAIN() { return 768441102438020214853150288009141238455027492254625974679089; }

// SigningMessage(DOMAIN): what validators sign, bound to its purpose (DOMAIN) and its chain.
// Inputs: chainId, hash (of the header or checkpoint). Output: out = Poseidon([DOMAIN, chainId, hash]).
template SigningMessage(DOMAIN) {
    signal input chainId;
    signal input hash;
    signal output out <== Poseidon(3)([DOMAIN, chainId, hash]);
}

// HeaderHash(): Poseidon over the header's 9 fields in protocol order.
// Input: header[9]. Output: out = headerHash.
template HeaderHash() {
    signal input header[HEADER_FIELDS()];
    signal output out <== Poseidon(HEADER_FIELDS())(header);
}

// CheckpointHash(): Poseidon over the checkpoint's 10 fields in protocol order.
// Input: checkpoint[10]. Output: out = checkpointHash.
template CheckpointHash() {
    signal input checkpoint[CHECKPOINT_FIELDS()];
    signal output out <== Poseidon(CHECKPOINT_FIELDS())(checkpoint);
}

// OnCurveIfEnabled(): if enabled = 1, (x, y) is on Baby Jubjub; enabled must be 0 or 1.
// Inputs: enabled, x, y. No outputs.
template OnCurveIfEnabled() {
    signal input enabled;
    signal input x;
    signal input y;
    signal xx <== x * x;
    signal yy <== y * y;
    signal xxyy <== xx * yy;
    enabled * (BABYJUB_A() * xx + yy - 1 - BABYJUB_D() * xxyy) === 0;
}
