"use strict";
// Engine.linearCombinations (Straus with GLV, lockstep batched affine), both point forms, against
// sums of ffjavascript's scalar multiplications; and the scalar recoding it rests on.

const test = require("node:test");
const assert = require("node:assert/strict");
const { B, R, seedFor, setup, lem, mulGen, hex } = require("./helpers.js");

const abs = (x) => (x < 0n ? -x : x);

test("glvSplit: k = k1 + k2*lambda (mod r), both halves below 2^128", (t) => {
    const rng = seedFor(t);
    const ks = [0n, 1n, R - 1n, B.GLV_LAMBDA, R - B.GLV_LAMBDA, ...Array.from({ length: 200 }, () => rng.below(R))];
    for (const k of ks) {
        const [k1, k2] = B.glvSplit(k);
        assert.ok(abs(k1) < 1n << 128n && abs(k2) < 1n << 128n, `halves of ${k}`);
        assert.equal((((k1 + k2 * B.GLV_LAMBDA - k) % R) + R) % R, 0n);
    }
});

test("signedDigits: digits in [-2^(c-1), 2^(c-1)] that add back up to x", (t) => {
    const rng = seedFor(t);
    for (const c of [1, 3, 4, 7, 8]) {
        const nW = B.windowsFor(128, c);
        const out = new Int32Array(nW);
        for (let i = 0; i < 50; i++) {
            const x = rng.below(1n << 128n) * (rng.int(2) ? -1n : 1n);
            B.signedDigits(x, c, nW, out, 0);
            let back = 0n;
            for (let j = nW - 1; j >= 0; j--) {
                assert.ok(Math.abs(out[j]) <= 2 ** (c - 1), `digit ${out[j]} for c = ${c}`);
                back = back * (1n << BigInt(c)) + BigInt(out[j]);
            }
            assert.equal(back, x);
        }
    }
});

test("scalarTable: largest digit, phi digits, top window; windows that fit its Int8Array", (t) => {
    assert.throws(() => B.scalarTable([1n], 8), /1..7 fit an Int8Array/);
    const rng = seedFor(t);
    const values = [0n, 1n, 2n, R - 1n, ...Array.from({ length: 30 }, () => rng.below(R))];
    const tab = B.scalarTable(values, 7);
    values.forEach((v, i) => {
        const d = tab.digits.subarray(i * 2 * tab.nW, (i + 1) * 2 * tab.nW);
        assert.equal(tab.maxAbs[i], Math.max(0, ...Array.from(d, Math.abs)));
        assert.equal(tab.hasPhi[i], d.subarray(tab.nW).some((x) => x !== 0) ? 1 : 0);
        let top = -1;
        d.forEach((x, j) => {
            if (x && j % tab.nW > top) top = j % tab.nW;
        });
        assert.equal(tab.top[i], top, `top window of ${v}`);
    });
});

// A random sparse instance: bases (one at infinity), values small, negative, full size and zero,
// several terms per output (more than groupSize, so several accumulators), some sums cancelling.
function instance(ref, G, rng, nBases, nOut, nTerms) {
    const bases = Array.from({ length: nBases }, (_, b) => (b === 5 ? G.zero : mulGen(G, 1n + rng.below(R - 1n))));
    const k = rng.below(R);
    const values = [0n, 1n, 2n, R - 1n, R - 3n, 12345n, k, R - k, ...Array.from({ length: 12 }, () => rng.below(R))];
    const base = [];
    const val = [];
    const out = [];
    const push = (b, v, o) => {
        base.push(b);
        val.push(v);
        out.push(o);
    };
    for (let i = 0; i < nTerms; i++) push(rng.int(nBases), rng.int(values.length), rng.int(nOut));
    push(0, 6, nOut); // k*P0 + (r-k)*P0 = infinity: an output whose sum vanishes
    push(0, 7, nOut);
    push(5, 9, nOut + 1); // only the base at infinity
    push(1, 2, nOut + 2); // 2*P1 alone
    return { bases, values, terms: { base: Int32Array.from(base), val: Int32Array.from(val), out: Int32Array.from(out) } };
}

// One entry per output with a term on a finite base (terms on a base at infinity are dropped).
function expected(G, inst) {
    const sums = new Map();
    const { base, val, out } = inst.terms;
    for (let t = 0; t < base.length; t++) {
        if (G.isZero(inst.bases[base[t]])) continue;
        const p = G.timesScalar(inst.bases[base[t]], inst.values[val[t]]);
        sums.set(out[t], G.add(sums.get(out[t]) || G.zero, p));
    }
    return [...sums.entries()].sort((a, b) => a[0] - b[0]);
}

for (const g of [1, 2]) {
    for (const form of B.FORMS) {
        test(`G${g} ${form}: linearCombinations equals the sums of ffjavascript's products`, async (t) => {
            const rng = seedFor(t);
            const { ref, engine } = await setup();
            const G = g === 1 ? ref.G1 : ref.G2;
            const eng = await engine({ form, batchCap: 64 }); // small batches: every flush path runs
            const E = eng.groups[g];
            const inst = instance(ref, G, rng, 24, 10, g === 1 ? 160 : 80);
            for (const [c, groupSize] of [[7, 32], [4, 3], [2, 1]]) {
                const tab = B.scalarTable(inst.values, c);
                const mk = eng.mark();
                const p = eng.alloc(inst.bases.length * E.sz);
                inst.bases.forEach((b, i) => eng.u8.set(lem(G, G.toAffine(b)), p + i * E.sz));
                const res = eng.linearCombinations(E, p, inst.bases.length, inst.terms, tab, groupSize, null);
                eng.release(mk);
                const want = expected(G, inst);
                assert.deepEqual(Array.from(res.outs), want.map(([o]) => o), "outputs");
                want.forEach(([o, sum], r) => {
                    const got = res.pts.subarray(r * E.sz, (r + 1) * E.sz);
                    assert.equal(hex(got), hex(lem(G, G.toAffine(sum))), `output ${o} (window ${c}, groups of ${groupSize})`);
                });
            }
        });
    }
}
