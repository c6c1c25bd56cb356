#!/usr/bin/env node
/*
 * groth16_fast.js: a Groth16 prover for BN254 keys made by snarkjs (its zkey format), giving
 * proofs in snarkjs's format (proof.json / public.json) that `snarkjs groth16 verify` accepts.
 *
 * The algorithm is snarkjs's src/groth16_prove.js; what differs is the engine:
 *
 *   - loadKey() reads the zkey a section at a time and hands every worker thread the point
 *     sections, which it converts once to bn128_m29.js's field ("M29") and keeps in its wasm
 *     memory; the points at infinity (unused wires) are dropped there. Worker 0 also keeps the
 *     coefficient section and, once, the FFT tables. A warm-up runs the hot paths once.
 *   - A.w, B.w, C = A.B (qap_buildABC, as snarkjs), then per polynomial an inverse FFT, the
 *     coset shift and an FFT (this file's kernels: one product per butterfly from twiddle
 *     tables, no bit reversal: DIF with w^-1, the shift and 1/n in one product, DIT), and the
 *     join (qap_joinABC): H's scalars, in worker 0.
 *   - The five MSMs (A, B1, C, H in G1; B2 in G2) are Pippenger with signed c-bit digits and
 *     batch-affine bucket accumulation (Msm below): per window the (point, digit) pairs are
 *     counting-sorted by |digit| (a negative digit negates the point), every bucket is summed by
 *     a pairwise tree whose every level, over all buckets of all windows of a job, is batched
 *     affine additions (one inversion per batch of TOUCH_BATCH), then the buckets are reduced by
 *     running sums, many segments of many windows in lockstep. Before each batched addition its
 *     points are touched in one tight loop (g16_touch*), which overlaps the cache misses: about
 *     25% off every MSM. Jobs are window ranges of one MSM, run by whichever worker is free.
 *   - The exceptional cases (P + P, P + (-P)) go through bn128_batch.js's Engine.lcAdd, which
 *     finishes them with wasmcurves' complete formulas; infinity is tracked by flags, never fed
 *     to the affine kernels.
 *   - r and s: 64 bytes of crypto.randomBytes reduced mod r (bias < 2^-250).
 *
 * State_sync at the default preset (105,822 constraints, 2^17), this project's 2-core machine:
 * about 3.7-4.5 s a warm proof (the machine's speed varies by +-20% over minutes), against
 * about 12 s for snarkjs in-process; peak RSS ~455-495 MB. Where the time goes (CPU, summed
 * over both workers, ~7.2 s at best): B2 (G2) 1.8 s, H 1.6 s, C 1.15 s, A 1.07 s, B1 0.65 s,
 * the polynomial part 0.95 s (FFTs 0.83 s); the field products dominate (M29 mul ~65 ns).
 *
 * API: loadKey(zkeyPath, { threads }) -> key; prove(key, wtnsBuffer) -> { proof, publicSignals }
 * (one at a time per key; calls queue); closeKey(key). A worker's failure fails the key.
 * CLI: groth16_fast.js prove <zkey> <wtns> <proof.json> <public.json> [--threads N].
 */
"use strict";

const fs = require("fs");
const crypto = require("crypto");
const { isMainThread } = require("worker_threads");
const B = require("./bn128_batch.js");
const TC = require("./tool_common.js");

const N8 = 32;
const TOUCH_BATCH = 1024; // pairs per batched addition (the inversion shared by 1024: ~25 ns each)
const SCALAR_BITS = 254; // every scalar is < r < 2^254

/* ------------------------------------------------------------------------------------------ */
/* binary files (zkey, wtns): magic, version, sections                                        */
/* ------------------------------------------------------------------------------------------ */

function readSections(buf, magic, what) {
    if (buf.length < 12 || Buffer.from(buf.buffer, buf.byteOffset, 4).toString("latin1") !== magic) {
        throw new Error(`${what}: not a ${magic} file`);
    }
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const nSections = dv.getUint32(8, true);
    const sections = {};
    let p = 12;
    for (let i = 0; i < nSections; i++) {
        if (p + 12 > buf.length) throw new Error(`${what}: truncated section table`);
        const type = dv.getUint32(p, true);
        const size = Number(dv.getBigUint64(p + 4, true));
        if (p + 12 + size > buf.length) throw new Error(`${what}: section ${type} runs past the end of the file`);
        if (sections[type]) throw new Error(`${what}: section ${type} appears twice`);
        sections[type] = buf.subarray(p + 12, p + 12 + size);
        p += 12 + size;
    }
    return { dv, sections };
}

function section(S, type, what, size) {
    const s = S.sections[type];
    if (!s) throw new Error(`${what}: section ${type} is missing`);
    if (size !== undefined && s.length !== size) throw new Error(`${what}: section ${type} has ${s.length} bytes, expected ${size}`);
    return s;
}

function u32(b, off) {
    return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
}

// A zkey's section table, read from its file descriptor: type -> { pos, size }.
function zkeySections(fd, what) {
    const head = Buffer.alloc(12);
    const fileSize = fs.fstatSync(fd).size;
    if (fs.readSync(fd, head, 0, 12, 0) !== 12 || head.toString("latin1", 0, 4) !== "zkey") throw new Error(`${what}: not a zkey file`);
    const nSections = head.readUInt32LE(8);
    const sections = {};
    let p = 12;
    for (let i = 0; i < nSections; i++) {
        if (fs.readSync(fd, head, 0, 12, p) !== 12) throw new Error(`${what}: truncated section table`);
        const type = head.readUInt32LE(0);
        const size = Number(head.readBigUInt64LE(4));
        if (p + 12 + size > fileSize) throw new Error(`${what}: section ${type} runs past the end of the file`);
        if (sections[type]) throw new Error(`${what}: section ${type} appears twice`);
        sections[type] = { pos: p + 12, size };
        p += 12 + size;
    }
    return sections;
}

// One section as a Buffer of its own (size checked when given).
function readZkeySection(fd, sections, type, what, size) {
    const s = sections[type];
    if (!s) throw new Error(`${what}: section ${type} is missing`);
    if (size !== undefined && s.size !== size) throw new Error(`${what}: section ${type} has ${s.size} bytes, expected ${size}`);
    const buf = Buffer.allocUnsafe(s.size);
    let done = 0;
    while (done < s.size) {
        const k = fs.readSync(fd, buf, done, s.size - done, s.pos + done);
        if (k <= 0) throw new Error(`${what}: short read`);
        done += k;
    }
    return buf;
}

