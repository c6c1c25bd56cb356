"use strict";
// bn128_kernels.js's batched point kernels, on wasmcurves' field (g1w_*, g2w_*) and on M29
// (g1z_*, g2z_*), against ffjavascript's G1 / G2 on random points; and the Engine's complete
// additions (the exceptional cases finished with wasmcurves' projective formulas).

const test = require("node:test");
const assert = require("node:assert/strict");
const { B, R, seedFor, setup, lem, mulGen, hex } = require("./helpers.js");

const M = 48; // points per batch

// A kernel set as the tests drive it: points put in from / read out to ffjavascript's encoding.
function kernels(eng, g, tag) {
    const ex = eng.ex;
    const wsz = g === 1 ? 64 : 128;
    const sz = tag === "z" ? (g === 1 ? 72 : 144) : wsz;
    const k = (name) => ex[`g${g}${tag}_${name}`];
    const wc = eng.alloc(wsz);
    const put = (p, bytes) => {
        if (tag === "w") return eng.u8.set(bytes, p);
        eng.u8.set(bytes, wc);
        k("fromWc")(wc, p, 1);
    };
    const get = (p) => {
        if (tag === "w") return eng.u8.slice(p, p + wsz);
        k("toWc")(p, wc, 1);
        return eng.u8.slice(wc, wc + wsz);
    };
    return { sz, put, get, add: k("batchAdd"), double: k("batchDouble"), phi: k("phi"), neg: k("neg") };
}

function randomPoints(ref, G, rng, n) {
    return Array.from({ length: n }, () => mulGen(G, 1n + rng.below(R - 1n)));
}

