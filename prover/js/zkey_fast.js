#!/usr/bin/env node
/*
 * zkey_fast.js: Groth16 phase 2 (snarkjs's zkey format) on BN254, fast.
 *
 *   node prover/js/zkey_fast.js new <circuit.r1cs> <pot.ptau> <out.zkey>
 *   node prover/js/zkey_fast.js contribute <in.zkey> <out.zkey> [--name NAME] [--entropy TEXT | --entropy-stdin]
 *                               [--beacon-hash HEX [--beacon-exp N] [--beacon-name NAME]]
 *   node prover/js/zkey_fast.js beacon <in.zkey> <out.zkey> <beaconHashHex> <numIterationsExp> [--name NAME]
 *   node prover/js/zkey_fast.js verify <circuit.r1cs> <pot.ptau> <key.zkey>
 *   common options: [--threads N] [--chunk N] [--quiet]
 *
 * `new` writes byte for byte what `snarkjs groth16 setup` writes from the same r1cs and ptau (that
 * initial key is deterministic). The work is sparse linear combinations of the ptau's Lagrange
 * points (A, B1, B2, C/IC of every wire); it runs in worker threads (zkey_worker.js), each with an
 * instance of ffjavascript's bn128 wasm module extended with batched affine kernels (bn128_batch.js,
 * on the faster field arithmetic of bn128_m29.js): all the sums of a block of constraints advance window
 * by window in lockstep (Straus), every scalar split in two 128-bit halves by the GLV
 * endomorphism, every addition and doubling of a round sharing one field inversion with thousands
 * of others. The distinct r1cs coefficients (a few tens of thousands) are recoded once. All the
 * rest (the coefficient section, the H points, the circuit hash) follows snarkjs's zkey_new.js step
 * by step, quirks included (the H points are hashed as (tau^(n+i) - tau^i)*G1, read from the
 * ptau's section 2 in 2^14-point chunks, one point past the end of the section when the circuit
 * fills the ptau).
 *
 * `contribute` and `beacon` are snarkjs's zkey_contribute.js / zkey_beacon.js with its own
 * functions (reached through snarkjs_internals.js) (the random key, transcript, proof of knowledge, section 10), except the scaling of
 * the L and H sections by 1/delta, done here by the same engine (a GLV/Straus fixed-scalar
 * multiplication). Their output is what snarkjs would write given the same random key: `beacon`
 * is fully determined by its arguments; `contribute` mixes 64 bytes from the OS CSPRNG into the
 * entropy, exactly as snarkjs does. `contribute --beacon-hash ...` applies the beacon right after
 * the contribution and writes the file `zkey beacon` would write from the contributed key, scaling
 * L and H once by the product of the two 1/delta (the contributed key itself is never written).
 *
 * `verify` is snarkjs's `zkey verify` (zkey_verify_fromr1cs.js): the initial key is recomputed
 * from the r1cs and the ptau (here, in memory, by `new`), then snarkjs's own phase2verifyFromInit
 * checks the key against it: same curve, circuit parameters, alpha, beta, gamma; sections IC,
 * coefficients, A, B1, B2 byte-identical; same circuit hash; every contribution's transcript,
 * proof of knowledge and delta chain; beacons re-derived; L and H against the initial key and the
 * ptau by random linear combinations and pairings. A key it cannot read, or r1cs and ptau from
 * which no initial key can be made, are reported as invalid.
 *
 * Exit codes: 0 success, 1 failure, 2 bad arguments, 3 (verify) the key is not valid (the
 * reasons on stderr, even with --quiet). On success one JSON line on stdout describes the result;
 * progress goes to stderr. ZKEY_FAST_PROFILE=1 adds the workers' CPU time and operation counts;
 * ZKEY_FAST_KERNEL=plain runs the linear combinations on ffjavascript's own field arithmetic
 * instead of bn128_m29.js's (the same bytes either way: it is there to measure what M29 buys).
 */
"use strict";

const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const B = require("./bn128_batch.js");
const SJ = require("./snarkjs_internals.js");
const T = require("./tool_common.js");

const DEFAULT_CHUNK = 4096; // constraints per job
const KEY_CHUNK = 8192; // points per job when scaling L / H
const GROUP_SIZE = 32; // terms per accumulator
const WINDOW_LC = 7; // window bits for the setup's sums
const WINDOW_KEY = 4; // window bits for the fixed-scalar multiplications
const MAX_JOB_TERMS = 1 << 20;
const HASH_CHUNK = 1 << 14; // zkey_new.js hashHPoints CHUNK_SIZE
const FR_S = 28; // 2-adicity of BN254's Fr
const SG1 = 64; // bytes of a G1 point (affine, LEM)
const SG2 = 128;
const WORKER = path.join(__dirname, "zkey_worker.js");

const USAGE =
    "usage: node zkey_fast.js new <circuit.r1cs> <pot.ptau> <out.zkey>\n" +
    "       node zkey_fast.js contribute <in.zkey> <out.zkey> [--name NAME] [--entropy TEXT | --entropy-stdin]\n" +
    "                         [--beacon-hash HEX [--beacon-exp N] [--beacon-name NAME]]\n" +
    "       node zkey_fast.js beacon <in.zkey> <out.zkey> <beaconHashHex> <numIterationsExp> [--name NAME]\n" +
    "       node zkey_fast.js verify <circuit.r1cs> <pot.ptau> <key.zkey>\n" +
    "  options: --threads N (default: available cores), --chunk N (constraints per job), --quiet";

const { UsageError } = T;
class InputError extends Error {}

/* ------------------------------------------------------------------------------------------ */
/* main thread: shared machinery                                                              */
/* ------------------------------------------------------------------------------------------ */

/*
 * What every command needs: snarkjs's modules (M), the curve with the kernels, and, started on
 * first use, the worker pool and an engine of the main thread's own. The test harness of
 * tests/prover/test_zkey.py builds one with makeEnv and calls applyContribution on it.
 */
// The point form of the linear combinations: ZKEY_FAST_KERNEL=m29 (the default: bn128_m29.js's
// field) or plain (ffjavascript's own field), the same results either way; for measurements.
function kernelForm() {
    const form = process.env.ZKEY_FAST_KERNEL || B.DEFAULT_FORM;
    if (!B.FORMS.includes(form)) throw new UsageError(`ZKEY_FAST_KERNEL must be one of ${B.FORMS.join(", ")}, got ${JSON.stringify(form)}`);
    return form;
}

