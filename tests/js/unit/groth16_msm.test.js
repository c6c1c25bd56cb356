"use strict";
// groth16_fast.js's MSM (Pippenger, signed digits, batch-affine tree accumulation) against
// ffjavascript's G1 / G2 multiExpAffine on random points and scalars, with the cases that
// break affine formulas: zero scalars, 1, r-1, repeated points, P and -P, points at infinity.

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("path");
const { JS, B, R, seedFor, setup, lem, mulGen, hex } = require("./helpers.js");

const G16 = require(path.join(JS, "groth16_fast.js"));
const SI = require(path.join(JS, "snarkjs_internals.js"));

let g16 = null;

// an Engine on the prover's own module (with its FFT and touch kernels)
async function g16Engine() {
    if (!g16) {
        const { ffjs } = await SI.loadInternals("ffjs");
        g16 = await SI.buildCurve(ffjs, G16.g16WasmPlugin);
    }
    return B.Engine.create(g16.wasmModule, g16.consts);
}

// the MSM variants tested: the prover's (touching, batches of 1024), without the touch kernels,
// and tiny batches (every flush boundary)
async function variants() {
    const { engine } = await setup();
    const a = new G16.Msm(await g16Engine());
    const b = new G16.Msm(await engine());
    const c = new G16.Msm(await g16Engine());
    c.batch = 3;
    return [["touch", a], ["plain", b], ["batch 3", c]];
}

function scalarBytes(ks) {
    const out = new Uint8Array(ks.length * 32);
    ks.forEach((k, i) => {
        let x = k;
        for (let j = 0; j < 32; j++) {
            out[i * 32 + j] = Number(x & 0xffn);
            x >>= 8n;
        }
    });
    return out;
}

// points and scalars with every special case, n >= 24
function inputs(G, rng, n) {
    const pts = Array.from({ length: n }, () => mulGen(G, 1n + rng.below(R - 1n)));
    const ks = Array.from({ length: n }, () => rng.below(R));
    pts[1] = G.zero; // infinity, with a non-zero scalar
    pts[2] = G.zero;
    ks[2] = 0n;
    ks[3] = 0n;
    ks[4] = 1n;
    ks[5] = R - 1n;
    ks[6] = 2n;
    pts[7] = pts[6]; // a repeated point and scalar: P + P in one bucket of every window
    ks[7] = 2n;
    pts[8] = pts[9]; // the same point, opposite scalars: P - P in every bucket
    ks[8] = R - ks[9];
    pts[10] = G.neg(pts[11]); // -P and P, one scalar: P + (-P)
    ks[10] = ks[11];
    pts[12] = pts[13]; // the same point, random scalars
    pts[14] = pts[15];
    ks[14] = ks[15];
    pts[16] = pts[17];
    ks[16] = ks[17];
    ks[18] = 3n; // small scalars share low buckets
    ks[19] = 3n;
    ks[20] = 1n;
    pts[21] = pts[20];
    ks[21] = R - 1n; // P + (R-1) P = infinity
    ks[22] = (1n << 253n) + 12345n;
    ks[23] = (1n << 128n) - 1n;
    return { pts, ks };
}

for (const g of [1, 2]) {
    test(`G${g}: the MSM equals ffjavascript's multiExpAffine, whole and in window ranges`, async (t) => {
        const rng = seedFor(t);
        const { ref } = await setup();
        const G = g === 1 ? ref.G1 : ref.G2;
        for (const [what, msm] of await variants()) for (const n of [24, 97]) {
            const { pts, ks } = inputs(G, rng, n);
            const bases = new Uint8Array(n * G.F.n8 * 2);
            pts.forEach((p, i) => bases.set(lem(G, G.toAffine(p)), i * G.F.n8 * 2));
            const scal = scalarBytes(ks);
            const want = hex(lem(G, G.toAffine(await G.multiExpAffine(bases, scal))));
            msm.addBases(`P${n}`, g, bases);
            msm.setScalars(`k${n}`, scal);
            for (const c of [2, 4, 7, G16.windowBits(n)]) {
                const nW = G16.windowsFor(c);
                const whole = msm.msm(`P${n}`, `k${n}`, 0, c, 0, nW);
                assert.equal(hex(whole), want, `${what}: n ${n}, c ${c}, all windows`);
                const cut = 1 + rng.int(nW - 1);
                const lo = G.fromRprLEM(msm.msm(`P${n}`, `k${n}`, 0, c, 0, cut), 0);
                const hi = G.fromRprLEM(msm.msm(`P${n}`, `k${n}`, 0, c, cut, nW), 0);
                assert.equal(hex(lem(G, G.toAffine(G.add(lo, hi)))), want, `${what}: n ${n}, c ${c}, windows split at ${cut}`);
            }
            // an offset into the scalars (C's MSM starts at nPublic + 1)
            const off = 5;
            msm.addBases(`Q${n}`, g, bases.subarray(off * G.F.n8 * 2));
            const w2 = hex(lem(G, G.toAffine(await G.multiExpAffine(bases.subarray(off * G.F.n8 * 2), scal.subarray(off * 32)))));
            assert.equal(hex(msm.msm(`Q${n}`, `k${n}`, off, 5, 0, G16.windowsFor(5))), w2, `${what}: n ${n}, offset ${off}`);
        }
    });
}