// The zkey's groth16 header (sections 1 and 2), checked to be a BN254 key.
function parseZkeyHeader(fd, sections, what) {
    const h1 = readZkeySection(fd, sections, 1, what);
    if (h1.length < 4 || u32(h1, 0) !== 1) throw new Error(`${what}: not a groth16 key`);
    const h = readZkeySection(fd, sections, 2, what);
    if (h.length < 8) throw new Error(`${what}: short groth16 header`);
    const n8q = u32(h, 0);
    if (n8q !== N8 || B.leToBig(h, 4, n8q) !== B.Q) throw new Error(`${what}: not a BN254 (bn128) key`);
    const n8r = u32(h, 4 + n8q);
    if (n8r !== N8 || B.leToBig(h, 8 + n8q, n8r) !== B.R) throw new Error(`${what}: not a BN254 (bn128) key`);
    let o = 8 + n8q + n8r;
    if (h.length < o + 12 + 3 * 64 + 3 * 128) throw new Error(`${what}: short groth16 header`);
    const nVars = u32(h, o);
    const nPublic = u32(h, o + 4);
    const domainSize = u32(h, o + 8);
    o += 12;
    const pt = (len) => {
        const p = new Uint8Array(h.subarray(o, o + len));
        o += len;
        return p;
    };
    const vk = { alpha1: pt(64), beta1: pt(64), beta2: pt(128), gamma2: pt(128), delta1: pt(64), delta2: pt(128) };
    if (!(domainSize >= 2 && (domainSize & (domainSize - 1)) === 0)) throw new Error(`${what}: domain size ${domainSize} is not a power of 2`);
    if (nPublic + 1 > nVars) throw new Error(`${what}: ${nPublic} public signals but ${nVars} variables`);
    const sizes = { A: nVars * 64, B1: nVars * 64, B2: nVars * 128, C: (nVars - nPublic - 1) * 64, H: domainSize * 64 };
    return { nVars, nPublic, domainSize, vk, sizes };
}

// The witness: its prime and length checked against the key; values as 32-byte LE (normal form).
function parseWtns(buf, key) {
    const what = "witness";
    if (!(buf instanceof Uint8Array)) throw new Error("witness: expected a Buffer / Uint8Array of a .wtns file");
    const W = readSections(buf, "wtns", what);
    const h = section(W, 1, what);
    if (h.length < 4) throw new Error("witness: its header section is truncated");
    const n8 = u32(h, 0);
    if (n8 !== N8 || h.length < 8 + n8) throw new Error(`witness: field elements of ${n8} bytes, the key's have ${N8}`);
    if (B.leToBig(h, 4, n8) !== B.R) throw new Error("witness: its prime is not the key's scalar field (BN254 r): wrong curve");
    const nWitness = u32(h, 4 + n8);
    if (nWitness !== key.nVars) throw new Error(`witness: ${nWitness} values, but the key's circuit has ${key.nVars} variables`);
    const values = section(W, 2, what, nWitness * N8);
    // every value must be < r (the MSMs' recoding assumes it)
    for (let i = 0; i < nWitness; i++) {
        const top = u32(values, i * N8 + 28);
        if (top >= 0x30644e72 && B.leToBig(values, i * N8, N8) >= B.R) throw new Error(`witness: value ${i} is not reduced below r`);
    }
    return values;
}

/* ------------------------------------------------------------------------------------------ */
/* MSM: Pippenger, signed digits, batch-affine tree accumulation                              */
/* ------------------------------------------------------------------------------------------ */

function windowsFor(c) {
    return Math.ceil((SCALAR_BITS + 1) / c);
}

// A window size for an MSM of n points.
function windowBits(n) {
    if (n < 32) return 4;
    return Math.max(4, Math.min(16, Math.round(Math.log2(n)) - 2));
}

/*
 * The MSMs of one Engine: named base sets (points in M29 form in its memory, plus which are
 * not at infinity) and named scalar vectors (32-byte LE normal form). msm() sums the windows
 * w0..w1-1 of one (set, scalars) pair and returns the result as ffjavascript's affine LEM.
 */
class Msm {
    // eng: an Engine on g16WasmPlugin's module (on bn128_batch.js's alone, nothing is touched)
    constructor(eng) {
        this.eng = eng;
        this.touch = eng.ex.g16_touch1 ? { 1: eng.ex.g16_touch1, 2: eng.ex.g16_touch2 } : null;
        this.batch = 0; // pairs per batched addition (0: TOUCH_BATCH, or the Engine's cap)
        this.sets = new Map();
        this.scalars = new Map();
        this.digitCache = new Map();
    }

    // Points in ffjavascript's affine LEM form (64 / 128 bytes each, (0, 0) = infinity); only
    // the others are kept (idx: their positions), in M29 form.
    addBases(name, g, lem) {
        const eng = this.eng;
        const G = eng.groups[g];
        const L = G.lc;
        const n = lem.length / G.sz;
        if (!Number.isInteger(n)) throw new Error(`bases ${name}: ${lem.length} bytes is not a whole number of G${g} points`);
        const words = new Uint32Array(lem.buffer, lem.byteOffset, lem.byteLength >> 2);
        const w = G.sz >> 2;
        const keep = new Int32Array(n);
        let nLive = 0;
        for (let i = 0; i < n; i++) {
            for (let k = 0; k < w; k++) {
                if (words[i * w + k]) {
                    keep[nLive++] = i;
                    break;
                }
            }
        }
        const idx = keep.slice(0, nLive);
        const old = this.sets.get(name);
        const bytes = Math.max(1, nLive) * L.sz;
        const reuse = old && old.capBytes >= bytes;
        const ptr = reuse ? old.ptr : eng.alloc(bytes);
        const mk = eng.mark();
        const CH = 4096;
        const tmp = eng.alloc(CH * G.sz);
        for (let i = 0; i < nLive; i += CH) {
            const m = Math.min(CH, nLive - i);
            for (let j = 0; j < m; j++) eng.u8.set(lem.subarray(idx[i + j] * G.sz, (idx[i + j] + 1) * G.sz), tmp + j * G.sz);
            L.fromWc(tmp, ptr + i * L.sz, m);
        }
        eng.release(mk);
        this.sets.set(name, { g, n, ptr, idx, nLive, capBytes: reuse ? old.capBytes : bytes });
        for (const k of [...this.digitCache.keys()]) if (k.startsWith(name + ":")) this.digitCache.delete(k);
    }