async function makeEnv(opts, log) {
    const M = await SJ.loadInternals(
        "misc",
        "zkeyUtils",
        "keyPair",
        "verifyFromInit",
        "ffjs",
        "blake2b",
        "fastFile",
        "binFileUtils"
    );
    const { curve, wasmModule, consts } = await SJ.buildCurve(M.ffjs, B.batchWasmPlugin);
    const threads = opts.threads || T.defaultThreads();
    const form = opts.form || kernelForm();
    const env = { M, curve, wasmModule, consts, form, threads, opts, log, pool: null, eng: null };
    env.startPool = () => {
        if (!env.pool) {
            env.pool = new T.WorkerPool(WORKER, threads);
            env.pool.ready = env.pool.callAll({ cmd: "init", module: wasmModule, consts, form });
            env.pool.ready.catch(() => {}); // awaited by the users of the pool
        }
        return env.pool;
    };
    env.engine = async () => {
        if (!env.eng) env.eng = await B.Engine.create(wasmModule, consts, { form });
        return env.eng;
    };
    env.close = async () => {
        if (env.pool) await env.pool.close();
        env.pool = null;
    };
    return env;
}

// The workers' CPU time and operation counts, when ZKEY_FAST_PROFILE is set.
async function logProfiles(pool, log) {
    if (!process.env.ZKEY_FAST_PROFILE) return;
    const profiles = await pool.callAll({ cmd: "profile" });
    profiles.forEach((p, i) => log(`profile worker ${i}: ${JSON.stringify(p.prof)}`));
}

// Sections of a snarkjs binary file: id -> [{p, size}] (p: data start), like binfileutils.
function readSectionTable(fd, type) {
    const st = fs.fstatSync(fd);
    const head = Buffer.alloc(12);
    if (fs.readSync(fd, head, 0, 12, 0) !== 12) throw new InputError(`not a ${type} file (too short)`);
    if (head.toString("latin1", 0, 4) !== type) throw new InputError(`not a ${type} file`);
    const nSections = head.readUInt32LE(8);
    const sections = [];
    let pos = 12;
    const h = Buffer.alloc(12);
    for (let i = 0; i < nSections; i++) {
        if (fs.readSync(fd, h, 0, 12, pos) !== 12) throw new InputError(`truncated ${type} file`);
        const id = h.readUInt32LE(0);
        const size = Number(h.readBigUInt64LE(4));
        pos += 12;
        if (pos + size > st.size) throw new InputError(`truncated ${type} file (section ${id})`);
        (sections[id] = sections[id] || []).push({ p: pos, size });
        pos += size;
    }
    return { sections, version: head.readUInt32LE(4), fileSize: st.size };
}

function readAt(fd, pos, len) {
    const b = Buffer.allocUnsafe(len);
    let done = 0;
    while (done < len) {
        const n = fs.readSync(fd, b, done, len - done, pos + done);
        if (n === 0) throw new InputError("unexpected end of file");
        done += n;
    }
    return b;
}

function u32(n) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0, 0);
    return b;
}

function u32be(n) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0, 0);
    return b;
}

function sectionHeader(id, size) {
    const b = Buffer.alloc(12);
    b.writeUInt32LE(id, 0);
    b.writeBigUInt64LE(BigInt(size), 4);
    return b;
}

function binHeader(type, version, nSections) {
    const b = Buffer.alloc(12);
    b.write(type, 0, "latin1");
    b.writeUInt32LE(version, 4);
    b.writeUInt32LE(nSections, 8);
    return b;
}

// misc.log2 of snarkjs (floor, on 32-bit integers)
function log2(V) {
    return (
        ((V & 0xffff0000) !== 0 ? ((V &= 0xffff0000), 16) : 0) |
        ((V & 0xff00ff00) !== 0 ? ((V &= 0xff00ff00), 8) : 0) |
        ((V & 0xf0f0f0f0) !== 0 ? ((V &= 0xf0f0f0f0), 4) : 0) |
        ((V & 0xcccccccc) !== 0 ? ((V &= 0xcccccccc), 2) : 0) |
        ((V & 0xaaaaaaaa) !== 0)
    );
}

/* ------------------------------------------------------------------------------------------ */
/* new: the initial zkey (zkey_new.js)                                                        */
/* ------------------------------------------------------------------------------------------ */

function readPtauInfo(fdPtau) {
    const { sections } = readSectionTable(fdPtau, "ptau");
    if (!sections[1]) throw new InputError("ptau file has no header section");
    const h = readAt(fdPtau, sections[1][0].p, sections[1][0].size);
    const n8 = h.readUInt32LE(0);
    const q = B.leToBig(h, 4, n8);
    if (q !== B.Q) throw new InputError("ptau file is not for BN254 (bn128)");
    const power = h.readUInt32LE(4 + n8);
    return { sections, power };
}

function readR1csInfo(fdR1cs) {
    const { sections } = readSectionTable(fdR1cs, "r1cs");
    if (!sections[1] || !sections[2]) throw new InputError("r1cs file lacks its header or constraints section");
    const h = readAt(fdR1cs, sections[1][0].p, sections[1][0].size);
    const n8 = h.readUInt32LE(0);
    const prime = B.leToBig(h, 4, n8);
    let o = 4 + n8;
    const info = {
        sections,
        n8,
        prime,
        nVars: h.readUInt32LE(o),
        nOutputs: h.readUInt32LE(o + 4),
        nPubInputs: h.readUInt32LE(o + 8),
        nPrvInputs: h.readUInt32LE(o + 12),
        nConstraints: h.readUInt32LE(o + 24),
    };
    return info;
}

// Distinct coefficient values (32-byte little-endian keys), numbered by first appearance.
class CoefficientValues {
    constructor() {
        this.index = new Map();
        this.keys = [];
    }

    of(key) {
        let v = this.index.get(key);
        if (v === undefined) {
            v = this.keys.length;
            this.index.set(key, v);
            this.keys.push(key);
        }
        return v;
    }

    values() {
        return this.keys.map((k) => B.leToBig(Buffer.from(k, "latin1"), 0, 32));
    }
}

