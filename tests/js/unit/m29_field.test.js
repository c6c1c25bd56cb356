"use strict";
// bn128_m29.js's field arithmetic against ffjavascript's F1 / F2, on random elements and on the
// edges of its lazily reduced range [0, 2q).

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("path");
const { JS, Q, seedFor, setup, hex, fq2 } = require("./helpers.js");
const M29 = require(path.join(JS, "bn128_m29.js"));

const N = 40; // random cases per operation
const E = M29.N8Z;

async function fixture() {
    const { ref, engine } = await setup();
    const eng = await engine();
    const ex = eng.ex;
    const slots = Array.from({ length: 6 }, () => eng.alloc(2 * E));
    const wc = eng.alloc(64);
    // ffjavascript element (Montgomery bytes) -> M29 at p, and back
    const put = (p, bytes, n = bytes.length / 32) => {
        for (let k = 0; k < n; k++) {
            eng.u8.set(bytes.subarray(32 * k, 32 * k + 32), wc);
            ex.m29_fromWc(wc, p + k * E);
        }
    };
    const get = (p, n = 1) => {
        const out = new Uint8Array(32 * n);
        for (let k = 0; k < n; k++) {
            ex.m29_toWc(p + k * E, wc);
            out.set(eng.u8.subarray(wc, wc + 32), 32 * k);
        }
        return out;
    };
    return { ref, eng, ex, slots, put, get };
}

test("Fq: mul, square, add, sub, neg, addNR, inverse match ffjavascript", async (t) => {
    const rng = seedFor(t);
    const { ref, ex, slots, put, get } = await fixture();
    const F = ref.F1;
    const [a, b, r] = slots;
    const edge = [0n, 1n, 2n, Q - 1n, Q - 2n, (Q - 1n) / 2n];
    const values = () => [...edge.map((x) => [x, rng.below(Q)]), ...Array.from({ length: N }, () => [rng.below(Q), rng.below(Q)])];
    for (const [x, y] of values()) {
        const fx = F.e(x);
        const fy = F.e(y);
        put(a, fx);
        put(b, fy);
        const check = (what, want) => assert.equal(hex(get(r)), hex(want), `${what}(${x}, ${y})`);
        ex.m29_mul(a, b, r);
        check("mul", F.mul(fx, fy));
        ex.m29_square(a, r);
        check("square", F.square(fx));
        ex.m29_add(a, b, r);
        check("add", F.add(fx, fy));
        ex.m29_sub(a, b, r);
        check("sub", F.sub(fx, fy));
        ex.m29_neg(a, r);
        check("neg", F.neg(fx));
        // an unreduced sum (< 4q) is only ever the input of a product
        ex.m29_addNR(a, b, r);
        ex.m29_mul(r, a, r);
        check("mul(addNR)", F.mul(F.add(fx, fy), fx));
        if (x !== 0n) {
            ex.m29_inverse(a, r);
            check("inverse", F.inv(fx));
        }
        assert.equal(ex.m29_isZero(a), x === 0n ? 1 : 0);
    }
});

test("Fq: every representative in [0, 2q) is accepted and products stay below 2q", async (t) => {
    const rng = seedFor(t);
    const { ref, eng, ex, slots, get } = await fixture();
    const F = ref.F1;
    const [a, b, r] = slots;
    // X and X + q stand for the same element; write limbs directly (fromWc only makes one of them)
    const rawPut = (p, X) => eng.u8.set(M29.limbBytes(X), p);
    const rawGet = (p) => {
        let X = 0n;
        for (let j = M29.NL - 1; j >= 0; j--) X = (X << BigInt(M29.LB)) | BigInt(eng.u32[(p >> 2) + j]);
        return X;
    };
    for (let i = 0; i < N; i++) {
        const x = rng.below(Q);
        const y = rng.below(Q);
        const X = (x * M29.R29) % Q;
        const Y = (y * M29.R29) % Q;
        for (const [Xa, Yb] of [[X, Y], [X + Q, Y], [X, Y + Q], [X + Q, Y + Q]]) {
            rawPut(a, Xa);
            rawPut(b, Yb);
            for (const [op, want] of [["mul", F.mul(F.e(x), F.e(y))], ["add", F.add(F.e(x), F.e(y))], ["sub", F.sub(F.e(x), F.e(y))]]) {
                ex["m29_" + op](a, b, r);
                assert.ok(rawGet(r) < 2n * Q, `${op} left [0, 2q)`);
                assert.equal(hex(get(r)), hex(want), `${op} on representatives ${Xa > Q} ${Yb > Q}`);
            }
        }
        rawPut(a, Q); // q is zero too
        assert.equal(ex.m29_isZero(a), 1);
    }
});

test("Fq: batchInverse matches ffjavascript's inverses", async (t) => {
    const rng = seedFor(t);
    const { ref, eng, ex, put, get } = await fixture();
    const F = ref.F1;
    for (const m of [1, 2, 7, 64]) {
        const pin = eng.alloc(m * E);
        const pout = eng.alloc(m * E);
        const xs = Array.from({ length: m }, () => 1n + rng.below(Q - 1n));
        xs.forEach((x, i) => put(pin + i * E, F.e(x)));
        ex.m29_batchInverse(pin, pout, m);
        xs.forEach((x, i) => assert.equal(hex(get(pout + i * E)), hex(F.inv(F.e(x))), `1/${x} (m = ${m})`));
    }
});

test("Fq2: mul, square, add, sub, neg, isZero match ffjavascript", async (t) => {
    const rng = seedFor(t);
    const { ref, ex, slots, put, get } = await fixture();
    const F = ref.F2;
    const [a, b, r] = slots;
    for (let i = 0; i < N; i++) {
        const fx = fq2(ref, rng.below(Q), i === 0 ? 0n : rng.below(Q));
        const fy = fq2(ref, rng.below(Q), rng.below(Q));
        put(a, fx, 2);
        put(b, fy, 2);
        for (const [op, want] of [
            ["mul", F.mul(fx, fy)],
            ["add", F.add(fx, fy)],
            ["sub", F.sub(fx, fy)],
        ]) {
            ex["m29x2_" + op](a, b, r);
            assert.equal(hex(get(r, 2)), hex(want), op);
        }
        ex.m29x2_square(a, r);
        assert.equal(hex(get(r, 2)), hex(F.square(fx)), "square");
        ex.m29x2_neg(a, r);
        assert.equal(hex(get(r, 2)), hex(F.neg(fx)), "neg");
        assert.equal(ex.m29x2_isZero(a), 0);
    }
    put(a, F.zero, 2);
    assert.equal(ex.m29x2_isZero(a), 1);
});