    setScalars(name, bytes) {
        const copy = new Uint32Array(bytes.length >> 2);
        new Uint8Array(copy.buffer).set(bytes);
        this.scalars.set(name, copy);
        for (const k of [...this.digitCache.keys()]) if (k.split(":")[1] === name) this.digitCache.delete(k);
    }

    // Signed c-bit digits of the scalars offset + S.idx[i] of the live points i of set S
    // (nLive * nW), cached until either changes.
    digits(setName, S, name, offset, c) {
        const key = `${setName}:${name}:${offset}:${c}`;
        const hit = this.digitCache.get(key);
        if (hit) return hit;
        const w = this.scalars.get(name);
        if (!w) throw new Error(`no scalars named ${name}`);
        if ((offset + S.n) * 8 > w.length) throw new Error(`scalars ${name}: ${w.length / 8} values, ${offset + S.n} needed`);
        const nW = windowsFor(c);
        const full = 1 << c;
        const half = full >>> 1;
        const mask = full - 1;
        const { idx, nLive } = S;
        const d = c <= 15 ? new Int16Array(nLive * nW) : new Int32Array(nLive * nW);
        for (let i = 0; i < nLive; i++) {
            const b = (offset + idx[i]) * 8;
            let carry = 0;
            for (let j = 0; j < nW; j++) {
                const bit = c * j;
                const k = bit >>> 5;
                const s = bit & 31;
                let v = w[b + k] >>> s;
                if (s + c > 32 && k < 7) v |= w[b + k + 1] << (32 - s);
                v = (v & mask) + carry;
                if (v > half) {
                    v -= full;
                    carry = 1;
                } else {
                    carry = 0;
                }
                d[i * nW + j] = v;
            }
            if (carry) throw new Error(`scalars ${name}: value ${offset + idx[i]} is not below 2^${SCALAR_BITS}`);
        }
        this.digitCache.set(key, d);
        return d;
    }

    // sum over windows w0 <= j < w1 of 2^(c*j) * (window j's sum), scalars name[offset + i]
    msm(setName, scalName, offset, c, w0, w1) {
        return this.msmParts([{ set: setName, scal: scalName, offset }], c, w0, w1);
    }

    // The same for a sum of MSMs of one group ({ set, scal, offset } each) sharing the buckets.
    msmParts(parts, c, w0, w1) {
        const eng = this.eng;
        const nW = windowsFor(c);
        if (!(w0 >= 0 && w1 <= nW && w0 < w1)) throw new Error(`windows ${w0}..${w1} of ${nW}`);
        let g = 0;
        const ps = parts.map(({ set, scal, offset }) => {
            const S = this.sets.get(set);
            if (!S) throw new Error(`no bases named ${set}`);
            if (g && S.g !== g) throw new Error("an MSM's parts must be of one group");
            g = S.g;
            return { S, dig: this.digits(set, S, scal, offset, c) };
        });
        const G = eng.groups[g || 1];
        const mk = eng.mark();
        try {
            const wsums = this.windowSums(ps, G, nW, c, w0, w1);
            return this.horner(G, wsums, w1 - w0, c, w0);
        } finally {
            eng.release(mk);
        }
    }

    // One batched addition of the m pairs set in eng.pA/pB/pO/pF; returns eng.inf (1 = infinity).
    add(G, m) {
        if (!m) return this.eng.inf;
        if (this.touch) this.touch[G.g](this.eng.pAptr, this.eng.pBptr, m);
        if (!this.prof) {
            this.eng.lcAdd(G, m, false);
            return this.eng.inf;
        }
        const t = process.hrtime.bigint();
        this.eng.lcAdd(G, m, false);
        const P = this.prof;
        const k = this.phase || "other";
        P[k] = (P[k] || 0) + Number(process.hrtime.bigint() - t) / 1e6;
        P[k + "#"] = (P[k + "#"] || 0) + m;
        return this.eng.inf;
    }