/*
 * The terms of the jobs: blocks of constraints, each with its own bases (nb per kind: tau, alpha*tau,
 * beta*tau Lagrange points in G1, tau in G2), so a G1 term's base is kind * nb + (c - c0).
 */
class JobTerms {
    constructor() {
        this.jobs = [];
        this.cur = null;
    }

    start(c0, nb) {
        this.cur = { c0, c1: c0, nb, g1: { base: [], val: [], out: [] }, g2: { base: [], val: [], out: [] } };
        this.jobs.push(this.cur);
    }

    g1(kind, c, v, out) {
        const cur = this.cur;
        cur.g1.base.push(kind * cur.nb + (c - cur.c0));
        cur.g1.val.push(v);
        cur.g1.out.push(out);
    }

    g2(c, v, out) {
        const cur = this.cur;
        cur.g2.base.push(c - cur.c0);
        cur.g2.val.push(v);
        cur.g2.out.push(out);
    }
}

// Parse the constraints: distinct coefficients, the coefficient section's entries, and the terms of
// the jobs (blocks of `chunk` constraints; the nPublic+1 extra rows of A at the end). The outputs
// of G1 sums: A[s] at s, B1[s] at nVars + s, C / IC[s] at 2*nVars + s; of G2 sums: B2[s] at s.
function parseConstraints(buf, r1cs, nPublic, chunk) {
    const { nConstraints: nC, nVars } = r1cs;
    const n8 = 32;
    const TAU = 0; // kinds of G1 bases; alpha*tau = 1, beta*tau = 2
    const B1_OFF = nVars;
    const C_OFF = 2 * nVars;
    const values = new CoefficientValues();
    const coef = { m: [], c: [], s: [], v: [] }; // coefficient section entries (matrix, constraint, signal, value)
    const addCoef = (m, c, s, v) => {
        coef.m.push(m);
        coef.c.push(c);
        coef.s.push(s);
        coef.v.push(v);
    };
    const jobs = new JobTerms();
    let pos = r1cs.sections[2][0].p;
    const end = pos + r1cs.sections[2][0].size;
    let c = 0;
    // one linear combination of constraint c: its (signal, value) terms, each given to onTerm
    const readLC = (onTerm) => {
        const n = buf.readUInt32LE(pos);
        pos += 4;
        for (let i = 0; i < n; i++) {
            const s = buf.readUInt32LE(pos);
            const v = values.of(buf.toString("latin1", pos + 4, pos + 4 + n8));
            pos += 4 + n8;
            if (s >= nVars) throw new InputError(`r1cs constraint ${c} uses signal ${s} >= nVars`);
            onTerm(s, v);
        }
    };
    const termA = (s, v) => {
        jobs.g1(TAU, c, v, s); // A
        jobs.g1(2, c, v, C_OFF + s); // beta*tau -> IC / C
        addCoef(0, c, s, v);
    };
    const termB = (s, v) => {
        jobs.g1(TAU, c, v, B1_OFF + s); // B1
        jobs.g1(1, c, v, C_OFF + s); // alpha*tau -> IC / C
        jobs.g2(c, v, s); // B2
        addCoef(1, c, s, v);
    };
    const termC = (s, v) => jobs.g1(TAU, c, v, C_OFF + s);
    for (c = 0; c < nC; c++) {
        if (!jobs.cur || c - jobs.cur.c0 >= chunk || jobs.cur.g1.base.length >= MAX_JOB_TERMS) jobs.start(c, chunk);
        jobs.cur.c1 = c + 1;
        readLC(termA);
        readLC(termB);
        readLC(termC);
        if (pos > end) throw new InputError("r1cs constraints section is truncated");
    }
    // A[s] += L_{nC+s}, IC[s] += beta*L_{nC+s} for s = 0..nPublic
    const one = values.of(Buffer.from(B.bigToLE(1n, n8)).toString("latin1"));
    const cur = jobs.cur;
    if (!cur || cur.c1 - cur.c0 + nPublic + 1 > cur.nb) jobs.start(nC, Math.max(chunk, nPublic + 1));
    for (let s = 0; s <= nPublic; s++) {
        c = nC + s;
        jobs.cur.c1 = c + 1;
        jobs.g1(TAU, c, one, s);
        jobs.g1(2, c, one, C_OFF + s);
        addCoef(0, c, s, one);
    }
    return { values: values.values(), coef, jobs: jobs.jobs, chunk };
}

// The checks snarkjs's newZKey makes (same messages); the circuit's domain.
function checkCircuit(r1cs, ptau) {
    if (r1cs.n8 !== 32) throw new InputError(`r1cs field size ${r1cs.n8} is not BN254's`);
    if (r1cs.prime !== B.R) throw new InputError("r1cs curve does not match powers of tau ceremony curve");
    const nPublic = r1cs.nOutputs + r1cs.nPubInputs;
    const cirPower = log2(r1cs.nConstraints + r1cs.nPubInputs + r1cs.nOutputs + 1 - 1) + 1;
    if (cirPower > ptau.power) {
        throw new InputError(
            `circuit too big for this powers of tau ceremony: ${r1cs.nConstraints} constraints + ` +
                `${nPublic} public signals need 2^${cirPower}, the ptau has 2^${ptau.power}`
        );
    }
    if (!ptau.sections[12]) throw new InputError("Powers of tau is not prepared (no phase 2 sections).");
    if (cirPower >= FR_S) throw new InputError("circuit too big for zkey_fast (2^28 domain)");
    for (const s of [2, 4, 5, 6, 13, 14, 15]) {
        if (!ptau.sections[s]) throw new InputError(`ptau file lacks section ${s}`);
    }
    if (r1cs.nVars < nPublic + 1) throw new InputError("r1cs has fewer signals than public signals");
    return { nPublic, cirPower, D: 2 ** cirPower };
}

/*
 * The key's A, B1, C/IC (G1, 3 * nVars points) and B2 (G2, nVars) points, in the main thread's
 * engine, as the workers' partial sums come in. A point summed in several blocks (a signal used
 * in several blocks of constraints) is kept aside and added in at the end.
 */