test("G1: an MSM whose every point is at infinity, or whose every scalar is 0, is infinity", async () => {
    const { ref, engine } = await setup();
    const G = ref.G1;
    const eng = await engine();
    const msm = new G16.Msm(eng);
    msm.addBases("Z", 1, new Uint8Array(8 * 64));
    msm.setScalars("k", scalarBytes([1n, 2n, 3n, R - 1n, 5n, 6n, 7n, 8n]));
    assert.equal(hex(msm.msm("Z", "k", 0, 4, 0, G16.windowsFor(4))), hex(new Uint8Array(64)));
    const bases = new Uint8Array(8 * 64);
    for (let i = 0; i < 8; i++) bases.set(lem(G, G.toAffine(mulGen(G, BigInt(i + 1)))), i * 64);
    msm.addBases("P", 1, bases);
    msm.setScalars("z", new Uint8Array(8 * 32));
    assert.equal(hex(msm.msm("P", "z", 0, 4, 0, G16.windowsFor(4))), hex(new Uint8Array(64)));
});

test("scalars not below 2^254 are refused", async () => {
    const { ref, engine } = await setup();
    const eng = await engine();
    const msm = new G16.Msm(eng);
    msm.addBases("Z", 1, lem(ref.G1, ref.G1.toAffine(ref.G1.g)));
    msm.setScalars("k", scalarBytes([(1n << 256n) - 1n]));
    assert.throws(() => msm.msm("Z", "k", 0, 4, 0, G16.windowsFor(4)), /not below 2\^254/);
});

test("G1: msmParts sums several MSMs in one bucket set", async (t) => {
    const rng = seedFor(t);
    const { ref } = await setup();
    const G = ref.G1;
    const msm = new G16.Msm(await g16Engine());
    const a = inputs(G, rng, 40);
    const b = inputs(G, rng, 30);
    const enc = (pts) => {
        const out = new Uint8Array(pts.length * 64);
        pts.forEach((p, i) => out.set(lem(G, G.toAffine(p)), i * 64));
        return out;
    };
    msm.addBases("a", 1, enc(a.pts));
    msm.addBases("b", 1, enc(b.pts.concat(a.pts.slice(0, 10)))); // points shared between the parts
    msm.setScalars("ka", scalarBytes(a.ks));
    msm.setScalars("kb", scalarBytes([0n, 0n, ...b.ks, ...a.ks.slice(0, 10)]));
    const wa = await G.multiExpAffine(enc(a.pts), scalarBytes(a.ks));
    const wb = await G.multiExpAffine(enc(b.pts.concat(a.pts.slice(0, 10))), scalarBytes([...b.ks, ...a.ks.slice(0, 10)]));
    const want = hex(lem(G, G.toAffine(G.add(wa, wb))));
    for (const c of [3, 6]) {
        const parts = [{ set: "a", scal: "ka", offset: 0 }, { set: "b", scal: "kb", offset: 2 }];
        assert.equal(hex(msm.msmParts(parts, c, 0, G16.windowsFor(c))), want, `c ${c}`);
    }
});

// The key's MSMs run at c = 14-15 (windowBits of 60k-131k points): the wide windows, the Int16 /
// Int32 digit boundary at c = 15 / 16, and a set name reused for the other group's points.
test("G1 and G2 at the prover's window sizes (c 13 to 16), and a set name reused across groups", async (t) => {
    const rng = seedFor(t);
    const { ref } = await setup();
    const msm = new G16.Msm(await g16Engine());
    for (const g of [1, 2]) {
        const G = g === 1 ? ref.G1 : ref.G2;
        const { pts, ks } = inputs(G, rng, 48);
        const bases = new Uint8Array(pts.length * G.F.n8 * 2);
        pts.forEach((p, i) => bases.set(lem(G, G.toAffine(p)), i * G.F.n8 * 2));
        const scal = scalarBytes(ks);
        const want = hex(lem(G, G.toAffine(await G.multiExpAffine(bases, scal))));
        msm.addBases("P", g, bases); // G1's points first, then G2's twice as large under one name
        msm.setScalars("k", scal);
        for (const c of [13, 14, 15, 16]) {
            assert.equal(hex(msm.msm("P", "k", 0, c, 0, G16.windowsFor(c))), want, `G${g}, c ${c}`);
        }
    }
});
