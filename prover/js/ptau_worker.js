"use strict";
/*
 * ptau_worker.js: one worker thread of ptau_fast.js, with its own instance of the wasm module
 * (bn128_batch.js's Engine: memory, allocator, batched affine additions).
 *
 * A job is a run of consecutive points of one section: their scalars (powers of tau, or Lagrange
 * basis values at tau, times alpha or beta for some sections) are computed in Fr here, then
 * multiplied by the generator with signed-window tables, all points of the job advanced window by
 * window in lockstep so that each window's additions share one batched inversion. The tables
 * (row k holds d*2^(w*k)*G for d = 1..2^(w-1)) are built in parts, each worker building some rows
 * and receiving the others.
 *
 * The secrets (tau, alpha, beta) reach the worker only after its tables are requested, live in
 * its wasm memory, and are wiped, with everything derived from them, on "wipe".
 *
 * Requests (tool_common.js's protocol): init, buildTable -> { buf }, secrets, setTablePart,
 * job -> { lem, c?, u? }, wipe -> { prof }.
 */

const { isMainThread } = require("worker_threads");
const B = require("./bn128_batch.js");
const { serveRequests, answer } = require("./tool_common.js");

const N8R = 32;
const POINT_BYTES = { 1: 64, 2: 128 };

// Signed-digit windows: W windows of w bits cover the scalar if w*W >= SCALAR_BITS + 1, which
// guarantees that the last window never carries. Digits are in [-(2^(w-1)-1), 2^(w-1)].
function windowsFor(w) {
    return B.windowsFor(B.SCALAR_BITS, w);
}

// The layout of group g's table for w-bit windows.
function tableShape(g, w) {
    const W = windowsFor(w);
    const half = 2 ** (w - 1);
    return { w, W, half, bytes: W * half * POINT_BYTES[g] };
}

/* ---------------- Fr helpers (Montgomery form, wasmcurves' frm_*) ---------------- */

// out = base^e for a non-negative integer e < 2^31
function frPow(ex, base, e, out) {
    ex.frm_one(out);
    if (e === 0) return;
    let bit = 31 - Math.clz32(e);
    ex.frm_copy(base, out);
    for (bit -= 1; bit >= 0; bit--) {
        ex.frm_square(out, out);
        if ((e >>> bit) & 1) ex.frm_mul(out, base, out);
    }
}

// out = 2^p
function frPow2(ex, p, out) {
    ex.frm_one(out);
    for (let i = 0; i < p; i++) ex.frm_add(out, out, out);
}

class PtauWorker {
    // msg: { module, pG1gen, pG2gen, chunk, windows: {1: w, 2: w}, roots: ArrayBuffer of Fr.w[p] }
    static async create(msg) {
        const chunk = msg.chunk;
        const consts = { pG1gen: msg.pG1gen, pG2gen: msg.pG2gen };
        const eng = await B.Engine.create(msg.module, consts, { batchCap: Math.max(chunk, 4096) });
        return new PtauWorker(eng, msg);
    }

    constructor(eng, msg) {
        this.eng = eng;
        this.ex = eng.ex;
        this.chunk = msg.chunk;
        this.prof = process.env.PTAU_FAST_PROFILE ? {} : null;
        this.tables = { 1: tableShape(1, msg.windows[1]), 2: tableShape(2, msg.windows[2]) };
        const tableBytes = this.tables[1].bytes + this.tables[2].bytes;
        // grown once, up front, rather than step by step by the allocations below
        eng.ensureMemory(eng.freePtr + tableBytes + this.chunk * 1200 + eng.scratchReserve + (8 << 20));
        for (const g of [1, 2]) this.tables[g].ptr = eng.alloc(this.tables[g].bytes);
        this.allocFieldState(msg.roots);
        this.allocJobState();
    }

    // Fr state: the secrets live only here and in the main thread, and are wiped at the end.
    allocFieldState(roots) {
        const eng = this.eng;
        this.secret = eng.alloc(3 * N8R);
        this.tau = this.secret;
        this.alpha = this.secret + N8R;
        this.beta = this.secret + 2 * N8R;
        this.lagCache = new Map();
        this.roots = eng.alloc(roots.byteLength);
        eng.u8.set(new Uint8Array(roots), this.roots);
        this.fr0 = eng.alloc(N8R);
        this.fr1 = eng.alloc(N8R);
    }