class KeyPoints {
    constructor(eng, nVars) {
        this.eng = eng;
        this.outG1 = eng.alloc(3 * nVars * SG1);
        this.outG2 = eng.alloc(nVars * SG2);
        eng.u8.fill(0, this.outG1, this.outG1 + 3 * nVars * SG1);
        eng.u8.fill(0, this.outG2, this.outG2 + nVars * SG2);
        this.has = { 1: new Uint8Array(3 * nVars), 2: new Uint8Array(nVars) };
        this.pending = { 1: [], 2: [] };
    }

    base(g) {
        return g === 1 ? this.outG1 : this.outG2;
    }

    merge(g, res) {
        const sz = g === 1 ? SG1 : SG2;
        const has = this.has[g];
        const { outs, pts } = res;
        for (let r = 0; r < outs.length; r++) {
            const src = pts.subarray(r * sz, (r + 1) * sz);
            if (src.every((b) => b === 0)) continue;
            const o = outs[r];
            if (!has[o]) {
                this.eng.u8.set(src, this.base(g) + o * sz);
                has[o] = 1;
            } else {
                this.pending[g].push([o, src.slice()]);
            }
        }
    }

    // The partial sums kept aside, added in rounds of distinct outputs.
    addPending() {
        const eng = this.eng;
        for (const g of [1, 2]) {
            const G = eng.groups[g];
            const sz = G.sz;
            const list = this.pending[g];
            if (!list.length) continue;
            const mk = eng.mark();
            const pp = eng.alloc(list.length * sz);
            list.forEach(([, src], i) => eng.u8.set(src, pp + i * sz));
            let idx = list.map((_, i) => i);
            while (idx.length) {
                const used = new Set();
                const next = [];
                let m = 0;
                for (const i of idx) {
                    const o = list[i][0];
                    if (used.has(o) || m === eng.batchCap) {
                        next.push(i);
                        continue;
                    }
                    used.add(o);
                    const dst = this.base(g) + o * sz;
                    if (G.isZeroAffine(dst)) {
                        eng.u8.copyWithin(dst, pp + i * sz, pp + (i + 1) * sz);
                        continue;
                    }
                    eng.pA[m] = dst;
                    eng.pB[m] = pp + i * sz;
                    eng.pF[m] = 0;
                    m++;
                }
                eng.batchAdd(G, m, true);
                idx = next;
            }
            eng.release(mk);
            this.pending[g] = [];
        }
    }
}

// The linear combinations of every block, G2 first (the heavier jobs, best not left for the
// end); resolves when all have been merged into points.
function runLinearCombinations(pool, jobs, lag, points, log) {
    const promises = [];
    let nDone = 0;
    let lastLog = Date.now();
    const nJobs = jobs.length * 2;
    const progress = () => {
        nDone++;
        if (Date.now() - lastLog > 2000) {
            lastLog = Date.now();
            log(`linear combinations ${((100 * nDone) / nJobs).toFixed(0)}%`);
        }
    };
    for (const g of [2, 1]) {
        for (const job of jobs) {
            const nb = job.nb;
            let bases;
            if (g === 1) {
                bases = new Uint8Array(3 * nb * SG1);
                bases.set(lag.tauG1.subarray(job.c0 * SG1, job.c1 * SG1), 0);
                bases.set(lag.alphaTauG1.subarray(job.c0 * SG1, job.c1 * SG1), nb * SG1);
                bases.set(lag.betaTauG1.subarray(job.c0 * SG1, job.c1 * SG1), 2 * nb * SG1);
            } else {
                bases = new Uint8Array(nb * SG2);
                bases.set(lag.tauG2.subarray(job.c0 * SG2, job.c1 * SG2), 0);
            }
            const t = g === 1 ? job.g1 : job.g2;
            const base = Int32Array.from(t.base);
            const val = Int32Array.from(t.val);
            const out = Int32Array.from(t.out);
            const msg = { cmd: "lc", ctx: "lc", g, nBases: g === 1 ? 3 * nb : nb, bases: bases.buffer, base, val, out, groupSize: GROUP_SIZE };
            const done = pool.run(msg, [bases.buffer, base.buffer, val.buffer, out.buffer]).then((res) => {
                points.merge(g, res);
                progress();
            });
            promises.push(done);
        }
    }
    return Promise.race([Promise.all(promises), pool.failPromise]);
}

// Section 4: (matrix, constraint, signal, value * R^2 mod r) in r1cs order.
function coefficientSection(parsed) {
    const Rr = (1n << 256n) % B.R;
    const R2r = (Rr * Rr) % B.R;
    const nValues = parsed.values.length;
    const valR2 = new Uint8Array(nValues * 32);
    for (let v = 0; v < nValues; v++) valR2.set(B.bigToLE((parsed.values[v] * R2r) % B.R, 32), v * 32);
    const { coef } = parsed;
    const nCoef = coef.m.length;
    const sec4 = Buffer.alloc(4 + nCoef * 44);
    sec4.writeUInt32LE(nCoef, 0);
    for (let i = 0; i < nCoef; i++) {
        const o = 4 + i * 44;
        sec4.writeUInt32LE(coef.m[i], o);
        sec4.writeUInt32LE(coef.c[i], o + 4);
        sec4.writeUInt32LE(coef.s[i], o + 8);
        sec4.set(valR2.subarray(coef.v[i] * 32, coef.v[i] * 32 + 32), o + 12);
    }
    return sec4;
}

// Section 9: the odd points of the 2D Lagrange block of section 12.
function oddLagrangePoints(fdPtau, ptau, D) {
    const sec9 = Buffer.alloc(D * SG1);
    const blk = readAt(fdPtau, ptau.sections[12][0].p + (2 * D - 1) * SG1, 2 * D * SG1);
    for (let i = 0; i < D; i++) blk.copy(sec9, i * SG1, (2 * i + 1) * SG1, (2 * i + 2) * SG1);
    return sec9;
}