for (const g of [1, 2]) {
    for (const tag of ["w", "z"]) {
        test(`G${g} ${tag}: batchAdd, in place and not, exceptional pairs flagged`, async (t) => {
            const rng = seedFor(t);
            const { ref, engine } = await setup();
            const eng = await engine();
            const G = g === 1 ? ref.G1 : ref.G2;
            const K = kernels(eng, g, tag);
            const ps = randomPoints(ref, G, rng, M);
            const qs = randomPoints(ref, G, rng, M);
            qs[3] = ps[3]; // P + P: a doubling
            qs[7] = ps[7]; // P - P (with the sign below): infinity
            const neg = ps.map((_, i) => (i === 7 ? 1 : rng.int(2)));
            if (neg[3]) neg[3] = 0;
            for (const inPlace of [false, true]) {
                const A = eng.alloc(M * K.sz);
                const Bp = eng.alloc(M * K.sz);
                const O = inPlace ? A : eng.alloc(M * K.sz);
                for (let i = 0; i < M; i++) {
                    K.put(A + i * K.sz, lem(G, ps[i]));
                    K.put(Bp + i * K.sz, lem(G, qs[i]));
                    eng.pA[i] = A + i * K.sz;
                    eng.pB[i] = Bp + i * K.sz;
                    eng.pO[i] = O + i * K.sz;
                    eng.pF[i] = neg[i];
                }
                K.add(eng.pAptr, eng.pBptr, inPlace ? eng.pAptr : eng.pOptr, eng.pFptr, M, eng.den, eng.nrm, eng.inv);
                for (let i = 0; i < M; i++) {
                    if (i === 3 || i === 7) {
                        assert.equal(eng.pF[i] & 2, 2, `pair ${i} must be left to the caller`);
                        continue;
                    }
                    assert.equal(eng.pF[i] & 2, 0);
                    const want = G.toAffine(neg[i] ? G.sub(ps[i], qs[i]) : G.add(ps[i], qs[i]));
                    assert.equal(hex(K.get(O + i * K.sz)), hex(lem(G, want)), `pair ${i}, in place ${inPlace}`);
                }
            }
        });

        test(`G${g} ${tag}: batchDouble, phi (GLV endomorphism), neg`, async (t) => {
            const rng = seedFor(t);
            const { ref, engine } = await setup();
            const eng = await engine();
            const G = g === 1 ? ref.G1 : ref.G2;
            const K = kernels(eng, g, tag);
            const ps = randomPoints(ref, G, rng, M);
            const A = eng.alloc(M * K.sz);
            const Z = eng.alloc(M * K.sz);
            for (const times of [1, 3, 7]) {
                ps.forEach((p, i) => {
                    K.put(A + i * K.sz, lem(G, p));
                    eng.pA[i] = A + i * K.sz;
                });
                K.double(eng.pAptr, M, times, eng.den, eng.nrm, eng.inv);
                ps.forEach((p, i) => {
                    const want = G.toAffine(G.timesScalar(p, 1n << BigInt(times)));
                    assert.equal(hex(K.get(A + i * K.sz)), hex(lem(G, want)), `2^${times} P_${i}`);
                });
            }
            ps.forEach((p, i) => K.put(A + i * K.sz, lem(G, p)));
            K.phi(A, Z, M);
            ps.forEach((p, i) => {
                assert.equal(hex(K.get(Z + i * K.sz)), hex(lem(G, G.toAffine(G.timesScalar(p, B.GLV_LAMBDA)))), `phi(P_${i})`);
            });
            K.phi(A, A, M); // in place
            ps.forEach((p, i) => {
                assert.equal(hex(K.get(A + i * K.sz)), hex(lem(G, G.toAffine(G.timesScalar(p, B.GLV_LAMBDA)))));
            });
            ps.forEach((p, i) => {
                K.put(A, lem(G, p));
                K.neg(A, Z);
                assert.equal(hex(K.get(Z)), hex(lem(G, G.toAffine(G.neg(p)))), `-P_${i}`);
            });
        });
    }

    test(`G${g}: the Engine's complete additions (both forms) finish the exceptional pairs`, async (t) => {
        const rng = seedFor(t);
        const { ref, engine } = await setup();
        const G = g === 1 ? ref.G1 : ref.G2;
        for (const form of B.FORMS) {
            const eng = await engine({ form });
            const E = eng.groups[g];
            const L = E.lc;
            const ps = randomPoints(ref, G, rng, 8);
            // (a, b, negate b): sums, a doubling, a sum at infinity, sums of the infinity that remains
            const pairs = [[0, 1, 0], [2, 2, 0], [3, 3, 1], [4, 5, 1], [6, 6, 0], [7, 0, 1]];
            for (const [add, sz, put, get] of [
                [(m, ip) => eng.batchAdd(E, m, ip), E.sz, (p, b) => eng.u8.set(b, p), (p) => eng.u8.slice(p, p + E.sz)],
                [(m, ip) => eng.lcAdd(E, m, ip), L.sz, (p, b) => { eng.u8.set(b, eng.wcA); L.fromWc(eng.wcA, p, 1); }, (p) => { L.toWc(p, eng.wcA, 1); return eng.u8.slice(eng.wcA, eng.wcA + E.sz); }],
            ]) {
                for (const inPlace of [false, true]) {
                    const A = eng.alloc(pairs.length * sz);
                    const Bp = eng.alloc(pairs.length * sz);
                    const O = inPlace ? A : eng.alloc(pairs.length * sz);
                    pairs.forEach(([a, b, neg], i) => {
                        put(A + i * sz, lem(G, ps[a]));
                        put(Bp + i * sz, lem(G, ps[b]));
                        eng.pA[i] = A + i * sz;
                        eng.pB[i] = Bp + i * sz;
                        eng.pO[i] = O + i * sz;
                        eng.pF[i] = neg;
                    });
                    add(pairs.length, inPlace);
                    pairs.forEach(([a, b, neg], i) => {
                        const want = G.toAffine(neg ? G.sub(ps[a], ps[b]) : G.add(ps[a], ps[b]));
                        assert.equal(eng.inf[i], G.isZero(want) ? 1 : 0, `infinity flag of pair ${i}`);
                        assert.equal(hex(get(O + i * sz)), hex(lem(G, want)), `${form} pair ${i}, in place ${inPlace}`);
                    });
                }
            }
        }
    });
}