    allocJobState() {
        const eng = this.eng;
        const chunk = this.chunk;
        this.sc = eng.alloc(chunk * N8R); // Montgomery scalars
        this.scStd = eng.alloc(chunk * N8R); // the same, standard form (recoded into digits)
        this.sden = eng.alloc(chunk * N8R);
        this.sinv = eng.alloc(chunk * N8R);
        this.swp = eng.alloc(chunk * N8R);
        this.acc = eng.alloc(chunk * 128);
        this.outC = eng.alloc(chunk * 64);
        this.outU = eng.alloc(chunk * 128);
        this.dig = new Int32Array(Math.max(this.tables[1].W, this.tables[2].W) * chunk);
        this.has = new Uint8Array(chunk);
        this.idx = new Int32Array(eng.batchCap);
    }

    // tau, alpha, beta in Montgomery form, as ffjavascript holds them; the message copy is wiped.
    setSecrets(buf) {
        const b = new Uint8Array(buf);
        this.eng.u8.set(b, this.secret);
        b.fill(0);
    }

    setTablePart(g, k0, buf) {
        const T = this.tables[g];
        this.eng.u8.set(new Uint8Array(buf), T.ptr + k0 * T.half * POINT_BYTES[g]);
    }

    // Per-size constants of the Lagrange sections: c = (tau^n - 1)/n, e = tau^(n-1)/n.
    lagConstants(p) {
        if (this.lagCache.has(p)) return this.lagCache.get(p);
        const { ex, eng } = this;
        const n = 2 ** p;
        const c = eng.alloc(N8R);
        const e = eng.alloc(N8R);
        const invN = eng.alloc(N8R);
        frPow2(ex, p, invN);
        ex.frm_inverse(invN, invN);
        frPow(ex, this.tau, n, c);
        ex.frm_one(this.fr0);
        ex.frm_sub(c, this.fr0, c);
        ex.frm_mul(c, invN, c);
        frPow(ex, this.tau, n - 1, e);
        ex.frm_mul(e, invN, e);
        const v = { c, e };
        this.lagCache.set(p, v);
        return v;
    }

    multiplier(job) {
        return job.mult === 1 ? this.alpha : job.mult === 2 ? this.beta : 0;
    }

    // Scalars of a "pow" job: tau^(start + i) (times alpha or beta), at this.sc.
    powScalars(job) {
        const ex = this.ex;
        const mult = this.multiplier(job);
        const cur = this.fr1;
        frPow(ex, this.tau, job.start, cur);
        if (mult) ex.frm_mul(cur, mult, cur);
        for (let i = 0; i < job.n; i++) {
            ex.frm_copy(cur, this.sc + i * N8R);
            ex.frm_mul(cur, this.tau, cur);
        }
    }

    // Scalars of a "lag" job (j = start + i, w the 2^p-th root of unity):
    //   l_j = w^j * (c/(tau - w^j)),  or for the special block  l_j = w^j * (c/(tau - w^j) - e)
    lagrangeScalars(job) {
        const ex = this.ex;
        const { n } = job;
        const mult = this.multiplier(job);
        const w = this.roots + job.p * N8R;
        const wj = this.fr1;
        const { sden: den, sinv: inv, swp: wp } = this;
        frPow(ex, w, job.start, wj);
        for (let i = 0; i < n; i++) {
            ex.frm_copy(wj, wp + i * N8R);
            ex.frm_sub(this.tau, wj, den + i * N8R);
            ex.frm_mul(wj, w, wj);
        }
        ex.frm_batchInverse(den, N8R, n, inv, N8R);
        const { c, e } = this.lagConstants(job.p);
        for (let i = 0; i < n; i++) {
            const o = this.sc + i * N8R;
            if (ex.frm_isZero(den + i * N8R)) throw new Error("tau is a root of unity");
            ex.frm_mul(c, inv + i * N8R, o);
            if (job.special) ex.frm_sub(o, e, o);
            ex.frm_mul(o, wp + i * N8R, o);
            if (mult) ex.frm_mul(o, mult, o);
        }
    }