// The H points as zkey_new.js's hashHPoints hashes them: (tau^(D+i) - tau^i)*G1, uncompressed,
// read from section 2 in chunks of HASH_CHUNK points (past D - 1 when the circuit fills the ptau).
function hashedHPoints(eng, fdPtau, ptau, D) {
    const nHash = D - 1 <= HASH_CHUNK ? D - 1 : Math.ceil((D - 1) / HASH_CHUNK) * HASH_CHUNK;
    const hHashU = Buffer.alloc(nHash * SG1);
    const p2 = ptau.sections[2][0].p;
    const step = 1 << 14;
    const mk = eng.mark();
    const pa = eng.alloc(step * SG1);
    const pb = eng.alloc(step * SG1);
    const pj = eng.alloc(step * 96);
    const subAffine = eng.ex.g1m_subAffine;
    for (let i0 = 0; i0 < nHash; i0 += step) {
        const n = Math.min(step, nHash - i0);
        eng.u8.set(readAt(fdPtau, p2 + (i0 + D) * SG1, n * SG1), pa);
        eng.u8.set(readAt(fdPtau, p2 + i0 * SG1, n * SG1), pb);
        for (let i = 0; i < n; i++) subAffine(pa + i * SG1, pb + i * SG1, pj + i * 96);
        eng.ex.g1m_batchToAffine(pj, n, pj);
        eng.ex.g1m_batchLEMtoU(pj, n, pj);
        hHashU.set(eng.u8.subarray(pj, pj + n * SG1), i0 * SG1);
    }
    eng.release(mk);
    return hHashU;
}

// Section 2 (the header) and the circuit hash over what zkey_new.js hashes, in its order.
function headerAndHash(env, eng, fdPtau, ptau, shape, points, hHashU) {
    const { nVars, nPublic, D } = shape;
    const hasher = crypto.createHash("blake2b512");
    const toU = (g, p, n) => {
        const sz = g === 1 ? SG1 : SG2;
        const mk = eng.mark();
        const t = eng.alloc(n * sz);
        eng.groups[g].batchLEMtoU(p, n, t);
        const u = Buffer.from(eng.u8.subarray(t, t + n * sz));
        eng.release(mk);
        return u;
    };
    const lem = (p, n) => Buffer.from(eng.u8.subarray(p, p + n));
    const alpha1 = readAt(fdPtau, ptau.sections[4][0].p, SG1);
    const beta1 = readAt(fdPtau, ptau.sections[5][0].p, SG1);
    const beta2 = readAt(fdPtau, ptau.sections[6][0].p, SG2);
    const mk = eng.mark();
    const tmp = eng.alloc(SG1 + SG2);
    const enc = (g, bytes) => {
        eng.u8.set(bytes, tmp);
        return toU(g, tmp, 1);
    };
    const g1 = lem(env.consts.pG1gen, SG1); // z = 1: x, y are the affine coordinates
    const g2 = lem(env.consts.pG2gen, SG2);
    hasher.update(enc(1, alpha1));
    hasher.update(enc(1, beta1));
    hasher.update(enc(2, beta2));
    hasher.update(enc(2, g2)); // gamma2
    hasher.update(enc(1, g1)); // delta1
    hasher.update(enc(2, g2)); // delta2
    eng.release(mk);
    const sec2 = Buffer.concat([
        u32(32),
        Buffer.from(B.bigToLE(B.Q, 32)),
        u32(32),
        Buffer.from(B.bigToLE(B.R, 32)),
        u32(nVars),
        u32(nPublic),
        u32(D),
        alpha1,
        beta1,
        beta2,
        g2,
        g1,
        g2,
    ]);
    const pA = points.outG1;
    const pB1 = points.outG1 + nVars * SG1;
    const pC = points.outG1 + 2 * nVars * SG1;
    const pIC = pC + (nPublic + 1) * SG1; // C of the private signals (section 8)
    hasher.update(u32be(nPublic + 1));
    hasher.update(toU(1, pC, nPublic + 1));
    hasher.update(u32be(D - 1));
    hasher.update(hHashU);
    hasher.update(u32be(nVars - nPublic - 1));
    hasher.update(toU(1, pIC, nVars - nPublic - 1));
    hasher.update(u32be(nVars));
    hasher.update(toU(1, pA, nVars));
    hasher.update(u32be(nVars));
    hasher.update(toU(1, pB1, nVars));
    hasher.update(u32be(nVars));
    hasher.update(toU(2, points.outG2, nVars));
    const sections = {
        2: sec2,
        3: lem(pC, (nPublic + 1) * SG1),
        8: lem(pIC, (nVars - nPublic - 1) * SG1),
        5: lem(pA, nVars * SG1),
        6: lem(pB1, nVars * SG1),
        7: lem(points.outG2, nVars * SG2),
    };
    return { sections, csHash: hasher.digest() };
}