    windowSums(parts, G, nW, c, w0, w1) {
        const eng = this.eng;
        const L = G.lc;
        const lsz = L.sz;
        const half = 1 << (c - 1);
        const nWJ = w1 - w0;
        const nB = nWJ * half;
        // counting sort of the (point, digit) pairs by bucket (window, |digit|), a window at a
        // time (its counts and its entries stay in the caches)
        const start = new Int32Array(nB + 1);
        for (let j = w0; j < w1; j++) {
            const cnt = start.subarray((j - w0) * half + 1, (j - w0 + 1) * half + 1);
            for (const { S, dig } of parts) {
                const n = S.nLive;
                for (let i = 0, o = j; i < n; i++, o += nW) {
                    const d = dig[o];
                    if (d) cnt[(d < 0 ? -d : d) - 1]++;
                }
            }
        }
        for (let b = 0; b < nB; b++) start[b + 1] += start[b];
        const E = start[nB];
        const ePtr = new Int32Array(E);
        const eSgn = new Uint8Array(E);
        const fill = start.slice(0, nB);
        for (let j = w0; j < w1; j++) {
            const f = fill.subarray((j - w0) * half, (j - w0 + 1) * half);
            for (const { S, dig } of parts) {
                const n = S.nLive;
                const { ptr } = S;
                for (let i = 0, o = j, p = ptr; i < n; i++, o += nW, p += lsz) {
                    const d = dig[o];
                    if (!d) continue;
                    const q = d < 0 ? f[-d - 1]++ : f[d - 1]++;
                    ePtr[q] = p;
                    eSgn[q] = d < 0 ? 1 : 0;
                }
            }
        }
        const len = new Int32Array(nB);
        for (let b = 0; b < nB; b++) len[b] = start[b + 1] - start[b];
        // pairwise tree: each level halves every bucket; outputs go to scratch (level 1) or in place
        const scratchLo = eng.alloc((Math.ceil(E / 2) + 1) * lsz);
        let next = scratchLo;
        const cap = eng.batchCap;
        let { pA, pB, pO, pF } = eng;
        const pos = new Int32Array(cap);
        this.phase = "tree1";
        // batches of TOUCH_BATCH, their points touched first (Msm.add): small enough for the L2
        const lim = Math.min(cap, this.batch || (this.touch ? TOUCH_BATCH : cap));
        for (;;) {
            let any = false;
            let m = 0;
            const flush = () => {
                const inf = this.add(G, m);
                for (let i = 0; i < m; i++) if (inf[i]) ePtr[pos[i]] = -1;
                m = 0;
            };
            for (let b = 0; b < nB; b++) {
                const c0 = len[b];
                if (c0 < 2) continue;
                any = true;
                const s0 = start[b];
                let out = s0;
                let pend = -1;
                for (let k = s0; k < s0 + c0; k++) {
                    if (ePtr[k] < 0) continue;
                    if (pend < 0) {
                        pend = k;
                        continue;
                    }
                    let dst = ePtr[pend];
                    if (dst < scratchLo) {
                        dst = next;
                        next += lsz;
                    }
                    pA[m] = ePtr[pend];
                    pB[m] = ePtr[k];
                    pO[m] = dst;
                    pF[m] = eSgn[pend] ^ eSgn[k];
                    ePtr[out] = dst;
                    eSgn[out] = eSgn[pend];
                    pos[m] = out;
                    out++;
                    m++;
                    pend = -1;
                    if (m === lim) flush();
                }
                if (pend >= 0) {
                    ePtr[out] = ePtr[pend];
                    eSgn[out] = eSgn[pend];
                    out++;
                }
                len[b] = out - s0;
            }
            if (m) flush();
            if (!any) break;
            this.phase = "treeN";
        }
        this.phase = "run";
        // running sums: K segments of sz buckets per window, all in lockstep
        const K = Math.max(1, Math.min(half, Math.ceil(768 / nWJ)));
        const sz = Math.ceil(half / K);
        const nS = nWJ * K;
        const Rp = eng.alloc(nS * lsz);
        const Tp = eng.alloc(nS * lsz);
        const rOn = new Uint8Array(nS);
        const tOn = new Uint8Array(nS);
        const who = new Int32Array(Math.max(nS, 1));
        ({ pA, pB, pO, pF } = eng);
        let m = 0;
        let on = rOn;
        const flush = () => {
            const inf = this.add(G, m);
            for (let i = 0; i < m; i++) if (inf[i]) on[who[i]] = 0;
            m = 0;
        };
        for (let t = 0; t < sz; t++) {
            on = rOn;
            for (let w = 0; w < nWJ; w++) {
                for (let k = 0; k < K; k++) {
                    const b = k * sz + (sz - 1 - t);
                    if (b >= half) continue;
                    const gb = w * half + b;
                    if (len[gb] < 1) continue;
                    const e = start[gb];
                    const p = ePtr[e];
                    if (p < 0) continue;
                    const s = w * K + k;
                    const rp = Rp + s * lsz;
                    if (!rOn[s]) {
                        eng.lcCopyPoint(G, p, rp, eSgn[e]);
                        rOn[s] = 1;
                        continue;
                    }
                    pA[m] = rp;
                    pB[m] = p;
                    pO[m] = rp;
                    pF[m] = eSgn[e];
                    who[m++] = s;
                    if (m === lim) flush();
                }
            }
            flush();
            on = tOn;
            for (let s = 0; s < nS; s++) {
                if (!rOn[s]) continue;
                const tp = Tp + s * lsz;
                const rp = Rp + s * lsz;
                if (!tOn[s]) {
                    eng.lcCopyPoint(G, rp, tp, 0);
                    tOn[s] = 1;
                    continue;
                }
                pA[m] = tp;
                pB[m] = rp;
                pO[m] = tp;
                pF[m] = 0;
                who[m++] = s;
                if (m === lim) flush();
            }
            flush();
        }
        // window sum = sum over segments k of T_k + (k*sz) * R_k, in wasmcurves' Jacobian form
        const ex = eng.ex;
        const f = G.g === 1 ? "g1m" : "g2m";
        const jsz = 3 * G.n8;
        const wsums = eng.alloc(nWJ * jsz);
        const aff = eng.alloc(G.sz);
        const jac = eng.alloc(jsz);
        const scal = eng.alloc(8);
        for (let w = 0; w < nWJ; w++) {
            const acc = wsums + w * jsz;
            ex[f + "_zero"](acc);
            for (let k = 0; k < K; k++) {
                const s = w * K + k;
                if (tOn[s]) {
                    L.toWc(Tp + s * lsz, aff, 1);
                    ex[f + "_addMixed"](acc, aff, acc);
                }
                if (rOn[s] && k > 0) {
                    L.toWc(Rp + s * lsz, aff, 1);
                    const dv = new DataView(eng.memory.buffer, scal, 8);
                    dv.setUint32(0, k * sz, true);
                    dv.setUint32(4, 0, true);
                    ex[f + "_timesScalarAffine"](aff, scal, 4, jac);
                    ex[f + "_add"](acc, jac, acc);
                }
            }
        }
        return wsums;
    }

