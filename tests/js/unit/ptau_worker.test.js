"use strict";
// ptau_worker.js's kernels, run in this thread: the scalars of each kind of job (powers of tau,
// Lagrange basis values at tau, the special block, times alpha or beta), the signed-window
// fixed-base multiplication, tables built in parts by different workers, and the compressed /
// uncompressed encodings the transcript hashes take; against ffjavascript on random secrets.

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("path");
const { JS, R, seedFor, setup, lem, hex } = require("./helpers.js");
const { PtauWorker, windowsFor } = require(path.join(JS, "ptau_worker.js"));

const POWER = 4;
const CHUNK = 24;

function pow(b, e) {
    let r = 1n;
    b %= R;
    while (e > 0n) {
        if (e & 1n) r = (r * b) % R;
        b = (b * b) % R;
        e >>= 1n;
    }
    return r;
}
const inv = (x) => pow(((x % R) + R) % R, R - 2n);

async function workers(ref, curve, wasmModule, consts, windows, n) {
    const roots = new Uint8Array((POWER + 2) * 32);
    for (let p = 0; p <= POWER + 1; p++) roots.set(curve.Fr.w[p], p * 32);
    const msg = { module: wasmModule, ...consts, chunk: CHUNK, windows, roots: roots.buffer };
    return Promise.all(Array.from({ length: n }, () => PtauWorker.create(msg)));
}

// The expected scalar of point j of a job (see ptau_fast.js's header for the formulas).
function scalar(job, s, ref) {
    const j = BigInt(job.start) + BigInt(job.i);
    const mult = job.mult === 1 ? s.alpha : job.mult === 2 ? s.beta : 1n;
    if (job.kind === "pow") return (pow(s.tau, j) * mult) % R;
    const n = 1n << BigInt(job.p);
    const w = ref.Fr.toObject(ref.Fr.w[job.p]);
    const wj = pow(w, j);
    let l = (wj * (pow(s.tau, n) - 1n) * inv(n * (s.tau - wj))) % R;
    if (job.special) l = (l - wj * pow(s.tau, n - 1n) * inv(n)) % R;
    return (((l * mult) % R) + R) % R;
}

test("jobs of every kind give k*G for the right k, from tables built in parts", async (t) => {
    const rng = seedFor(t);
    const { ref, curve, wasmModule, consts } = await setup();
    const windows = { 1: 5, 2: 4 };
    const [a, b] = await workers(ref, curve, wasmModule, consts, windows, 2);
    // worker a builds the first rows of each table, b the others; each gets the other's part
    for (const g of [1, 2]) {
        const W = windowsFor(windows[g]);
        const k = Math.floor(W / 2);
        const partA = a.buildTable(g, 0, k);
        const partB = b.buildTable(g, k, W);
        a.setTablePart(g, k, partB);
        b.setTablePart(g, 0, partA);
    }
    const s = { tau: 2n + rng.below(R - 2n), alpha: 1n + rng.below(R - 1n), beta: 1n + rng.below(R - 1n) };
    for (const w of [a, b]) {
        const buf = new Uint8Array(96);
        buf.set(ref.Fr.e(s.tau), 0);
        buf.set(ref.Fr.e(s.alpha), 32);
        buf.set(ref.Fr.e(s.beta), 64);
        w.setSecrets(buf.buffer);
        assert.ok(buf.every((x) => x === 0), "the message copy of the secrets is wiped");
    }
    const jobs = [
        { g: 1, kind: "pow", p: 0, start: 0, n: CHUNK, mult: 0, special: false, hash: true },
        { g: 1, kind: "pow", p: 0, start: 29, n: 7, mult: 1, special: false, hash: true },
        { g: 2, kind: "pow", p: 0, start: 3, n: 9, mult: 2, special: false, hash: true },
        { g: 1, kind: "lag", p: 3, start: 0, n: 8, mult: 0, special: false, hash: false },
        { g: 1, kind: "lag", p: POWER + 1, start: 5, n: 20, mult: 0, special: true, hash: false },
        { g: 2, kind: "lag", p: 2, start: 1, n: 3, mult: 0, special: false, hash: false },
        { g: 1, kind: "lag", p: POWER, start: 0, n: 16, mult: 2, special: false, hash: false },
        { g: 1, kind: "lag", p: 0, start: 0, n: 1, mult: 1, special: false, hash: false },
    ];
    for (const [i, job] of jobs.entries()) {
        const w = i % 2 ? b : a;
        const G = job.g === 1 ? ref.G1 : ref.G2;
        const res = w.runJob(job).fields;
        const sz = job.g === 1 ? 64 : 128;
        for (let k = 0; k < job.n; k++) {
            const P = G.toAffine(G.timesScalar(G.g, scalar({ ...job, i: k }, s, ref)));
            const what = `${job.kind} G${job.g} point ${job.start + k} (p ${job.p}, mult ${job.mult}, special ${job.special})`;
            assert.equal(hex(new Uint8Array(res.lem, k * sz, sz)), hex(lem(G, P)), what);
            if (!job.hash) continue;
            const c = new Uint8Array(sz / 2);
            const u = new Uint8Array(sz);
            G.toRprCompressed(c, 0, P);
            G.toRprUncompressed(u, 0, P);
            assert.equal(hex(new Uint8Array(res.c, k * (sz / 2), sz / 2)), hex(c), `compressed ${what}`);
            assert.equal(hex(new Uint8Array(res.u, k * sz, sz)), hex(u), `uncompressed ${what}`);
        }
    }
    a.wipe();
    assert.ok(a.eng.u8.subarray(a.secret, a.secret + 96).every((x) => x === 0), "wipe clears the secrets");
});

test("a scalar of zero (tau = 0 makes tau^j = 0) comes out as the point at infinity", async (t) => {
    seedFor(t);
    const { ref, curve, wasmModule, consts } = await setup();
    const [w] = await workers(ref, curve, wasmModule, consts, { 1: 3, 2: 3 }, 1);
    for (const g of [1, 2]) w.buildTable(g, 0, windowsFor(3));
    w.setSecrets(new Uint8Array(96).buffer);
    const res = w.runJob({ g: 1, kind: "pow", p: 0, start: 1, n: 4, mult: 0, special: false, hash: false }).fields;
    assert.ok(new Uint8Array(res.lem).every((x) => x === 0));
});
