"use strict";
/*
 * Unit tests of prover/js, run from the repository root with
 *
 *     node --test tests/js/unit/
 *
 * (lint.test.js is the JS lint; `node --test tests/js/unit/lint.test.js` runs it alone).
 *
 * Shared set-up of the kernel tests: the curve with prover/js's kernels, an Engine on it, and
 * ffjavascript's own bn128 (built without any plugin) as the reference; a seeded generator of
 * random inputs (JS_UNIT_SEED=n replays a run; every test prints the seed it used).
 */

const path = require("path");
const ffjs = require("ffjavascript");

const JS = path.resolve(__dirname, "..", "..", "..", "prover", "js");
const B = require(path.join(JS, "bn128_batch.js"));

const Q = B.Q;
const R = B.R;

// xorshift128+ on BigInt: reproducible from one seed, good enough for test inputs
class Rng {
    constructor(seed) {
        this.seed = seed;
        const mask = (1n << 64n) - 1n;
        let s = BigInt(seed) ^ 0x9e3779b97f4a7c15n;
        const split = () => {
            s = (s + 0x9e3779b97f4a7c15n) & mask;
            let z = s;
            z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
            z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask;
            return z ^ (z >> 31n);
        };
        this.a = split();
        this.b = split();
        this.mask = mask;
    }

    next64() {
        let x = this.a;
        const y = this.b;
        this.a = y;
        x ^= (x << 23n) & this.mask;
        this.b = x ^ y ^ (x >> 17n) ^ (y >> 26n);
        return (this.b + y) & this.mask;
    }

    // uniform enough in [0, m) for m < 2^256
    below(m) {
        let x = 0n;
        for (let i = 0; i < 6; i++) x = (x << 64n) | this.next64();
        return x % m;
    }

    int(n) {
        return Number(this.next64() % BigInt(n));
    }
}

function seedFor(t) {
    const seed = process.env.JS_UNIT_SEED ? Number(process.env.JS_UNIT_SEED) : Math.floor(Math.random() * 2 ** 31);
    if (t) t.diagnostic(`JS_UNIT_SEED=${seed}`);
    return new Rng(seed);
}

let cached = null;

// { ref, curve, wasmModule, consts, engine(opts) }: built once per test file.
async function setup() {
    if (!cached) {
        const curve = await ffjs.buildBn128(true, B.batchWasmPlugin);
        const ref = await ffjs.buildBn128(true);
        const wasmModule = await WebAssembly.compile(curve.tm.code);
        const consts = { pG1gen: curve.tm.pG1gen, pG2gen: curve.tm.pG2gen };
        cached = { ref, curve, wasmModule, consts, engine: (opts) => B.Engine.create(wasmModule, consts, opts) };
    }
    return cached;
}

// ffjavascript's encoding of a point (affine LEM: 64 bytes in G1, 128 in G2; infinity 0, 0).
function lem(G, p) {
    const b = new Uint8Array(G.F.n8 * 2);
    G.toRprLEM(b, 0, p);
    return b;
}

// k * generator, in the reference curve
function mulGen(G, k) {
    return G.timesScalar(G.g, ((k % R) + R) % R);
}

// c0 + c1*u in ffjavascript's F2 encoding (its F2.e([c0, c1]) writes past its own buffer in 0.3.1)
function fq2(ref, c0, c1) {
    const out = new Uint8Array(64);
    out.set(ref.F1.e(c0), 0);
    out.set(ref.F1.e(c1), 32);
    return out;
}

function hex(b) {
    return Buffer.from(b).toString("hex");
}

module.exports = { JS, B, Q, R, Rng, seedFor, setup, lem, mulGen, fq2, hex };