    // Signed-digit recoding of the n standard-form scalars at this.scStd into this.dig
    // (window-major: digit k of scalar j at k*n + j).
    recode(n, w) {
        const W = windowsFor(w);
        const dig = this.dig;
        const u32 = this.eng.u32;
        const mask = 2 ** w - 1;
        const half = 2 ** (w - 1);
        const full = 2 ** w;
        const base32 = this.scStd >>> 2;
        for (let j = 0; j < n; j++) {
            const b = base32 + j * 8;
            let carry = 0;
            for (let k = 0; k < W; k++) {
                const bit = k * w;
                const wi = bit >>> 5;
                const sh = bit & 31;
                let v = 0;
                if (wi < 8) {
                    v = u32[b + wi] >>> sh;
                    if (sh + w > 32 && wi + 1 < 8) v = (v | (u32[b + wi + 1] << (32 - sh))) >>> 0;
                    v = v & mask;
                }
                v += carry;
                if (v > half) {
                    v -= full;
                    carry = 1;
                } else {
                    carry = 0;
                }
                dig[k * n + j] = v;
            }
            if (carry) throw new Error("scalar recoding overflow");
        }
    }

    // The job's n scalars times the generator of group G; result (affine LEM) at this.acc.
    fixedBaseMul(G, n) {
        const eng = this.eng;
        const { w, W, half, ptr: tab } = this.tables[G.g];
        const { sz, n8, copyF, negF } = G;
        const { dig, has, idx, acc } = this;
        const { pA: A, pB: Bp, pF: F, inf } = eng;
        this.recode(n, w);
        has.fill(0, 0, n);
        for (let k = 0; k < W; k++) {
            let m = 0;
            const rowBase = tab + k * half * sz;
            const dk = k * n;
            for (let j = 0; j < n; j++) {
                const d = dig[dk + j];
                if (d === 0) continue;
                const a = acc + j * sz;
                const t = rowBase + ((d < 0 ? -d : d) - 1) * sz;
                if (!has[j]) {
                    copyF(t, a);
                    if (d < 0) negF(t + n8, a + n8);
                    else copyF(t + n8, a + n8);
                    has[j] = 1;
                    continue;
                }
                A[m] = a;
                Bp[m] = t;
                F[m] = d < 0 ? 1 : 0;
                idx[m] = j;
                m++;
            }
            if (m > 0) {
                eng.batchAdd(G, m, true);
                for (let i = 0; i < m; i++) if (inf[i]) has[idx[i]] = 0;
            }
        }
        for (let j = 0; j < n; j++) if (!has[j]) G.zeroAffine(acc + j * sz);
    }

    tableEntry(g, k, d) {
        const T = this.tables[g];
        return T.ptr + (k * T.half + d - 1) * POINT_BYTES[g];
    }

    // Windows [k0, k1) of group g's table, as the bytes to hand to the other workers.
    buildTable(g, k0, k1) {
        const G = this.eng.groups[g];
        this.tablePowersOfTwo(G, k0, k1);
        this.tableLevels(G, k0, k1);
        const start = this.tableEntry(g, k0, 1);
        const end = this.tableEntry(g, k1 - 1, this.tables[g].half) + G.sz;
        return this.eng.u8.slice(start, end).buffer;
    }

    // Row k, entry 2^j = 2^(w*k + j) * G, by doublings of the generator.
    tablePowersOfTwo(G, k0, k1) {
        const { w, half } = this.tables[G.g];
        const jac = this.eng.tmpJ;
        G.copyJ(G.gen, jac);
        for (let i = 0; i < w * k0; i++) G.double(jac, jac);
        for (let k = k0; k < k1; k++) {
            for (let j = 0; j < w; j++) {
                const d = 2 ** j;
                if (d <= half) G.toAffine(jac, this.tableEntry(G.g, k, d));
                G.double(jac, jac);
            }
        }
    }

