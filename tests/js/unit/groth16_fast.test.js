"use strict";
// groth16_fast.js end to end on a tiny circuit whose r1cs and witness are written here by hand
// (keys from snarkjs's own ceremony functions at 2^4, a few seconds): its proofs verify with
// snarkjs's groth16.verify, a tampered proof does not, two proofs of one witness differ, bad
// witnesses are refused with a clear message, and the CLI writes snarkjs's files.

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { execFileSync, spawnSync } = require("child_process");
const snarkjs = require("snarkjs");
const { JS, R } = require("./helpers.js");

const G16 = require(path.join(JS, "groth16_fast.js"));

function le(x, n) {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
        b[i] = Number(x & 0xffn);
        x >>= 8n;
    }
    return b;
}

function u32(x) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(x);
    return b;
}

function u64(x) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(x));
    return b;
}

function binFile(magic, version, sections) {
    const parts = [Buffer.from(magic, "latin1"), u32(version), u32(sections.length)];
    for (const [type, body] of sections) parts.push(u32(type), u64(body.length), body);
    return Buffer.concat(parts);
}

/*
 * Wires: 0 one, 1 out (public output), 2 a (public input), 3 x, 4 y, 5 t, 6 unused (its
 * points are at infinity). Constraints: x*y = t; t*(x + a) = out; y*(y - 1) = 0.
 */
const N_WIRES = 7;
function r1cs() {
    const lc = (terms) => Buffer.concat([u32(terms.length), ...terms.map(([w, v]) => Buffer.concat([u32(w), le(((v % R) + R) % R, 32)]))]);
    const cons = [
        [[[3, 1n]], [[4, 1n]], [[5, 1n]]],
        [[[5, 1n]], [[3, 1n], [2, 1n]], [[1, 1n]]],
        [[[4, 1n]], [[4, 1n], [0, -1n]], []],
    ];
    const header = Buffer.concat([u32(32), le(R, 32), u32(N_WIRES), u32(1), u32(1), u32(4), u64(N_WIRES), u32(cons.length)]);
    const body = Buffer.concat(cons.map(([a, b, c]) => Buffer.concat([lc(a), lc(b), lc(c)])));
    const labels = Buffer.concat(Array.from({ length: N_WIRES }, (_, i) => u64(i)));
    return binFile("r1cs", 1, [[1, header], [2, body], [3, labels]]);
}

function wtns(values, prime = R) {
    const header = Buffer.concat([u32(32), le(prime, 32), u32(values.length)]);
    return binFile("wtns", 2, [[1, header], [2, Buffer.concat(values.map((v) => le(v, 32)))]]);
}

// x = 7, y = 1, a = 3: t = 7, out = 70
const WITNESS = [1n, 70n, 3n, 7n, 1n, 7n, 5n];

let dir = null;
let keys = null;

async function makeKeys() {
    if (keys) return keys;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "g16fast-"));
    const f = (n) => path.join(dir, n);
    fs.writeFileSync(f("c.r1cs"), r1cs());
    fs.writeFileSync(f("w.wtns"), wtns(WITNESS));
    const curve = await snarkjs.curves.getCurveFromName("bn128");
    await snarkjs.powersOfTau.newAccumulator(curve, 4, f("0.ptau"));
    await snarkjs.powersOfTau.contribute(f("0.ptau"), f("1.ptau"), "test", "some entropy for the test ptau");
    await snarkjs.powersOfTau.preparePhase2(f("1.ptau"), f("final.ptau"));
    await snarkjs.zKey.newZKey(f("c.r1cs"), f("final.ptau"), f("0.zkey"));
    await snarkjs.zKey.contribute(f("0.zkey"), f("c.zkey"), "test", "more entropy for the test zkey");
    const vk = await snarkjs.zKey.exportVerificationKey(f("c.zkey"));
    keys = { zkey: f("c.zkey"), wtns: f("w.wtns"), vk, f, curve };
    return keys;
}