    // sum_j 2^(c*(w0+j)) * wsums[j], as affine LEM (infinity: all zero)
    horner(G, wsums, nWJ, c, w0) {
        const eng = this.eng;
        const ex = eng.ex;
        const f = G.g === 1 ? "g1m" : "g2m";
        const jsz = 3 * G.n8;
        const acc = eng.alloc(jsz);
        const out = eng.alloc(G.sz);
        ex[f + "_zero"](acc);
        for (let w = nWJ - 1; w >= 0; w--) {
            if (w < nWJ - 1) for (let i = 0; i < c; i++) ex[f + "_double"](acc, acc);
            ex[f + "_add"](acc, wsums + w * jsz, acc);
        }
        for (let i = 0; i < c * w0; i++) ex[f + "_double"](acc, acc);
        ex[f + "_toAffine"](acc, out);
        return eng.u8.slice(out, out + G.sz);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* FFT kernels (added to the module next to bn128_batch.js's)                                 */
/* ------------------------------------------------------------------------------------------ */

/*
 * On wasmcurves' Fr (frm_*, Montgomery), radix 2, one product per butterfly (twiddles from a
 * table, tw[j] = w^j for j < n/2), none where the twiddle is 1, and no bit reversal:
 *   g16_dif(px, bits, pTw)   natural order in, bit-reversed out (Gentleman-Sande)
 *   g16_dit(px, bits, pTw)   bit-reversed in, natural order out (Cooley-Tukey)
 *   g16_mulTab(px, pTab, n)  x[i] *= tab[i]
 * An inverse FFT is g16_dif with the table of w^-j; the coset shift and the 1/n go into one
 * pointwise product (in bit-reversed order), and g16_dit brings the coset's values back in order.
 */
function addFftKernels(module) {
    const E = 32;
    const T = module.alloc(E);
    const build = (name, dif) => {
        const f = module.addFunction(name);
        for (const p of ["px", "bits", "pTw"]) f.addParam(p, "i32");
        for (const l of ["n", "s", "half", "strideB", "k", "i1", "i2", "pw", "end"]) f.addLocal(l, "i32");
        const c = f.getCodeBuilder();
        const L = (x) => c.getLocal(x);
        const K = (x) => c.i32_const(x);
        const first = dif
            ? [...c.call("frm_sub", L("i1"), L("i2"), K(T)), ...c.call("frm_add", L("i1"), L("i2"), L("i1")), ...c.call("frm_copy", K(T), L("i2"))]
            : [...c.call("frm_copy", L("i2"), K(T)), ...c.call("frm_sub", L("i1"), K(T), L("i2")), ...c.call("frm_add", L("i1"), K(T), L("i1"))];
        const body = dif
            ? [...c.call("frm_sub", L("i1"), L("i2"), K(T)), ...c.call("frm_add", L("i1"), L("i2"), L("i1")), ...c.call("frm_mul", K(T), L("pw"), L("i2"))]
            : [...c.call("frm_mul", L("i2"), L("pw"), K(T)), ...c.call("frm_sub", L("i1"), K(T), L("i2")), ...c.call("frm_add", L("i1"), K(T), L("i1"))];
        const stage = [
            ...c.setLocal("half", c.i32_shl(K(1), c.i32_sub(L("s"), K(1)))),
            ...c.setLocal("strideB", c.i32_shl(c.i32_shr_u(L("n"), L("s")), K(5))),
            ...c.setLocal("k", K(0)),
            ...c.block(
                c.loop(
                    c.br_if(1, c.i32_ge_u(L("k"), L("n"))),
                    ...c.setLocal("i1", c.i32_add(L("px"), c.i32_shl(L("k"), K(5)))),
                    ...c.setLocal("i2", c.i32_add(L("i1"), c.i32_shl(L("half"), K(5)))),
                    ...c.setLocal("end", L("i2")),
                    ...first,
                    ...c.setLocal("i1", c.i32_add(L("i1"), K(E))),
                    ...c.setLocal("i2", c.i32_add(L("i2"), K(E))),
                    ...c.setLocal("pw", c.i32_add(L("pTw"), L("strideB"))),
                    ...c.block(
                        c.loop(
                            c.br_if(1, c.i32_eq(L("i1"), L("end"))),
                            ...body,
                            ...c.setLocal("i1", c.i32_add(L("i1"), K(E))),
                            ...c.setLocal("i2", c.i32_add(L("i2"), K(E))),
                            ...c.setLocal("pw", c.i32_add(L("pw"), L("strideB"))),
                            c.br(0)
                        )
                    ),
                    ...c.setLocal("k", c.i32_add(L("k"), c.i32_shl(L("half"), K(1)))),
                    c.br(0)
                )
            ),
        ];
        f.addCode(
            ...c.setLocal("n", c.i32_shl(K(1), L("bits"))),
            ...c.setLocal("s", dif ? L("bits") : K(1)),
            ...c.block(
                c.loop(
                    c.br_if(1, dif ? c.i32_eqz(L("s")) : c.i32_gt_u(L("s"), L("bits"))),
                    ...stage,
                    ...c.setLocal("s", dif ? c.i32_sub(L("s"), K(1)) : c.i32_add(L("s"), K(1))),
                    c.br(0)
                )
            )
        );
        module.exportFunction(name);
    };
    build("g16_dif", true);
    build("g16_dit", false);
    const f = module.addFunction("g16_mulTab");
    for (const p of ["px", "pTab", "n"]) f.addParam(p, "i32");
    f.addLocal("end", "i32");
    const c = f.getCodeBuilder();
    const L = (x) => c.getLocal(x);
    f.addCode(
        ...c.setLocal("end", c.i32_add(L("px"), c.i32_shl(L("n"), c.i32_const(5)))),
        ...c.block(
            c.loop(
                c.br_if(1, c.i32_eq(L("px"), L("end"))),
                ...c.call("frm_mul", L("px"), L("pTab"), L("px")),
                ...c.setLocal("px", c.i32_add(L("px"), c.i32_const(E))),
                ...c.setLocal("pTab", c.i32_add(L("pTab"), c.i32_const(E))),
                c.br(0)
            )
        )
    );
    module.exportFunction("g16_mulTab");
}

// g16_touch1 / g16_touch2 (pA, pB, m): read a word of every cache line of the points A[i], B[i]
// (M29 form: 72 bytes in G1, 144 in G2) in one tight loop, so that the cache misses of a batch
// overlap (the kernels' own loops touch one point at a time): measured 930 -> 570 ns per G1
// addition on the first tree level, whose points are scattered over the whole base set
function addTouchKernels(module) {
    for (const [name, offs] of [["g16_touch1", [0, 68]], ["g16_touch2", [0, 64, 128, 140]]]) {
        const f = module.addFunction(name);
        for (const p of ["pA", "pB", "m"]) f.addParam(p, "i32");
        for (const l of ["i", "a", "b", "acc"]) f.addLocal(l, "i32");
        f.setReturnType("i32");
        const c = f.getCodeBuilder();
        const L = (x) => c.getLocal(x);
        const K = (x) => c.i32_const(x);
        let sum = null;
        for (const p of ["a", "b"]) {
            for (const o of offs) {
                const w = c.i32_load(L(p), o);
                sum = sum === null ? w : c.i32_add(sum, w);
            }
        }
        f.addCode(
            ...c.setLocal("i", K(0)),
            ...c.block(
                c.loop(
                    c.br_if(1, c.i32_eq(L("i"), L("m"))),
                    ...c.setLocal("a", c.i32_load(c.i32_add(L("pA"), c.i32_shl(L("i"), K(2))))),
                    ...c.setLocal("b", c.i32_load(c.i32_add(L("pB"), c.i32_shl(L("i"), K(2))))),
                    ...c.setLocal("acc", c.i32_add(L("acc"), sum)),
                    ...c.setLocal("i", c.i32_add(L("i"), K(1))),
                    c.br(0)
                )
            ),
            ...L("acc")
        );
        module.exportFunction(name);
    }
}

// The module of the prover: bn128_batch.js's kernels, the FFT ones and the touch ones.
function g16WasmPlugin(module) {
    B.batchWasmPlugin(module);
    addFftKernels(module);
    addTouchKernels(module);
}

// i reversed over `bits` bits
function bitReverse(i, bits) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >>> b) & 1) << (bits - 1 - b);
    return r >>> 0;
}