// The initial zkey's bytes (a list of parts) and its circuit hash.
async function buildInitialZkey(env, r1csPath, ptauPath) {
    const { log, opts } = env;
    const t0 = Date.now();
    const fdPtau = fs.openSync(ptauPath, "r");
    const fdR1cs = fs.openSync(r1csPath, "r");
    try {
        const ptau = readPtauInfo(fdPtau);
        const r1cs = readR1csInfo(fdR1cs);
        const { nPublic, cirPower, D } = checkCircuit(r1cs, ptau);
        const { nVars, nConstraints: nC } = r1cs;
        const pool = env.startPool();

        // the sums' bases: sections 12..15 at the circuit's size
        const lagAt = (sec, sz) => readAt(fdPtau, ptau.sections[sec][0].p + (D - 1) * sz, D * sz);
        const lag = { tauG1: lagAt(12, SG1), tauG2: lagAt(13, SG2), alphaTauG1: lagAt(14, SG1), betaTauG1: lagAt(15, SG1) };
        const parsed = parseConstraints(fs.readFileSync(r1csPath), r1cs, nPublic, opts.chunk || DEFAULT_CHUNK);
        log(
            `r1cs: ${nC} constraints, ${nVars} signals, ${nPublic} public, domain 2^${cirPower}; ` +
                `${parsed.values.length} distinct coefficients, ${parsed.jobs.length} blocks`
        );
        const table = B.scalarTable(parsed.values, WINDOW_LC);
        await pool.ready;
        pool.broadcast({ cmd: "table", ctx: "lc", table });

        const eng = await env.engine();
        const mk = eng.mark();
        const points = new KeyPoints(eng, nVars);
        const sums = runLinearCombinations(pool, parsed.jobs, lag, points, log);
        sums.catch(() => {}); // awaited below, after the work done meanwhile
        parsed.jobs.length = 0;

        // meanwhile, in this thread
        const sec4 = coefficientSection(parsed);
        parsed.coef = null;
        const sec9 = oddLagrangePoints(fdPtau, ptau, D);
        const hHashU = hashedHPoints(eng, fdPtau, ptau, D);
        log("coefficients and H points ready");

        await sums;
        await logProfiles(pool, log);
        log(`linear combinations done (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
        points.addPending();
        const { sections, csHash } = headerAndHash(env, eng, fdPtau, ptau, { nVars, nPublic, D }, points, hHashU);
        eng.release(mk);

        const parts = [binHeader("zkey", 1, 10)];
        const all = { ...sections, 1: u32(1), 4: sec4, 9: sec9, 10: Buffer.concat([csHash, u32(0)]) };
        for (const id of [1, 2, 4, 3, 9, 8, 5, 6, 7, 10]) parts.push(sectionHeader(id, all[id].length), all[id]);
        return { parts, csHash, nConstraints: nC, nVars, nPublic, power: cirPower };
    } finally {
        fs.closeSync(fdPtau);
        fs.closeSync(fdR1cs);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* contribute / beacon (zkey_contribute.js, zkey_beacon.js)                                   */
/* ------------------------------------------------------------------------------------------ */

// Multiply every point of a G1 section by the scalar k (a BigInt), in the workers.
async function scaleSection(env, data, k, ctx) {
    const pool = env.startPool();
    await pool.ready;
    const sG1 = 64;
    const nPoints = data.length / sG1;
    const out = Buffer.alloc(data.length);
    const table = B.scalarTable([k], WINDOW_KEY);
    pool.broadcast({ cmd: "table", ctx, table });
    table.digits.fill(0); // the workers have their copies (wiped by "forget" below)
    const promises = [];
    for (let i0 = 0; i0 < nPoints; i0 += KEY_CHUNK) {
        const n = Math.min(KEY_CHUNK, nPoints - i0);
        const bases = new Uint8Array(data.subarray(i0 * sG1, (i0 + n) * sG1));
        const base = new Int32Array(n);
        const out_ = new Int32Array(n);
        for (let i = 0; i < n; i++) {
            base[i] = i;
            out_[i] = i;
        }
        const val = new Int32Array(n);
        promises.push(
            pool
                .run({ cmd: "lc", ctx, g: 1, nBases: n, bases: bases.buffer, base, val, out: out_, groupSize: 1 }, [
                    bases.buffer,
                    base.buffer,
                    val.buffer,
                    out_.buffer,
                ])
                .then((res) => {
                    for (let r = 0; r < res.outs.length; r++) {
                        out.set(res.pts.subarray(r * sG1, (r + 1) * sG1), (i0 + res.outs[r]) * sG1);
                    }
                })
        );
    }
    await Promise.race([Promise.all(promises), pool.failPromise]);
    pool.broadcast({ cmd: "forget", ctx });
    return out;
}

// The key's header and MPC parameters (section 10), as snarkjs reads them.
async function readKeyParams(M, curve, inPath) {
    const { zkeyUtils, binFileUtils } = M;
    const { fd, sections } = await binFileUtils.readBinFile(inPath, "zkey", 2);
    let zkey;
    let mpcParams;
    try {
        zkey = await zkeyUtils.readHeader(fd, sections, false, true);
        if (zkey.protocol != "groth16") throw new InputError("zkey file is not groth16");
        if (zkey.q !== B.Q) throw new InputError("zkey is not for BN254");
        mpcParams = await zkeyUtils.readMPCParams(fd, curve, sections);
    } finally {
        await fd.close();
    }
    for (const s of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
        if (!sections[s]) throw new InputError(`zkey lacks section ${s}`);
    }
    return { zkey, mpcParams, sections };
}

/*
 * One contribution, as zkey_contribute.js / zkey_beacon.js make it: the random delta, the
 * transcript and proof of knowledge, delta applied to the key's vk_delta. Appended to
 * mpcParams.contributions; returns 1/delta (for L and H) and the contribution's hash.
 */
async function addContribution(M, curve, zkey, mpcParams, contribution) {
    const { zkeyUtils, keyPair, blake2b } = M;
    const rng = await contribution.rng();
    const transcriptHasher = blake2b.create({ dkLen: 64 });
    transcriptHasher.update(mpcParams.csHash);
    for (let i = 0; i < mpcParams.contributions.length; i++) {
        zkeyUtils.hashPubKey(transcriptHasher, curve, mpcParams.contributions[i]);
    }
    const cur = { delta: {} };
    cur.delta.prvKey = curve.Fr.fromRng(rng);
    cur.delta.g1_s = curve.G1.toAffine(curve.G1.fromRng(rng));
    cur.delta.g1_sx = curve.G1.toAffine(curve.G1.timesFr(cur.delta.g1_s, cur.delta.prvKey));
    zkeyUtils.hashG1(transcriptHasher, curve, cur.delta.g1_s);
    zkeyUtils.hashG1(transcriptHasher, curve, cur.delta.g1_sx);
    cur.transcript = transcriptHasher.digest();
    cur.delta.g2_sp = keyPair.hashToG2(curve, cur.transcript);
    cur.delta.g2_spx = curve.G2.toAffine(curve.G2.timesFr(cur.delta.g2_sp, cur.delta.prvKey));
    zkey.vk_delta_1 = curve.G1.timesFr(zkey.vk_delta_1, cur.delta.prvKey);
    zkey.vk_delta_2 = curve.G2.timesFr(zkey.vk_delta_2, cur.delta.prvKey);
    cur.deltaAfter = zkey.vk_delta_1;
    cur.type = contribution.type;
    if (contribution.type === 1) {
        cur.numIterationsExp = contribution.numIterationsExp;
        cur.beaconHash = contribution.beaconHash;
    }
    if (contribution.name) cur.name = contribution.name;
    mpcParams.contributions.push(cur);
    const invDelta = curve.Fr.toObject(curve.Fr.inv(cur.delta.prvKey));
    cur.delta.prvKey.fill(0); // the toxic waste: only its inverse lives on, in the caller's scale
    delete cur.delta.prvKey;
    const contributionHasher = blake2b.create({ dkLen: 64 });
    zkeyUtils.hashPubKey(contributionHasher, curve, cur);
    const result = {
        type: cur.type === 1 ? "beacon" : "contribution",
        name: cur.name || "",
        hash: Buffer.from(contributionHasher.digest()).toString("hex"),
    };
    return { invDelta, result };
}

// Section 2 as zkey_utils.writeHeader writes it.
function keyHeader(curve, zkey) {
    const lemG1 = (p) => {
        const b = new Uint8Array(64);
        curve.G1.toRprLEM(b, 0, p);
        return b;
    };
    const lemG2 = (p) => {
        const b = new Uint8Array(128);
        curve.G2.toRprLEM(b, 0, p);
        return b;
    };
    return Buffer.concat([
        u32(32),
        Buffer.from(B.bigToLE(B.Q, 32)),
        u32(32),
        Buffer.from(B.bigToLE(B.R, 32)),
        u32(zkey.nVars),
        u32(zkey.nPublic),
        u32(zkey.domainSize),
        lemG1(zkey.vk_alpha_1),
        lemG1(zkey.vk_beta_1),
        lemG2(zkey.vk_beta_2),
        lemG2(zkey.vk_gamma_2),
        lemG1(zkey.vk_delta_1),
        lemG2(zkey.vk_delta_2),
    ]);
}

// Apply contributions (in order) to the key at inPath and write the result to outPath. Each is
// what zkey_contribute.js (type 0) or zkey_beacon.js (type 1) does; applying several at once gives
// the file the last of them would write, with the L and H sections scaled once, by the product of
// the 1/delta's, instead of once per contribution.
async function applyContribution(env, inPath, outPath, contributions, temps) {
    const { M, curve, log } = env;
    const { zkey, mpcParams, sections } = await readKeyParams(M, curve, inPath);
    const results = [];
    let scale = 1n;
    for (const contribution of contributions) {
        const { invDelta, result } = await addContribution(M, curve, zkey, mpcParams, contribution);
        scale = (scale * invDelta) % B.R;
        results.push(result);
    }
    const sec2 = keyHeader(curve, zkey);
    const fdIn = fs.openSync(inPath, "r");
    const raw = (s) => readAt(fdIn, sections[s][0].p, sections[s][0].size);
    let parts;
    try {
        const t0 = Date.now();
        const L = raw(8);
        const H = raw(9);
        if (L.length % 64 || H.length % 64) throw new InputError("zkey L / H sections are not whole G1 points");
        const both = Buffer.concat([L, H]);
        const scaled = await scaleSection(env, both, scale, `key${Date.now()}`);
        scale = 0n;
        log(`L and H sections scaled (${both.length / 64} points, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
        const sec10 = await SJ.memBytes(M.fastFile, (f) => M.zkeyUtils.writeMPCParams(f, curve, mpcParams));
        parts = [binHeader("zkey", 1, 10), sectionHeader(1, 4), u32(1), sectionHeader(2, sec2.length), sec2];
        for (const s of [3, 4, 5, 6, 7]) {
            const d = raw(s);
            parts.push(sectionHeader(s, d.length), d);
        }
        parts.push(sectionHeader(8, L.length), scaled.subarray(0, L.length));
        parts.push(sectionHeader(9, H.length), scaled.subarray(L.length));
        parts.push(Buffer.from(sec10));
    } finally {
        fs.closeSync(fdIn);
    }
    T.writeFileAtomically(outPath, parts, T.asTempFiles(temps));
    return {
        circuitHash: Buffer.from(mpcParams.csHash).toString("hex"),
        contributions: mpcParams.contributions.length,
        added: results,
    };
}

/* ------------------------------------------------------------------------------------------ */
/* CLI                                                                                        */
/* ------------------------------------------------------------------------------------------ */

const OPTIONS = {
    values: {
        "--threads": "threads",
        "--chunk": "chunk",
        "--name": "name",
        "--entropy": "entropy",
        "--beacon-hash": "beaconHash",
        "--beacon-exp": "beaconExp",
        "--beacon-name": "beaconName",
    },
    flags: { "--quiet": "quiet", "-q": "quiet", "--entropy-stdin": "entropyStdin" },
};
const N_ARGS = { new: 3, contribute: 2, beacon: 4, verify: 3 };
const OUTPUT_ARG = { new: 2, contribute: 1, beacon: 1 }; // the position of the output, if any

function checkBeacon(hash, exp) {
    if (!/^(0x)?([0-9a-fA-F]{2})+$/.test(hash) || hash.replace(/^0x/, "").length / 2 >= 256) {
        throw new UsageError("beacon hash must be 1..255 bytes of hexadecimal");
    }
    if (!/^[0-9]+$/.test(exp) || Number(exp) < 10 || Number(exp) > 63) {
        throw new UsageError("numIterationsExp must be an integer in 10..63");
    }
}

// The options that only some commands take, and the names.
function checkCommandOptions(cmd, pos, opts) {
    for (const [k, what] of [["name", "--name"], ["beaconName", "--beacon-name"]]) {
        if (opts[k] !== null && (opts[k].length > 64 || !/^[\x20-\x7e]*$/.test(opts[k]))) {
            throw new UsageError(`${what} must be at most 64 printable ASCII characters`);
        }
    }
    if (cmd !== "contribute" && (opts.beaconHash !== null || opts.beaconExp !== null || opts.beaconName !== null)) {
        throw new UsageError("--beacon-hash / --beacon-exp / --beacon-name only apply to contribute");
    }
    if (opts.beaconHash === null && (opts.beaconExp !== null || opts.beaconName !== null)) {
        throw new UsageError("--beacon-exp / --beacon-name need --beacon-hash");
    }
    if (opts.beaconHash !== null) {
        if (opts.beaconExp === null) opts.beaconExp = "10";
        checkBeacon(opts.beaconHash, opts.beaconExp);
    }
    if (cmd !== "contribute" && (opts.entropy !== null || opts.entropyStdin)) {
        throw new UsageError("--entropy / --entropy-stdin only apply to contribute");
    }
    if (opts.entropy !== null && opts.entropyStdin) throw new UsageError("give --entropy or --entropy-stdin, not both");
    if (cmd === "beacon") checkBeacon(pos[2], pos[3]);
}

function parseArgs(argv) {
    const defaults = {
        threads: null,
        chunk: null,
        quiet: false,
        name: null,
        entropy: null,
        entropyStdin: false,
        beaconHash: null,
        beaconExp: null,
        beaconName: null,
    };
    const { positional: pos, opts } = T.parseOptions(argv, OPTIONS, defaults);
    opts.threads = T.intOption(opts.threads, "--threads", 1, 64);
    opts.chunk = T.intOption(opts.chunk, "--chunk", 1, 1 << 16);
    opts.form = kernelForm();
    const cmd = pos.shift();
    if (!cmd || !(cmd in N_ARGS)) throw new UsageError(`unknown command ${JSON.stringify(cmd || "")}`);
    if (pos.length !== N_ARGS[cmd]) throw new UsageError(`${cmd} takes ${N_ARGS[cmd]} arguments, got ${pos.length}`);
    checkCommandOptions(cmd, pos, opts);
    if (cmd in OUTPUT_ARG) {
        const out = path.resolve(pos[OUTPUT_ARG[cmd]]);
        T.checkOutputPath(out);
        for (let i = 0; i < OUTPUT_ARG[cmd]; i++) {
            if (path.resolve(pos[i]) === out) throw new UsageError("the output must differ from the inputs");
        }
    }
    return { cmd, args: pos, opts };
}

function readStdin() {
    return new Promise((resolve, reject) => {
        const chunks = [];
        process.stdin.on("data", (c) => chunks.push(c));
        process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        process.stdin.on("error", reject);
    });
}

async function commandNew(env, args, temps) {
    const [r1cs, ptau, out] = args;
    const z = await buildInitialZkey(env, r1cs, ptau);
    await env.close();
    T.writeFileAtomically(path.resolve(out), z.parts, temps);
    return { command: "new", circuitHash: z.csHash.toString("hex"), constraints: z.nConstraints, power: z.power };
}

// A beacon contribution as applyContribution takes it.
function beaconContribution(M, hashStr, expStr, name) {
    const beaconHash = M.misc.hex2ByteArray(hashStr);
    const numIterationsExp = parseInt(expStr);
    return { type: 1, name, beaconHash, numIterationsExp, rng: () => M.misc.rngFromBeaconParams(beaconHash, numIterationsExp) };
}

async function commandContribute(env, cmd, args, entropy, temps) {
    const { opts, M } = env;
    const [input, out] = args;
    const contributions = [];
    if (cmd === "contribute") {
        // snarkjs: getRandomRng(entropy) = ChaCha(blake2b(64 CSPRNG bytes || entropy))
        const ent = entropy || crypto.randomBytes(32).toString("hex");
        contributions.push({ type: 0, name: opts.name, rng: () => M.misc.getRandomRng(ent) });
        if (opts.beaconHash !== null) contributions.push(beaconContribution(M, opts.beaconHash, opts.beaconExp, opts.beaconName));
    } else {
        contributions.push(beaconContribution(M, args[2], args[3], opts.name));
    }
    const r = await applyContribution(env, path.resolve(input), path.resolve(out), contributions, temps);
    return { command: cmd, ...r };
}

/*
 * snarkjs's phase2verifyFromInit against the recomputed initial key. snarkjs reports why a key is
 * invalid through logger.error and console.log: those lines go to stderr even with --quiet, and
 * into the JSON result. Exit code 3 when the key is not valid.
 */
async function commandVerify(env, args, t0) {
    const { log } = env;
    const [r1cs, ptau, zkeyPath] = args;
    let z;
    try {
        z = await buildInitialZkey(env, r1cs, ptau);
    } catch (err) {
        if (!(err instanceof InputError)) throw err;
        // no initial key can be made from these r1cs and ptau (snarkjs's newZKey refuses
        // them too): no key is valid for them
        process.stderr.write(`zkey_fast verify: ${err.message}\n`);
        const res = { command: "verify", valid: false, circuitHash: null, problems: [err.message] };
        process.stdout.write(JSON.stringify(res) + "\n");
        return 3;
    }
    await env.close();
    const init = Buffer.concat(z.parts);
    z.parts.length = 0;
    log("initial key recomputed; checking the key against it (snarkjs phase2verifyFromInit)");
    const problems = [];
    const problem = (s) => {
        problems.push(String(s));
        process.stderr.write(`zkey_fast verify: ${s}\n`);
    };
    const logger = { info: (s) => log(s), debug: () => {}, warn: (s) => log(`warning: ${s}`), error: problem };
    const origLog = console.log;
    console.log = (...a) => problem(a.join(" "));
    let ok;
    try {
        const initBytes = new Uint8Array(init.buffer, init.byteOffset, init.length);
        ok = await env.M.verifyFromInit(initBytes, ptau, zkeyPath, logger);
    } catch (err) {
        // a key snarkjs cannot even read is not a valid key
        ok = false;
        problem(`the key could not be read: ${err && err.message ? err.message : err}`);
    } finally {
        console.log = origLog;
    }
    if (ok !== true && !problems.length) problem("snarkjs's checks failed");
    const res = { command: "verify", valid: ok === true, circuitHash: z.csHash.toString("hex"), problems };
    res.seconds = (Date.now() - t0) / 1000;
    process.stdout.write(JSON.stringify(res) + "\n");
    return ok === true ? 0 : 3;
}

// One command; its JSON result line on stdout. An InputError is exit 1 with its message alone.
async function main({ cmd, args, opts }, temps) {
    const t0 = Date.now();
    const log = T.makeLog(`zkey_fast ${cmd}`, opts.quiet);
    let entropy = opts.entropy;
    if (cmd === "contribute" && opts.entropyStdin) entropy = await readStdin();
    const env = await makeEnv(opts, log);
    try {
        let result;
        if (cmd === "new") result = await commandNew(env, args, temps);
        else if (cmd === "contribute" || cmd === "beacon") result = await commandContribute(env, cmd, args, entropy, temps);
        else return await commandVerify(env, args, t0);
        result.seconds = (Date.now() - t0) / 1000;
        process.stdout.write(JSON.stringify(result) + "\n");
        return 0;
    } catch (err) {
        if (err instanceof InputError) {
            process.stderr.write(`zkey_fast: error: ${err.message}\n`);
            return 1;
        }
        throw err;
    } finally {
        await env.close();
    }
}

if (require.main === module) T.runMain({ tool: "zkey_fast", usage: USAGE, parse: parseArgs, run: main });

module.exports = { buildInitialZkey, applyContribution, makeEnv, parseArgs, parseConstraints, readR1csInfo };