    // Level j: entry 2^j + d' = entry d' + entry 2^j, d' = 1..2^j - 1 (all rows at once).
    tableLevels(G, k0, k1) {
        const eng = this.eng;
        const { half } = this.tables[G.g];
        const cap = eng.batchCap;
        const flush = (m) => {
            eng.pF.fill(0, 0, m);
            eng.batchAdd(G, m, false);
            for (let i = 0; i < m; i++) {
                if (eng.inf[i]) throw new Error("unexpected infinity while building tables");
            }
        };
        for (let j = 1; 2 ** j < half; j++) {
            const p2 = 2 ** j;
            let m = 0;
            for (let k = k0; k < k1; k++) {
                const b = this.tableEntry(G.g, k, p2);
                for (let dd = 1; dd < p2; dd++) {
                    eng.pA[m] = this.tableEntry(G.g, k, dd);
                    eng.pB[m] = b;
                    eng.pO[m] = this.tableEntry(G.g, k, p2 + dd);
                    m++;
                    if (m === cap) {
                        flush(m);
                        m = 0;
                    }
                }
            }
            if (m > 0) flush(m);
        }
    }

    // The job's points: affine LEM (the file's form) and, for the hashed sections, compressed
    // and uncompressed (what the response and next-challenge hashes are taken over).
    runJob(job) {
        const { ex, eng } = this;
        const G = eng.groups[job.g];
        const n = job.n;
        const tA = this.prof ? B.threadCpuMs() : 0;
        if (job.kind === "pow") this.powScalars(job);
        else this.lagrangeScalars(job);
        ex.frm_batchFromMontgomery(this.sc, n, this.scStd);
        const tB = this.prof ? B.threadCpuMs() : 0;
        this.fixedBaseMul(G, n);
        const tC = this.prof ? B.threadCpuMs() : 0;
        const res = { lem: eng.u8.slice(this.acc, this.acc + n * G.sz).buffer };
        const transfer = [res.lem];
        if (job.hash) {
            G.batchLEMtoC(this.acc, n, this.outC);
            res.c = eng.u8.slice(this.outC, this.outC + n * G.n8).buffer;
            G.batchLEMtoU(this.acc, n, this.outU);
            res.u = eng.u8.slice(this.outU, this.outU + n * G.sz).buffer;
            transfer.push(res.c, res.u);
        }
        if (this.prof) {
            const k = `G${job.g}-${job.kind}`;
            const e = this.prof[k] || (this.prof[k] = { n: 0, scal: 0, mul: 0, rest: 0 });
            e.n += n;
            e.scal += tB - tA;
            e.mul += tC - tB;
            e.rest += B.threadCpuMs() - tC;
        }
        return answer(res, transfer);
    }

    wipe() {
        const u8 = this.eng.u8;
        u8.fill(0, this.secret, this.secret + 3 * N8R);
        for (const v of this.lagCache.values()) {
            u8.fill(0, v.c, v.c + N8R);
            u8.fill(0, v.e, v.e + N8R);
        }
        for (const p of [this.sc, this.scStd, this.sden, this.sinv]) u8.fill(0, p, p + this.chunk * N8R);
        for (const p of [this.fr0, this.fr1]) u8.fill(0, p, p + N8R);
        this.dig.fill(0); // digits of secret-derived scalars
    }
}

function serve() {
    let w = null;
    serveRequests({
        init: async (msg) => {
            w = await PtauWorker.create(msg);
        },
        buildTable: (msg) => {
            const buf = w.buildTable(msg.g, msg.k0, msg.k1);
            return answer({ buf }, [buf]);
        },
        secrets: (msg) => w.setSecrets(msg.buf),
        setTablePart: (msg) => w.setTablePart(msg.g, msg.k0, msg.buf),
        job: (msg) => w.runJob(msg),
        wipe: () => {
            if (w) w.wipe();
            return { prof: w ? w.prof : null };
        },
    });
}

if (!isMainThread) serve();

module.exports = { PtauWorker, windowsFor, tableShape, frPow, frPow2 };