/*
 * The tables of one domain, in an Engine's memory: twiddles w^j and w^-j (j < n/2) and the
 * coset factors inc^i / n in bit-reversed order. consts: Montgomery bytes of w (a primitive
 * n-th root), 1/w, inc and 1/n.
 */
function fftTables(eng, n, consts) {
    const ex = eng.ex;
    const bits = Math.log2(n);
    const tw = eng.alloc((n / 2) * N8);
    const twInv = eng.alloc((n / 2) * N8);
    const coset = eng.alloc(n * N8);
    const one = eng.alloc(N8);
    const k = eng.alloc(4 * N8);
    eng.u8.set(consts.w, k);
    eng.u8.set(consts.wInv, k + N8);
    eng.u8.set(consts.inc, k + 2 * N8);
    eng.u8.set(consts.invN, k + 3 * N8);
    ex.frm_one(one);
    for (const [t, root] of [[tw, k], [twInv, k + N8]]) {
        ex.frm_copy(one, t);
        for (let j = 1; j < n / 2; j++) ex.frm_mul(t + (j - 1) * N8, root, t + j * N8);
    }
    // natural order first, then bit-reversed
    const mk = eng.mark();
    const nat = eng.alloc(n * N8);
    ex.frm_copy(k + 3 * N8, nat);
    for (let i = 1; i < n; i++) ex.frm_mul(nat + (i - 1) * N8, k + 2 * N8, nat + i * N8);
    const u8 = eng.u8;
    for (let p = 0; p < n; p++) {
        const src = nat + bitReverse(p, bits) * N8;
        u8.copyWithin(coset + p * N8, src, src + N8);
    }
    eng.release(mk);
    return { n, bits, tw, twInv, coset };
}

/* ------------------------------------------------------------------------------------------ */
/* the polynomial part: A.w, B.w, C = A.B, to the odd coset, H scalars (worker side)          */
/* ------------------------------------------------------------------------------------------ */