test.after(async () => {
    // snarkjs's curves keep worker threads: end them all (several instances may exist)
    const curves = new Set([keys && keys.curve, globalThis.curve_bn128].filter(Boolean));
    for (const c of curves) await c.terminate();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("proofs verify with snarkjs, differ from each other, and tampering breaks them", async () => {
    const { zkey, wtns: w, vk } = await makeKeys();
    const key = await G16.loadKey(zkey, { threads: 2 });
    try {
        const buf = fs.readFileSync(w);
        const p1 = await G16.prove(key, buf);
        const p2 = await G16.prove(key, buf);
        assert.deepEqual(p1.publicSignals, ["70", "3"]);
        assert.equal(p1.proof.protocol, "groth16");
        assert.equal(p1.proof.curve, "bn128");
        assert.equal(p1.proof.pi_a[2], "1");
        assert.deepEqual(p1.proof.pi_b[2], ["1", "0"]);
        assert.equal(await snarkjs.groth16.verify(vk, p1.publicSignals, p1.proof), true);
        assert.equal(await snarkjs.groth16.verify(vk, p2.publicSignals, p2.proof), true);
        assert.notDeepEqual(p1.proof.pi_a, p2.proof.pi_a, "r, s must be fresh for every proof");
        // snarkjs's own proof of the same witness verifies too (same key, same statement)
        const ref = await snarkjs.groth16.prove(zkey, w);
        assert.deepEqual(ref.publicSignals, p1.publicSignals);
        // tampering: another public signal, a swapped point, a proof's points mixed with another's
        assert.equal(await snarkjs.groth16.verify(vk, ["71", "3"], p1.proof), false);
        assert.equal(await snarkjs.groth16.verify(vk, p1.publicSignals, { ...p1.proof, pi_c: p2.proof.pi_c }), false);
        assert.equal(await snarkjs.groth16.verify(vk, p1.publicSignals, { ...p1.proof, pi_a: p1.proof.pi_c, pi_c: p1.proof.pi_a }), false);
    } finally {
        await G16.closeKey(key);
    }
});

test("a witness of another length or field is refused with a clear message", async () => {
    const { zkey } = await makeKeys();
    const key = await G16.loadKey(zkey, { threads: 1 });
    try {
        await assert.rejects(G16.prove(key, wtns(WITNESS.slice(0, 6))), /6 values, but the key's circuit has 7 variables/);
        await assert.rejects(G16.prove(key, wtns(WITNESS, (1n << 255n) - 19n)), /prime is not the key's scalar field/);
        await assert.rejects(G16.prove(key, Buffer.from("not a witness at all")), /not a wtns file/);
        const bad = WITNESS.slice();
        bad[3] = R + 7n;
        await assert.rejects(G16.prove(key, wtns(bad)), /value 3 is not reduced below r/);
    } finally {
        await G16.closeKey(key);
    }
});

test("the CLI writes proof.json and public.json that snarkjs accepts; bad input is one line, exit 1", async () => {
    const { zkey, wtns: w, vk, f } = await makeKeys();
    const cli = path.join(JS, "groth16_fast.js");
    execFileSync(process.execPath, [cli, "prove", zkey, w, f("proof.json"), f("public.json")], { stdio: "pipe" });
    const proof = JSON.parse(fs.readFileSync(f("proof.json"), "utf8"));
    const pub = JSON.parse(fs.readFileSync(f("public.json"), "utf8"));
    assert.equal(await snarkjs.groth16.verify(vk, pub, proof), true);
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes(".tmp-")), [], "no temporary files left");
    fs.writeFileSync(f("short.wtns"), wtns(WITNESS.slice(0, 5)));
    const bad = spawnSync(process.execPath, [cli, "prove", zkey, f("short.wtns"), f("p2.json"), f("q2.json")], { encoding: "utf8" });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^groth16_fast: error: witness: 5 values, but the key's circuit has 7 variables\n$/);
    assert.equal(fs.existsSync(f("p2.json")), false);
    const usage = spawnSync(process.execPath, [cli, "prove", zkey], { encoding: "utf8" });
    assert.equal(usage.status, 2);
});

test("closing a key settles its proofs, in flight or queued, and a failed worker makes the key say so", async () => {
    const { zkey, wtns: w } = await makeKeys();
    const buf = fs.readFileSync(w);
    const key = await G16.loadKey(zkey, { threads: 2 });
    const running = G16.prove(key, buf);
    const queued = G16.prove(key, buf);
    await G16.closeKey(key);
    await assert.rejects(running, /closed|unusable/);
    await assert.rejects(queued, /closed|unusable/);
    await assert.rejects(G16.prove(key, buf), (err) => err.code === "G16_KEY_DEAD");

    const other = await G16.loadKey(zkey, { threads: 2 });
    try {
        await other.pool.workers[1].terminate(); // a worker thread gone, not through closeKey
        await assert.rejects(G16.prove(other, buf), (err) => err.code === "G16_KEY_DEAD" && /worker 1 exited/.test(err.message));
    } finally {
        await G16.closeKey(other);
    }
});