// H's scalars (normal form, domainSize x 32 bytes) from the witness (normal form), exactly as
// snarkjs's groth16_prove.js computes them, on the module's own Fr (Montgomery) functions.
function qapScalars(eng, coeffsPtr, nCoef, witness, nVars, tabs, prof) {
    const ex = eng.ex;
    const { n, bits } = tabs;
    const mk = eng.mark();
    let end = mk;
    try {
        const pW = eng.alloc(nVars * N8);
        const pA = eng.alloc(n * N8);
        const pB = eng.alloc(n * N8);
        const pC = eng.alloc(n * N8);
        end = pC + n * N8;
        eng.u8.set(witness.subarray(0, nVars * N8), pW);
        let t = Date.now();
        ex.qap_buildABC(coeffsPtr + 4, nCoef, pW, pA, pB, pC, 0, n, 0, nVars);
        if (prof) prof.abc = Date.now() - t;
        t = Date.now();
        for (const p of [pA, pB, pC]) {
            ex.g16_dif(p, bits, tabs.twInv);
            ex.g16_mulTab(p, tabs.coset, n);
            ex.g16_dit(p, bits, tabs.tw);
        }
        if (prof) prof.fft = Date.now() - t;
        ex.qap_joinABC(pA, pB, pC, n, pA);
        ex.frm_batchFromMontgomery(pA, n, pA);
        return eng.u8.slice(pA, pA + n * N8);
    } finally {
        eng.u8.fill(0, mk, end); // the witness and its polynomials do not stay in the module's memory
        eng.release(mk);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* worker side                                                                                */
/* ------------------------------------------------------------------------------------------ */

function serveWorker() {
    let eng = null;
    let msm = null;
    let coeffs = null;
    let tabs = null;
    TC.serveRequests({
        init: async (msg) => {
            eng = await B.Engine.create(msg.module, msg.consts, { batchCap: msg.batchCap || 16384 });
            msm = new Msm(eng);
        },
        bases: (msg) => {
            msm.addBases(msg.name, msg.g, msg.lem);
            const S = msm.sets.get(msg.name);
            return { n: S.n, nLive: S.nLive };
        },
        coeffs: (msg) => {
            const p = eng.alloc(msg.bytes.length);
            eng.u8.set(msg.bytes, p);
            coeffs = { ptr: p, nCoef: msg.nCoef };
        },
        scalars: (msg) => {
            msm.setScalars(msg.name, msg.bytes);
        },
        qap: (msg) => {
            if (!coeffs) throw new Error("qap: this worker holds no coefficients");
            const t0 = Date.now();
            const prof = {};
            const w = msm.scalars.get("w");
            if (!tabs || tabs.n !== msg.domainSize) tabs = fftTables(eng, msg.domainSize, msg.fft);
            const h = qapScalars(eng, coeffs.ptr, coeffs.nCoef, new Uint8Array(w.buffer), msg.nVars, tabs, prof);
            msm.setScalars("h", h);
            prof.ms = Date.now() - t0;
            return TC.answer({ h, prof }, [h.buffer]);
        },
        forget: () => {
            // a proof's scalars and digits (the witness among them) are not kept after it
            for (const [k, v] of msm.scalars) {
                v.fill(0);
                msm.scalars.delete(k);
            }
            for (const d of msm.digitCache.values()) d.fill(0);
            msm.digitCache.clear();
        },
        warm: (msg) => {
            // hot paths compiled by the first real proof otherwise (V8 tiers wasm and JS up
            // as they run): two windows of an MSM per group on random scalars, the qap
            const rnd = crypto.randomBytes(msg.nVars * N8);
            for (let i = 0; i < msg.nVars; i++) rnd[i * N8 + 31] &= 0x0f;
            msm.setScalars("warm", rnd);
            const w = windowsFor(15);
            msm.msmParts([{ set: "A", scal: "warm", offset: 0 }], 15, w - 2, w);
            msm.msmParts([{ set: "B2", scal: "warm", offset: 0 }], 14, 0, 1);
            if (coeffs && msg.fft) {
                if (!tabs || tabs.n !== msg.domainSize) tabs = fftTables(eng, msg.domainSize, msg.fft);
                qapScalars(eng, coeffs.ptr, coeffs.nCoef, rnd, msg.nVars, tabs, null);
            }
            msm.scalars.delete("warm");
            for (const k of [...msm.digitCache.keys()]) if (k.split(":")[1] === "warm") msm.digitCache.delete(k);
        },
        msm: (msg) => {
            const t0 = Date.now();
            const pt = msm.msmParts(msg.parts, msg.c, msg.w0, msg.w1);
            return TC.answer({ pt, ms: Date.now() - t0 }, [pt.buffer]);
        },
    });
}

/* ------------------------------------------------------------------------------------------ */
/* main side                                                                                  */
/* ------------------------------------------------------------------------------------------ */

// The base sets of the key, by group.
const BASES = [
    { set: "B2", g: 2 },
    { set: "A", g: 1 },
    { set: "C", g: 1 },
    { set: "B1", g: 1 },
    { set: "H", g: 1 },
];
const G2_COST = 2.8; // a G2 batched addition against a G1 one (measured)
const JOB_UNITS = 400000; // additions per job, about 0.25 s of one core

/*
 * The MSMs of a proof, as snarkjs's: A.w, B1.w, B2.w, C.w (scalars from nPublic + 1), H.h.
 * (Msm.msmParts could sum C.w + H.h + r B1.w in one bucket set, pi_c needing only that sum:
 * 9% fewer additions, but measured no faster here, its points no longer fitting the caches.)
 */
function plan(sets, nPublic) {
    const msm = (name, g, parts) => {
        const nLive = parts.reduce((a, p) => a + sets[p.set].nLive, 0);
        const c = windowBits(nLive);
        return { name, g, parts, nLive, c, nW: windowsFor(c) };
    };
    return {
        B2: msm("B2", 2, [{ set: "B2", scal: "w", offset: 0 }]),
        A: msm("A", 1, [{ set: "A", scal: "w", offset: 0 }]),
        C: msm("C", 1, [{ set: "C", scal: "w", offset: nPublic + 1 }]),
        B1: msm("B1", 1, [{ set: "B1", scal: "w", offset: 0 }]),
        H: msm("H", 1, [{ set: "H", scal: "h", offset: 0 }]),
    };
}

const SECTION_OF = { A: 5, B1: 6, B2: 7, C: 8, H: 9 };

// qap_buildABC writes where each entry points without bounds checks: a corrupt entry would write over
// the key's points in the module's memory and spoil every later proof, so each is checked once here.
function checkCoefficients(coeffs, nCoef, z, what) {
    const dv = new DataView(coeffs.buffer, coeffs.byteOffset, coeffs.byteLength);
    for (let k = 0, p = 4; k < nCoef; k++, p += 12 + N8) {
        const matrix = dv.getUint32(p, true);
        const constraint = dv.getUint32(p + 4, true);
        const signal = dv.getUint32(p + 8, true);
        if (matrix > 1 || constraint >= z.domainSize || signal >= z.nVars) {
            throw new Error(`${what}: coefficient ${k} (matrix ${matrix}, constraint ${constraint}, signal ${signal}) is out of range`);
        }
    }
}

async function loadKey(zkeyPath, opts = {}) {
    const threads = opts.threads || TC.defaultThreads();
    const fd = fs.openSync(zkeyPath, "r");
    let pool = null;
    try {
        const sections = zkeySections(fd, zkeyPath);
        const z = parseZkeyHeader(fd, sections, zkeyPath);
        const SI = require("./snarkjs_internals.js");
        const { ffjs } = await SI.loadInternals("ffjs");
        const { curve, wasmModule, consts } = await SI.buildCurve(ffjs, g16WasmPlugin);
        pool = new TC.WorkerPool(__filename, threads, { maxJobsPerWorker: 1 });
        await pool.callAll({ cmd: "init", module: wasmModule, consts });
        const sets = {};
        // one section at a time, so that the whole file is never in memory
        for (const M of BASES) {
            const lem = readZkeySection(fd, sections, SECTION_OF[M.set], zkeyPath, z.sizes[M.set]);
            const res = await Promise.all(pool.workers.map((_, i) => pool.call(i, { cmd: "bases", name: M.set, g: M.g, lem })));
            sets[M.set] = { ...M, n: res[0].n, nLive: res[0].nLive };
        }
        const coeffs = readZkeySection(fd, sections, 4, zkeyPath);
        const nCoef = coeffs.length >= 4 ? u32(coeffs, 0) : -1;
        if (coeffs.length !== 4 + nCoef * (12 + N8)) throw new Error(`${zkeyPath}: coefficient section of the wrong size`);
        checkCoefficients(coeffs, nCoef, z, zkeyPath);
        await pool.call(0, { cmd: "coeffs", bytes: coeffs, nCoef });
        const power = Math.log2(z.domainSize);
        const Fr = curve.Fr;
        const fft = {
            w: new Uint8Array(Fr.w[power]),
            wInv: new Uint8Array(Fr.inv(Fr.w[power])),
            inc: new Uint8Array(power === Fr.s ? Fr.shift : Fr.w[power + 1]),
            invN: new Uint8Array(Fr.inv(Fr.e(z.domainSize))),
        };
        if (opts.warm !== false) {
            await Promise.all(pool.workers.map((_, i) => pool.call(i, { cmd: "warm", nVars: z.nVars, domainSize: z.domainSize, fft: i === 0 ? fft : null })));
        }
        return {
            path: zkeyPath,
            pool,
            curve,
            threads,
            nVars: z.nVars,
            nPublic: z.nPublic,
            domainSize: z.domainSize,
            vk: z.vk,
            sets,
            msms: plan(sets, z.nPublic),
            fft,
        };
    } catch (err) {
        if (pool) await pool.close();
        throw err;
    } finally {
        fs.closeSync(fd);
    }
}

async function closeKey(key) {
    if (key && key.pool) await key.pool.close();
}

// Window ranges of one MSM, each about `units` additions.
function planJobs(M, units = JOB_UNITS) {
    const half = 1 << (M.c - 1);
    const perWindow = (M.nLive + half) * (M.g === 2 ? G2_COST : 1);
    const parts = Math.max(1, Math.min(M.nW, Math.round((perWindow * M.nW) / units)));
    const jobs = [];
    for (let p = 0; p < parts; p++) {
        const w0 = Math.floor((p * M.nW) / parts);
        const w1 = Math.floor(((p + 1) * M.nW) / parts);
        if (w1 > w0) jobs.push({ cmd: "msm", name: M.name, parts: M.parts, c: M.c, w0, w1 });
    }
    return jobs;
}

// uniform in [0, r) up to 2^-250: 512 random bits mod r
function randomFr() {
    return BigInt("0x" + crypto.randomBytes(64).toString("hex")) % B.R;
}

function stringify(x) {
    return Array.isArray(x) ? x.map(stringify) : x.toString();
}

// One proof at a time per key (the workers hold one witness): calls queue up.
function prove(key, wtns, prof) {
    const run = (key.queue || Promise.resolve()).then(() => proveOne(key, wtns, prof));
    key.queue = run.catch(() => {});
    return run;
}

class KeyUnusable extends Error {
    constructor(cause) {
        super(`the key is unusable since a worker thread failed: ${cause && cause.message ? cause.message : cause}`);
        this.code = "G16_KEY_DEAD";
    }
}

async function proveOne(key, wtns, prof) {
    const t0 = Date.now();
    const { pool, curve, msms, vk } = key;
    if (pool.failed) throw new KeyUnusable(pool.failed);
    const { G1, G2, Fr } = curve;
    const witness = new Uint8Array(parseWtns(wtns, key)); // a copy: the caller may reuse its buffer
    const publicSignals = [];
    for (let i = 1; i <= key.nPublic; i++) publicSignals.push(B.leToBig(witness, i * N8, N8).toString());
    const r = Fr.e(randomFr());
    const s = Fr.e(randomFr());
    pool.broadcast({ cmd: "scalars", name: "w", bytes: witness });
    const tRead = Date.now();
    const sums = {};
    const jobMs = {};
    const runJob = (job) =>
        pool.run(job).then((res) => {
            const G = msms[job.name].g === 1 ? G1 : G2;
            jobMs[job.name] = (jobMs[job.name] || 0) + res.ms;
            sums[job.name] = sums[job.name] ? G.add(sums[job.name], res.pt) : res.pt;
        });
    const qap = pool.call(0, { cmd: "qap", nVars: key.nVars, domainSize: key.domainSize, fft: key.fft });
    const work = [];
    for (const name of ["B2", "A", "C", "B1"]) for (const job of planJobs(msms[name])) work.push(runJob(job));
    let qapProf = null;
    const hDone = qap.then((res) => {
        qapProf = res.prof;
        for (let i = 1; i < pool.size; i++) pool.post(i, { cmd: "scalars", name: "h", bytes: res.h });
        // the last jobs: smaller, so that the two workers finish together
        return Promise.all(planJobs(msms.H, JOB_UNITS / 2).map(runJob));
    });
    try {
        await Promise.all([...work, hDone]);
    } catch (err) {
        throw pool.failed ? new KeyUnusable(pool.failed) : err;
    } finally {
        await Promise.allSettled([...work, hDone]); // nothing of this proof still runs when its scalars go
        if (!pool.failed) pool.broadcast({ cmd: "forget" });
    }
    const tMsm = Date.now();

    let piA = G1.add(sums.A, vk.alpha1);
    piA = G1.add(piA, G1.timesFr(vk.delta1, r));
    let piB = G2.add(sums.B2, vk.beta2);
    piB = G2.add(piB, G2.timesFr(vk.delta2, s));
    let pib1 = G1.add(sums.B1, vk.beta1);
    pib1 = G1.add(pib1, G1.timesFr(vk.delta1, s));
    let piC = G1.add(sums.C, sums.H);
    piC = G1.add(piC, G1.timesFr(piA, s));
    piC = G1.add(piC, G1.timesFr(pib1, r));
    piC = G1.add(piC, G1.timesFr(vk.delta1, Fr.neg(Fr.mul(r, s))));
    const proof = {
        pi_a: stringify(G1.toObject(G1.toAffine(piA))),
        pi_b: stringify(G2.toObject(G2.toAffine(piB))),
        pi_c: stringify(G1.toObject(G1.toAffine(piC))),
        protocol: "groth16",
        curve: "bn128",
    };
    if (prof) {
        Object.assign(prof, {
            readWitness: tRead - t0,
            msmAndQap: tMsm - tRead,
            combine: Date.now() - tMsm,
            total: Date.now() - t0,
            qap: qapProf,
            jobMs,
        });
    }
    return { proof, publicSignals };
}

/* ------------------------------------------------------------------------------------------ */
/* CLI                                                                                        */
/* ------------------------------------------------------------------------------------------ */

const USAGE = "usage: groth16_fast.js prove <circuit.zkey> <witness.wtns> <proof.json> <public.json> [--threads N]";

function cli() {
    TC.runMain({
        tool: "groth16_fast",
        usage: USAGE,
        parse: (argv) => {
            const { positional, opts } = TC.parseOptions(argv, { values: { "--threads": "threads" }, flags: {} }, { threads: null });
            if (positional[0] !== "prove") throw new TC.UsageError(positional.length ? `unknown command ${positional[0]}` : "no command");
            if (positional.length !== 5) throw new TC.UsageError("prove takes 4 arguments");
            const [, zkey, wtns, proofOut, publicOut] = positional;
            for (const f of [zkey, wtns]) if (!fs.existsSync(f) || !fs.statSync(f).isFile()) throw new TC.UsageError(`${f}: no such file`);
            TC.checkOutputPath(proofOut);
            TC.checkOutputPath(publicOut);
            return { zkey, wtns, proofOut, publicOut, threads: TC.intOption(opts.threads, "--threads", 1, 64) };
        },
        run: async (a, temps) => {
            let key = null;
            try {
                const wtns = fs.readFileSync(a.wtns);
                key = await loadKey(a.zkey, { threads: a.threads || undefined, warm: false }); // one proof: nothing to warm
                const { proof, publicSignals } = await prove(key, wtns);
                TC.writeFileAtomically(a.proofOut, [Buffer.from(JSON.stringify(proof, null, 1))], temps);
                TC.writeFileAtomically(a.publicOut, [Buffer.from(JSON.stringify(publicSignals, null, 1))], temps);
                return 0;
            } catch (err) {
                // bad input: one line
                process.stderr.write(`groth16_fast: error: ${err && err.message ? err.message : err}\n`);
                return 1;
            } finally {
                await closeKey(key);
            }
        },
    });
}

module.exports = { loadKey, prove, closeKey, KeyUnusable, Msm, qapScalars, fftTables, g16WasmPlugin, windowsFor, windowBits, parseWtns, randomFr };

if (!isMainThread) serveWorker();
else if (require.main === module) cli();
