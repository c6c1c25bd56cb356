#!/usr/bin/env node
/*
 * ptau_fast.js: a fast, local, single-party powers of tau for BN254 that writes a
 * phase-2-ready .ptau file (the exact format `snarkjs powersoftau prepare phase2` writes).
 *
 *   node prover/js/ptau_fast.js <power> <out.ptau> [--name NAME] [--unprepared PATH]
 *                               [--threads N] [--chunk N] [--window-g1 W] [--window-g2 W] [--quiet]
 *
 * FOR LOCAL DEVELOPMENT ONLY. One process draws the toxic waste (tau, alpha, beta) from a CSPRNG,
 * uses it, and forgets it; a single-party setup is only as trustworthy as that one process.
 *
 * Why it is fast: the process knows tau, alpha and beta, so every point of the file is a known
 * scalar times a generator, the Lagrange sections included (sections 12..15 hold, for each size
 * 2^p, L_j(tau)*G with L_j the Lagrange basis over the 2^p-th roots of unity, in the order
 * ffjavascript's ifft produces them):
 *
 *     L_j(tau) = w^j * (tau^n - 1) / (n * (tau - w^j)),       w = Fr.w[p], n = 2^p
 *
 * and, for the extra 2^(power+1) block of section 12 (whose input lacks its last power),
 *     L'_j = L_j(tau) - w^j * tau^(n-1) / n.
 * The scalars are computed in the field (batch inversions), then multiplied by the generators with
 * precomputed signed-window tables (one table lookup and one addition per window), all points of
 * a chunk advanced in lockstep so that each addition is an affine addition sharing one batched
 * inversion. Work is spread over worker threads, each with its own instance of the wasm module
 * that ffjavascript/snarkjs use (wasmcurves' bn128, built by ffjavascript's buildBn128 with one
 * small kernel added through its plugin hook: bn128_batch.js, shared with zkey_fast.js), so the
 * arithmetic and the encodings (Montgomery form, little endian, uncompressed affine) are
 * snarkjs's own. Files are written to a temporary
 * name in the output directory and renamed when complete.
 *
 * The single contribution record (section 7) is made with snarkjs's own code: createPTauKey from
 * src/keypair.js on the proper first challenge hash, the response hash over the compressed points
 * (kept as snarkjs's partial hash), the next challenge hash over the uncompressed points, and
 * writePTauHeader / writeContributions from src/powersoftau_utils.js. `snarkjs powersoftau verify`
 * therefore sees exactly what it would see after `contribute` + `prepare phase2`.
 *
 * Exit codes: 0 success, 1 failure, 2 bad arguments. Progress goes to stderr
 * (PTAU_FAST_PROFILE=1 adds per-worker CPU time by kind of point).
 */
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const crypto = require("crypto");
const { Worker, isMainThread, parentPort, workerData } = require("worker_threads");
const SJ = require("./snarkjs_internals.js");

const MIN_POWER = 1;
const MAX_POWER = 27; // see parseArgs: 28 would need snarkjs's coset extension for 2^29 points
const SNARKJS_MAX_POWER = 28;
const MAX_NAME = 64;
const DEFAULT_CHUNK = 8192;
const MAX_TABLE_BYTES = 128 * 1024 * 1024; // per group and per worker (larger gains nothing)
const SCALAR_BITS = 254; // r < 2^254
const N8R = 32;

const USAGE =
    "usage: node ptau_fast.js <power> <out.ptau> [--name NAME] [--unprepared PATH]\n" +
    "                         [--threads N] [--chunk N] [--window-g1 W] [--window-g2 W] [--quiet]\n" +
    `  power: integer ${MIN_POWER}..${MAX_POWER} (the file supports circuits up to 2^power constraints)\n` +
    "  --name NAME        contribution name (printable ASCII, at most 64 characters)\n" +
    "  --unprepared PATH  also write the same ceremony without sections 12..15 (what\n" +
    "                     `powersoftau prepare phase2` takes as input)\n" +
    "  --threads N        worker threads (default: available cores)\n" +
    "  --chunk N, --window-g1 W, --window-g2 W   tuning / testing knobs";

class UsageError extends Error {}

if (isMainThread) {
    main().then(
        (code) => process.exit(code),
        (err) => {
            process.stderr.write(`ptau_fast: error: ${err && err.stack ? err.stack : err}\n`);
            process.exit(1);
        }
    );
} else {
    workerMain();
}

/* ------------------------------------------------------------------------------------------ */
/* shared helpers                                                                             */
/* ------------------------------------------------------------------------------------------ */

// Signed-digit windows: W windows of w bits cover the scalar if w*W >= SCALAR_BITS + 1, which
// guarantees that the last window never carries. Digits are in [-(2^(w-1)-1), 2^(w-1)].
function windowsFor(w) {
    return Math.ceil((SCALAR_BITS + 1) / w);
}

function chooseWindow(nPoints, pointBytes, workers) {
    let best = 0;
    let bestCost = Infinity;
    for (let w = 3; w <= 20; w++) {
        const W = windowsFor(w);
        const half = 2 ** (w - 1);
        if (W * half * pointBytes > MAX_TABLE_BYTES) break;
        // additions per point (first window is a copy) + table entries (built once, split over
        // the workers, then copied to each of them: count the copy as a small extra)
        const cost = nPoints * (W - 1) + W * half * (1 + 0.05 * workers);
        if (cost < bestCost) {
            bestCost = cost;
            best = w;
        }
    }
    return best;
}

/* ------------------------------------------------------------------------------------------ */
/* wasm kernel, added to ffjavascript's bn128 module through its plugin hook                  */
/* ------------------------------------------------------------------------------------------ */

// <g>_ptauBatchAdd(pA, pB, pO, pF, m, pDen, pInv): for i < m, with a = A[i], b = B[i], o = O[i]
// (i32 pointers to affine Montgomery points) and s = -1 if (F[i] & 1) else +1, set o = a + s*b
// with the affine formulas, all m inversions batched into one. Where x_a == x_b nothing is
// written and F[i] |= 2 (the caller handles those). o may be a. The kernel (with the others
// zkey_fast.js uses) is built by bn128_batch.js, shared by both tools.
const { batchWasmPlugin: ptauWasmPlugin } = require("./bn128_batch.js");

/* ------------------------------------------------------------------------------------------ */
/* worker: wasm arithmetic                                                                    */
/* ------------------------------------------------------------------------------------------ */

function workerMain() {
    let ex;
    let memory;
    let u8;
    let u32;
    let freePtr;
    let scratchReserve = 0;
    const st = {}; // worker state

    function refreshViews() {
        u8 = new Uint8Array(memory.buffer);
        u32 = new Uint32Array(memory.buffer);
        if (st.pAptr) {
            // pointer / flag arrays the wasm kernel reads, as views on the wasm memory
            st.pA = new Int32Array(memory.buffer, st.pAptr, st.batchCap);
            st.pB = new Int32Array(memory.buffer, st.pBptr, st.batchCap);
            st.pO = new Int32Array(memory.buffer, st.pOptr, st.batchCap);
            st.pF = new Int32Array(memory.buffer, st.pFptr, st.batchCap);
        }
    }

    // Bump allocator on top of the module's own one (the word at address 0 is the module's free
    // pointer; batchInverse and friends take their scratch space from there, un-grown, so some
    // room must always stay free above it).
    function ensureMemory(bytes) {
        const need = Math.ceil(bytes / 65536);
        const have = memory.buffer.byteLength / 65536;
        if (need > have) {
            memory.grow(need - have);
            refreshViews();
        }
    }
    function alloc(n) {
        const p = (freePtr + 63) & ~63;
        freePtr = p + n;
        ensureMemory(freePtr + scratchReserve);
        u32[0] = freePtr;
        return p;
    }

    function group(g) {
        const f = g === 1 ? "f1m" : "f2m";
        const c = g === 1 ? "g1m" : "g2m";
        const n8 = g === 1 ? 32 : 64;
        return {
            g,
            n8,
            sz: 2 * n8,
            add: ex[f + "_add"],
            sub: ex[f + "_sub"],
            mul: ex[f + "_mul"],
            square: ex[f + "_square"],
            copy: ex[f + "_copy"],
            neg: ex[f + "_neg"],
            isZero: ex[f + "_isZero"],
            batchInverse: ex[f + "_batchInverse"],
            addAffine: ex[c + "_addAffine"],
            negAffine: ex[c + "_negAffine"],
            toAffine: ex[c + "_toAffine"],
            isZeroJ: ex[c + "_isZero"],
            double: ex[c + "_double"],
            copyJ: ex[c + "_copy"],
            zeroAffine: ex[c + "_zeroAffine"],
            batchLEMtoC: ex[c + "_batchLEMtoC"],
            batchLEMtoU: ex[c + "_batchLEMtoU"],
            kernel: ex[c + "_ptauBatchAdd"],
        };
    }

    // Lockstep affine additions O[i] = A[i] + s_i*B[i] for i < m (s_i = -1 if bit 0 of flag i is
    // set), pointers taken from st.pA / st.pB / st.pO (or st.pA when inPlace): one batched
    // inversion for all of them, in the wasm kernel <g>_ptauBatchAdd (see ptauWasmPlugin). Pairs
    // with equal x coordinates (doubling, or A == -B) come back with bit 1 of their flag set and
    // are done here with the complete projective formulas. st.pInf[i] = 1 marks a sum at infinity.
    function batchAdd(G, m, inPlace) {
        const pO = inPlace ? st.pAptr : st.pOptr;
        G.kernel(st.pAptr, st.pBptr, pO, st.pFptr, m, st.den, st.inv);
        const F = st.pF;
        const inf = st.pInf;
        inf.fill(0, 0, m);
        for (let i = 0; i < m; i++) {
            if (!(F[i] & 2)) continue;
            const a = st.pA[i];
            const o = inPlace ? a : st.pO[i];
            let b = st.pB[i];
            if (F[i] & 1) {
                G.negAffine(b, st.ptmpA);
                b = st.ptmpA;
            }
            G.addAffine(a, b, st.ptmpJ);
            if (G.isZeroJ(st.ptmpJ)) {
                G.zeroAffine(o);
                inf[i] = 1;
            } else {
                G.toAffine(st.ptmpJ, o);
            }
        }
    }

    // Run at start-up: the kernel against the projective formulas, the exceptional cases (P + P,
    // P - P) included, both in place and not. They cannot occur with random scalars, so no run
    // would otherwise exercise them.
    function selfTestBatchAdd() {
        for (const g of [1, 2]) {
            const G = group(g);
            const sz = G.sz;
            const pts = alloc(4 * sz);
            const out = alloc(4 * sz);
            const expect = alloc(4 * sz);
            const jac = alloc(3 * G.n8);
            const gen = g === 1 ? st.pG1gen : st.pG2gen;
            const scal = alloc(N8R);
            const timesScalar = ex[(g === 1 ? "g1m" : "g2m") + "_timesScalar"];
            const P = pts;
            const Q = pts + sz;
            u8.fill(0, scal, scal + N8R);
            u8[scal] = 5;
            timesScalar(gen, scal, N8R, jac);
            G.toAffine(jac, P);
            u8[scal] = 7;
            timesScalar(gen, scal, N8R, jac);
            G.toAffine(jac, Q);
            // cases: P + P, P - P, P - Q, Q + P  ->  10G, infinity, -2G, 12G
            const cases = [[P, P, 0, 10], [P, P, 1, 0], [P, Q, 1, -2], [Q, P, 0, 12]];
            for (const [i, [, , , k]] of cases.entries()) {
                u8.fill(0, scal, scal + N8R);
                if (k === 0) {
                    G.zeroAffine(expect + i * sz);
                    continue;
                }
                u8[scal] = Math.abs(k);
                timesScalar(gen, scal, N8R, jac);
                G.toAffine(jac, expect + i * sz);
                if (k < 0) G.negAffine(expect + i * sz, expect + i * sz);
            }
            for (const inPlace of [false, true]) {
                cases.forEach(([a, b, neg], i) => {
                    const dst = out + i * sz;
                    u8.copyWithin(dst, a, a + sz);
                    st.pA[i] = inPlace ? dst : a;
                    st.pB[i] = b;
                    st.pO[i] = dst;
                    st.pF[i] = neg;
                });
                batchAdd(G, cases.length, inPlace);
                for (let i = 0; i < cases.length; i++) {
                    const got = u8.subarray(out + i * sz, out + (i + 1) * sz);
                    const want = u8.subarray(expect + i * sz, expect + (i + 1) * sz);
                    if (!got.every((v, j) => v === want[j]) || st.pInf[i] !== (cases[i][3] === 0 ? 1 : 0)) {
                        throw new Error(`self-test of the G${g} batched addition failed (case ${i})`);
                    }
                }
            }
        }
    }

    /* ---------------- field helpers (Fr, Montgomery form) ---------------- */

    function frPow(base, e, out) {
        // out = base^e for a non-negative integer e < 2^31
        ex.frm_one(out);
        if (e === 0) return;
        let bit = 31 - Math.clz32(e);
        ex.frm_copy(base, out);
        for (bit -= 1; bit >= 0; bit--) {
            ex.frm_square(out, out);
            if ((e >>> bit) & 1) ex.frm_mul(out, base, out);
        }
    }

    function frPow2(p, out) {
        ex.frm_one(out);
        for (let i = 0; i < p; i++) ex.frm_add(out, out, out);
    }

    // Per-size constants of the Lagrange sections: c = (tau^n - 1)/n, e = tau^(n-1)/n.
    function lagConstants(p) {
        if (st.lagCache.has(p)) return st.lagCache.get(p);
        const n = 2 ** p;
        const c = alloc(N8R);
        const e = alloc(N8R);
        const invN = alloc(N8R);
        frPow2(p, invN);
        ex.frm_inverse(invN, invN);
        frPow(st.tau, n, c);
        ex.frm_one(st.fr0);
        ex.frm_sub(c, st.fr0, c);
        ex.frm_mul(c, invN, c);
        frPow(st.tau, n - 1, e);
        ex.frm_mul(e, invN, e);
        const v = { c, e };
        st.lagCache.set(p, v);
        return v;
    }

    // Fill st.sc with the n Montgomery scalars of a job.
    function jobScalars(job) {
        const { n, start } = job;
        const sc = st.sc;
        const mult = job.mult === 1 ? st.alpha : job.mult === 2 ? st.beta : 0;
        if (job.kind === "pow") {
            const cur = st.fr1;
            frPow(st.tau, start, cur);
            if (mult) ex.frm_mul(cur, mult, cur);
            for (let i = 0; i < n; i++) {
                ex.frm_copy(cur, sc + i * N8R);
                ex.frm_mul(cur, st.tau, cur);
            }
            return;
        }
        // Lagrange: l_j = w^j * (c/(tau - w^j))            (j = start + i)
        //   special: l_j = w^j * (c/(tau - w^j) - e)
        const w = st.roots + job.p * N8R;
        const wj = st.fr1;
        const den = st.sden;
        const inv = st.sinv;
        const wp = st.swp;
        frPow(w, start, wj);
        for (let i = 0; i < n; i++) {
            ex.frm_copy(wj, wp + i * N8R);
            ex.frm_sub(st.tau, wj, den + i * N8R);
            ex.frm_mul(wj, w, wj);
        }
        ex.frm_batchInverse(den, N8R, n, inv, N8R);
        const { c, e } = lagConstants(job.p);
        for (let i = 0; i < n; i++) {
            const o = sc + i * N8R;
            if (ex.frm_isZero(den + i * N8R)) throw new Error("tau is a root of unity");
            ex.frm_mul(c, inv + i * N8R, o);
            if (job.special) ex.frm_sub(o, e, o);
            ex.frm_mul(o, wp + i * N8R, o);
            if (mult) ex.frm_mul(o, mult, o);
        }
    }

    // Signed-digit recoding of the n standard-form scalars at st.scStd into st.dig (window-major).
    function recode(n, w) {
        const W = windowsFor(w);
        const dig = st.dig;
        const mask = 2 ** w - 1;
        const half = 2 ** (w - 1);
        const full = 2 ** w;
        const base32 = st.scStd >>> 2;
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

    // Multiply the job's scalars by the generator of group g; result (affine LEM) at st.acc.
    function fixedBaseMul(G, n) {
        const T = st.table[G.g];
        const { w, W, half, ptr: tab } = T;
        const { sz, n8, copy, neg: fneg } = G;
        const dig = st.dig;
        const has = st.has;
        const A = st.pA;
        const B = st.pB;
        const F = st.pF;
        const inf = st.pInf;
        const idx = st.pIdx;
        const acc = st.acc;
        recode(n, w);
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
                    copy(t, a);
                    if (d < 0) fneg(t + n8, a + n8);
                    else copy(t + n8, a + n8);
                    has[j] = 1;
                    continue;
                }
                A[m] = a;
                B[m] = t;
                F[m] = d < 0 ? 1 : 0;
                idx[m] = j;
                m++;
            }
            if (m > 0) {
                batchAdd(G, m, true);
                for (let i = 0; i < m; i++) if (inf[i]) has[idx[i]] = 0;
            }
        }
        for (let j = 0; j < n; j++) if (!has[j]) G.zeroAffine(acc + j * sz);
    }

    // Build windows [k0, k1) of the table of group g: row k holds d*2^(w*k)*G for d = 1..half.
    function buildTable(g, k0, k1) {
        const G = group(g);
        const T = st.table[g];
        const { w, half } = T;
        const sz = G.sz;
        const rowPtr = (k, d) => T.ptr + (k * half + d - 1) * sz;
        // powers of two: row k, entry 2^j = 2^(w*k + j) * G
        const jac = st.ptmpJ;
        const gen = g === 1 ? st.pG1gen : st.pG2gen;
        G.copyJ(gen, jac);
        for (let i = 0; i < w * k0; i++) G.double(jac, jac);
        for (let k = k0; k < k1; k++) {
            for (let j = 0; j < w; j++) {
                const d = 2 ** j;
                if (d <= half) G.toAffine(jac, rowPtr(k, d));
                G.double(jac, jac);
            }
        }
        // level j: entry 2^j + d' = entry d' + entry 2^j, d' = 1..2^j - 1 (all rows at once)
        const cap = st.batchCap;
        const flush = (m) => {
            st.pF.fill(0, 0, m);
            batchAdd(G, m, false);
            for (let i = 0; i < m; i++) {
                if (st.pInf[i]) throw new Error("unexpected infinity while building tables");
            }
        };
        for (let j = 1; 2 ** j < half; j++) {
            const p2 = 2 ** j;
            let m = 0;
            for (let k = k0; k < k1; k++) {
                const b = rowPtr(k, p2);
                for (let dd = 1; dd < p2; dd++) {
                    st.pA[m] = rowPtr(k, dd);
                    st.pB[m] = b;
                    st.pO[m] = rowPtr(k, p2 + dd);
                    m++;
                    if (m === cap) {
                        flush(m);
                        m = 0;
                    }
                }
            }
            if (m > 0) flush(m);
        }
        const start = rowPtr(k0, 1);
        const end = rowPtr(k1 - 1, half) + sz;
        return u8.slice(start, end).buffer;
    }

    // CPU milliseconds of this thread (profiling only; the machine may be shared)
    function threadCpu() {
        const f = fs.readFileSync("/proc/thread-self/stat", "utf8");
        const parts = f.slice(f.lastIndexOf(")") + 2).split(" ");
        return (Number(parts[11]) + Number(parts[12])) * 10;
    }

    function runJob(job) {
        const G = group(job.g);
        const n = job.n;
        const tA = st.prof ? threadCpu() : 0;
        jobScalars(job);
        ex.frm_batchFromMontgomery(st.sc, n, st.scStd);
        const tB = st.prof ? threadCpu() : 0;
        fixedBaseMul(G, n);
        const tC = st.prof ? threadCpu() : 0;
        if (st.prof) {
            const k = `G${job.g}-${job.kind}`;
            const e = st.prof[k] || (st.prof[k] = { n: 0, scal: 0, mul: 0, rest: 0 });
            e.n += n;
            e.scal += tB - tA;
            e.mul += tC - tB;
        }
        const res = { cmd: "result", id: job.id };
        const transfer = [];
        res.lem = u8.slice(st.acc, st.acc + n * G.sz).buffer;
        transfer.push(res.lem);
        if (job.hash) {
            G.batchLEMtoC(st.acc, n, st.outC);
            res.c = u8.slice(st.outC, st.outC + n * G.n8).buffer;
            G.batchLEMtoU(st.acc, n, st.outU);
            res.u = u8.slice(st.outU, st.outU + n * G.sz).buffer;
            transfer.push(res.c, res.u);
        }
        if (st.prof) st.prof[`G${job.g}-${job.kind}`].rest += threadCpu() - tC;
        parentPort.postMessage(res, transfer);
    }

    async function init(msg) {
        const mod = msg.module;
        memory = new WebAssembly.Memory({ initial: 64, maximum: 32767 });
        const inst = await WebAssembly.instantiate(mod, { env: { memory } });
        ex = inst.exports;
        refreshViews();
        freePtr = u32[0];
        st.prof = process.env.PTAU_FAST_PROFILE ? {} : null;
        st.pG1gen = msg.pG1gen;
        st.pG2gen = msg.pG2gen;
        const chunk = msg.chunk;
        st.chunk = chunk;
        st.batchCap = Math.max(chunk, 4096);
        // everything the batched inversions may take above the free pointer
        scratchReserve = (st.batchCap + 2) * 64 + (1 << 20);
        st.table = {};
        let tableBytes = 0;
        for (const g of [1, 2]) {
            const w = msg.windows[g];
            const W = windowsFor(w);
            const half = 2 ** (w - 1);
            const sz = g === 1 ? 64 : 128;
            st.table[g] = { w, W, half, bytes: W * half * sz };
            tableBytes += W * half * sz;
        }
        ensureMemory(freePtr + tableBytes + st.batchCap * 1200 + scratchReserve + (8 << 20));
        for (const g of [1, 2]) st.table[g].ptr = alloc(st.table[g].bytes);
        // Fr state (the secrets live only here and in the main thread, and are wiped at the end)
        st.secret = alloc(3 * N8R);
        st.tau = st.secret;
        st.alpha = st.secret + N8R;
        st.beta = st.secret + 2 * N8R;
        st.lagCache = new Map();
        st.roots = alloc(msg.roots.byteLength);
        u8.set(new Uint8Array(msg.roots), st.roots);
        st.fr0 = alloc(N8R);
        st.fr1 = alloc(N8R);
        st.sc = alloc(chunk * N8R);
        st.scStd = alloc(chunk * N8R);
        st.sden = alloc(chunk * N8R);
        st.sinv = alloc(chunk * N8R);
        st.swp = alloc(chunk * N8R);
        st.acc = alloc(chunk * 128);
        st.outC = alloc(chunk * 64);
        st.outU = alloc(chunk * 128);
        st.den = alloc(st.batchCap * 64);
        st.inv = alloc(st.batchCap * 64);
        st.ptmpA = alloc(128);
        st.ptmpJ = alloc(192);
        const maxW = Math.max(st.table[1].W, st.table[2].W);
        st.dig = new Int32Array(maxW * chunk);
        st.has = new Uint8Array(chunk);
        st.pAptr = alloc(st.batchCap * 4);
        st.pBptr = alloc(st.batchCap * 4);
        st.pOptr = alloc(st.batchCap * 4);
        st.pFptr = alloc(st.batchCap * 4);
        refreshViews();
        st.pIdx = new Int32Array(st.batchCap);
        st.pInf = new Uint8Array(st.batchCap);
        selfTestBatchAdd();
    }

    function wipe() {
        if (u8 && st.secret) {
            u8.fill(0, st.secret, st.secret + 3 * N8R);
            for (const v of st.lagCache.values()) {
                u8.fill(0, v.c, v.c + N8R);
                u8.fill(0, v.e, v.e + N8R);
            }
            for (const p of [st.sc, st.scStd, st.sden, st.sinv, st.fr0, st.fr1]) {
                u8.fill(0, p, p + (p === st.fr0 || p === st.fr1 ? N8R : st.chunk * N8R));
            }
            st.dig.fill(0); // digits of secret-derived scalars
        }
    }

    let chain = Promise.resolve();
    parentPort.on("message", (msg) => {
        chain = chain.then(async () => {
            try {
                if (msg.cmd === "init") {
                    await init(msg);
                    parentPort.postMessage({ cmd: "ready" });
                } else if (msg.cmd === "buildTable") {
                    const buf = buildTable(msg.g, msg.k0, msg.k1);
                    parentPort.postMessage(
                        { cmd: "tablePart", g: msg.g, k0: msg.k0, k1: msg.k1, buf },
                        [buf]
                    );
                } else if (msg.cmd === "secrets") {
                    // tau, alpha, beta in Montgomery form, as ffjavascript holds them
                    const b = new Uint8Array(msg.buf);
                    u8.set(b, st.secret);
                    b.fill(0);
                } else if (msg.cmd === "setTablePart") {
                    const T = st.table[msg.g];
                    u8.set(new Uint8Array(msg.buf), T.ptr + msg.k0 * T.half * (msg.g === 1 ? 64 : 128));
                } else if (msg.cmd === "job") {
                    runJob(msg);
                } else if (msg.cmd === "wipe") {
                    wipe();
                    parentPort.postMessage({ cmd: "wiped", prof: st.prof });
                }
            } catch (err) {
                parentPort.postMessage({ cmd: "error", message: err && err.stack ? err.stack : String(err) });
            }
        });
    });
}

/* ------------------------------------------------------------------------------------------ */
/* main thread                                                                                */
/* ------------------------------------------------------------------------------------------ */

function parseArgs(argv) {
    const pos = [];
    const opts = {
        name: "ptau_fast local single-party setup",
        unprepared: null,
        threads: null,
        chunk: DEFAULT_CHUNK,
        windowG1: null,
        windowG2: null,
        quiet: false,
    };
    const takesValue = {
        "--name": "name",
        "--unprepared": "unprepared",
        "--threads": "threads",
        "--chunk": "chunk",
        "--window-g1": "windowG1",
        "--window-g2": "windowG2",
    };
    for (let i = 0; i < argv.length; i++) {
        let a = argv[i];
        if (a === "-h" || a === "--help") throw new UsageError("help requested");
        if (a === "--quiet" || a === "-q") {
            opts.quiet = true;
            continue;
        }
        if (a.startsWith("--")) {
            let value;
            const eq = a.indexOf("=");
            if (eq >= 0) {
                value = a.slice(eq + 1);
                a = a.slice(0, eq);
            }
            const key = takesValue[a];
            if (!key) throw new UsageError(`unknown option ${a}`);
            if (value === undefined) {
                if (i + 1 >= argv.length) throw new UsageError(`option ${a} needs a value`);
                value = argv[++i];
            }
            opts[key] = value;
            continue;
        }
        pos.push(a);
    }
    if (pos.length !== 2) throw new UsageError(`expected 2 arguments (power, output file), got ${pos.length}`);
    const [powerStr, out] = pos;
    if (!/^[0-9]+$/.test(powerStr)) throw new UsageError(`power must be an integer, got ${JSON.stringify(powerStr)}`);
    const power = Number(powerStr);
    if (power === SNARKJS_MAX_POWER) {
        throw new UsageError(
            `power ${power} is not supported: its 2^${power + 1} tauG1 Lagrange block needs snarkjs's ` +
            `coset extension, which ptau_fast does not implement (and the file would be ~310 GB)`
        );
    }
    if (power < MIN_POWER || power > MAX_POWER) {
        throw new UsageError(`power must be in ${MIN_POWER}..${MAX_POWER}, got ${power}`);
    }
    if (!out) throw new UsageError("output path is empty");
    const name = String(opts.name);
    if (name.length < 1 || name.length > MAX_NAME || !/^[\x20-\x7e]+$/.test(name)) {
        throw new UsageError(`--name must be 1..${MAX_NAME} printable ASCII characters`);
    }
    const intOpt = (v, what, lo, hi) => {
        if (v === null) return null;
        if (!/^[0-9]+$/.test(String(v))) throw new UsageError(`${what} must be an integer, got ${JSON.stringify(v)}`);
        const x = Number(v);
        if (x < lo || x > hi) throw new UsageError(`${what} must be in ${lo}..${hi}, got ${x}`);
        return x;
    };
    const res = {
        power,
        out: path.resolve(out),
        name,
        unprepared: opts.unprepared ? path.resolve(opts.unprepared) : null,
        threads: intOpt(opts.threads, "--threads", 1, 64),
        chunk: intOpt(opts.chunk, "--chunk", 1, 1 << 16),
        windowG1: intOpt(opts.windowG1, "--window-g1", 3, 20),
        windowG2: intOpt(opts.windowG2, "--window-g2", 3, 20),
        quiet: opts.quiet,
    };
    for (const [g, w] of [[1, res.windowG1], [2, res.windowG2]]) {
        if (w !== null && windowsFor(w) * 2 ** (w - 1) * (g === 1 ? 64 : 128) > MAX_TABLE_BYTES) {
            throw new UsageError(`window ${w} makes the G${g} table larger than ${MAX_TABLE_BYTES >> 20} MB`);
        }
    }
    if (res.unprepared && res.unprepared === res.out) {
        throw new UsageError("--unprepared must differ from the output path");
    }
    for (const p of [res.out, res.unprepared]) {
        if (!p) continue;
        const dir = path.dirname(p);
        if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
            throw new UsageError(`output directory ${dir} does not exist`);
        }
        if (fs.existsSync(p) && fs.statSync(p).isDirectory()) throw new UsageError(`${p} is a directory`);
    }
    return res;
}

function fmtMB(bytes) {
    return `${(bytes / 1048576).toFixed(1)} MB`;
}

async function main() {
    let opts;
    try {
        opts = parseArgs(process.argv.slice(2));
    } catch (err) {
        if (err instanceof UsageError) {
            if (err.message === "help requested") {
                process.stdout.write(USAGE + "\n");
                return 0;
            }
            process.stderr.write(`ptau_fast: error: ${err.message}\n${USAGE}\n`);
            return 2;
        }
        throw err;
    }
    const t0 = Date.now();
    const log = (s) => {
        if (!opts.quiet) process.stderr.write(`[ptau_fast ${((Date.now() - t0) / 1000).toFixed(1)}s] ${s}\n`);
    };

    const tmpFiles = [];
    const cleanup = () => {
        for (const f of tmpFiles) {
            try {
                fs.unlinkSync(f);
            } catch (_) {
                /* already gone */
            }
        }
    };
    const onSignal = (sig) => {
        cleanup();
        process.stderr.write(`ptau_fast: interrupted (${sig})\n`);
        process.exit(sig === "SIGINT" ? 130 : 143);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("exit", cleanup); // whatever ends the process, no temporary file stays behind
    // progress output is best effort: a closed stderr (`| head`) must not kill the run
    process.stderr.on("error", () => {});
    try {
        await generate(opts, log, tmpFiles);
    } catch (err) {
        cleanup();
        throw err;
    }
    return 0;
}

function tmpNameFor(target) {
    const dir = path.dirname(target);
    const base = path.basename(target);
    return path.join(dir, `.${base}.tmp-${process.pid}-${crypto.randomBytes(4).toString("hex")}`);
}

// calculateFirstChallengeHash (powersoftau_utils.js), with node's native blake2b512.
function firstChallengeHash(curve, power) {
    const vG1 = new Uint8Array(64);
    const vG2 = new Uint8Array(128);
    curve.G1.toRprUncompressed(vG1, 0, curve.G1.g);
    curve.G2.toRprUncompressed(vG2, 0, curve.G2.g);
    const h = crypto.createHash("blake2b512");
    h.update(crypto.createHash("blake2b512").digest());
    const hashRepeated = (v, n) => {
        const per = 1 << 14;
        const block = Buffer.alloc(per * v.length);
        for (let i = 0; i < per; i++) block.set(v, i * v.length);
        let left = n;
        while (left >= per) {
            h.update(block);
            left -= per;
        }
        if (left > 0) h.update(block.subarray(0, left * v.length));
    };
    const N = 2 ** power;
    hashRepeated(vG1, 2 * N - 1);
    hashRepeated(vG2, N);
    hashRepeated(vG1, N);
    hashRepeated(vG1, N);
    h.update(vG2);
    return new Uint8Array(h.digest());
}

function binPreamble(nSections) {
    const b = Buffer.alloc(12);
    b.write("ptau", 0, "ascii");
    b.writeUInt32LE(1, 4);
    b.writeUInt32LE(nSections, 8);
    return b;
}

async function generate(opts, log, tmpFiles) {
    const { power } = opts;
    const N = 2 ** power;
    const cores = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
    const threads = opts.threads || Math.max(1, Math.min(16, cores));
    const chunk = opts.chunk;
    const nG1 = 2 * N - 1 + N + N + (4 * N - 1) + 2 * (2 * N - 1);
    const nG2 = N + 1 + (2 * N - 1);
    const windows = {
        1: opts.windowG1 || chooseWindow(nG1, 64, threads),
        2: opts.windowG2 || chooseWindow(nG2, 128, threads),
    };

    // ---------------------------------------------------------------- workers
    // Started first, so that their start-up overlaps the main thread's own.
    const workers = [];
    let failed = null;
    let resolveFail;
    const failPromise = new Promise((_, rej) => {
        resolveFail = rej;
    });
    failPromise.catch(() => {});
    const fail = (err) => {
        if (!failed) {
            failed = err;
            resolveFail(err);
        }
    };
    const handlers = [];
    for (let i = 0; i < threads; i++) {
        const wk = new Worker(__filename, { workerData: {} });
        wk.on("error", (e) => fail(e));
        wk.on("exit", (code) => {
            if (code !== 0 && !wk._ptauDone) fail(new Error(`worker ${i} exited with code ${code}`));
        });
        wk.on("message", (msg) => {
            if (msg.cmd === "error") fail(new Error(`worker ${i}: ${msg.message}`));
            else if (handlers[i]) handlers[i](msg);
        });
        workers.push(wk);
    }
    const stopWorkers = async () => {
        for (const wk of workers) {
            wk._ptauDone = true;
            await wk.terminate();
        }
    };
    try {
        await runWorkers();
    } finally {
        await stopWorkers();
    }

    async function runWorkers() {
        const waitAll = (pred) =>
            Promise.race([
                Promise.all(
                    workers.map(
                        (_, i) =>
                            new Promise((res) => {
                                handlers[i] = (msg) => {
                                    if (pred(msg)) res(msg);
                                };
                            })
                    )
                ),
                failPromise,
            ]);

        // ---------------------------------------------------------------- wasm code, tables
        const M = await SJ.loadInternals("keyPair", "ptauUtils", "misc", "ffjs", "blake2b", "fastFile");
        // ffjavascript's own bn128 module plus the batched affine addition kernel
        const { curve, wasmModule, consts } = await SJ.buildCurve(M.ffjs, ptauWasmPlugin);
        const Fr = curve.Fr;
        const roots = new Uint8Array((power + 2) * N8R);
        for (let p = 0; p <= power + 1; p++) roots.set(Fr.w[p], p * N8R);
        for (const wk of workers) {
            wk.postMessage({
                cmd: "init",
                module: wasmModule,
                pG1gen: consts.pG1gen,
                pG2gen: consts.pG2gen,
                chunk,
                windows,
                roots: roots.buffer.slice(0),
            });
        }
        // Each worker builds some windows of each table (no secret needed), then receives the rest.
        const parts = [];
        for (const g of [1, 2]) {
            const W = windowsFor(windows[g]);
            const per = Math.ceil(W / threads);
            for (let i = 0; i < threads; i++) {
                const k0 = i * per;
                const k1 = Math.min(W, k0 + per);
                if (k0 < k1) parts.push({ g, k0, k1, owner: i });
            }
        }
        const partsDone = new Map();
        const tablesBuilt = Promise.race([
            Promise.all(
                workers.map(
                    (_, i) =>
                        new Promise((res) => {
                            const mine = parts.filter((p) => p.owner === i);
                            let left = mine.length;
                            if (left === 0) res();
                            handlers[i] = (msg) => {
                                if (msg.cmd !== "tablePart") return;
                                partsDone.set(`${msg.g}:${msg.k0}`, msg.buf);
                                if (--left === 0) res();
                            };
                            for (const p of mine) {
                                workers[i].postMessage({ cmd: "buildTable", g: p.g, k0: p.k0, k1: p.k1 });
                            }
                        })
                )
            ),
            failPromise,
        ]);
        tablesBuilt.catch(() => {}); // awaited below; a failure meanwhile must not go unhandled

        // ---------------------------------------------------------------- toxic waste and key
        const challenge = firstChallengeHash(curve, power);
        let key;
        for (let attempt = 0; ; attempt++) {
            if (attempt > 8) throw new Error("could not draw a usable key");
            // snarkjs's own RNG construction (contribute -e): ChaCha seeded from crypto random bytes
            // and an entropy string, here itself drawn from the CSPRNG.
            const rng = await M.misc.getRandomRng(crypto.randomBytes(32).toString("hex"));
            key = M.keyPair.createPTauKey(curve, challenge, rng);
            const { tau, alpha, beta } = key;
            // tau must not be one of the roots of unity the Lagrange sections are built on
            const rootOfUnity = Fr.eq(Fr.exp(tau.prvKey, 2 ** (power + 1)), Fr.one);
            if (!rootOfUnity && ![tau, alpha, beta].some((k) => Fr.isZero(k.prvKey))) break;
        }
        for (const wk of workers) {
            const buf = new Uint8Array(3 * N8R);
            buf.set(key.tau.prvKey, 0);
            buf.set(key.alpha.prvKey, N8R);
            buf.set(key.beta.prvKey, 2 * N8R);
            wk.postMessage({ cmd: "secrets", buf: buf.buffer }, [buf.buffer]); // moved, not copied
        }

        // ---------------------------------------------------------------- layout
        const contributionTemplate = {
            name: opts.name,
            type: 0,
            key: key,
            tauG1: curve.G1.g,
            tauG2: curve.G2.g,
            alphaG1: curve.G1.g,
            betaG1: curve.G1.g,
            betaG2: curve.G2.g,
            partialHash: new Uint8Array(216),
            nextChallenge: new Uint8Array(64),
        };
        const headerBytes = await SJ.memBytes(M.fastFile, (fd) => M.ptauUtils.writePTauHeader(fd, curve, power));
        const sec7Len = (
            await SJ.memBytes(M.fastFile, (fd) => M.ptauUtils.writeContributions(fd, curve, [contributionTemplate]))
        ).length;
        const sizes = {
            2: (2 * N - 1) * 64,
            3: N * 128,
            4: N * 64,
            5: N * 64,
            6: 128,
            7: sec7Len - 12,
            12: (4 * N - 1) * 64,
            13: (2 * N - 1) * 128,
            14: (2 * N - 1) * 64,
            15: (2 * N - 1) * 64,
        };
        const order = [2, 3, 4, 5, 6, 7, 12, 13, 14, 15];
        const dataStart = {};
        let off = 12 + headerBytes.length;
        for (const s of order) {
            dataStart[s] = off + 12;
            off += 12 + sizes[s];
        }
        const totalSize = off;
        const sec7Start = dataStart[7] - 12;
        const end7 = dataStart[7] + sizes[7];
        log(
            `power ${power}: ${nG1} G1 + ${nG2} G2 points, file ${fmtMB(totalSize)}, ${threads} threads, ` +
                `windows G1 ${windows[1]} bits / G2 ${windows[2]} bits`
        );

        // ---------------------------------------------------------------- jobs
        const jobs = [];
        let hashSeq = 0;
        const pushRange = (sec, g, kind, p, total, mult, special, hash, base) => {
            for (let s = 0; s < total; s += chunk) {
                const n = Math.min(chunk, total - s);
                const job = { id: jobs.length, g, kind, p, start: s, n, mult, special, hash, sec };
                job.pos = dataStart[sec] + (base + s) * (g === 1 ? 64 : 128);
                if (hash) job.seq = hashSeq++;
                jobs.push(job);
            }
        };
        // sections 2..6 first, in file order: they feed the response and next-challenge hashes
        pushRange(2, 1, "pow", 0, 2 * N - 1, 0, false, true, 0);
        pushRange(3, 2, "pow", 0, N, 0, false, true, 0);
        pushRange(4, 1, "pow", 0, N, 1, false, true, 0);
        pushRange(5, 1, "pow", 0, N, 2, false, true, 0);
        pushRange(6, 2, "pow", 0, 1, 2, false, true, 0);
        const nHashJobs = hashSeq;
        for (let p = 0; p <= power + 1; p++) pushRange(12, 1, "lag", p, 2 ** p, 0, p === power + 1, false, 2 ** p - 1);
        for (let p = 0; p <= power; p++) pushRange(13, 2, "lag", p, 2 ** p, 0, false, false, 2 ** p - 1);
        for (let p = 0; p <= power; p++) pushRange(14, 1, "lag", p, 2 ** p, 1, false, false, 2 ** p - 1);
        for (let p = 0; p <= power; p++) pushRange(15, 1, "lag", p, 2 ** p, 2, false, false, 2 ** p - 1);

        // ---------------------------------------------------------------- tables
        await tablesBuilt;
        for (const p of parts) {
            const buf = partsDone.get(`${p.g}:${p.k0}`);
            const others = workers.filter((_, i) => i !== p.owner);
            others.forEach((wk, j) => {
                const last = j === others.length - 1;
                wk.postMessage({ cmd: "setTablePart", g: p.g, k0: p.k0, k1: p.k1, buf }, last ? [buf] : []);
            });
        }
        partsDone.clear();
        log("tables ready");

        // ---------------------------------------------------------------- output file
        const tmp = tmpNameFor(opts.out);
        tmpFiles.push(tmp);
        const fd = fs.openSync(tmp, "wx", 0o644);
        fs.ftruncateSync(fd, totalSize);
        const writeAt = (buf, pos) => {
            let done = 0;
            while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, pos + done);
        };
        writeAt(binPreamble(11), 0);
        writeAt(Buffer.from(headerBytes), 12);
        for (const s of order) {
            const h = Buffer.alloc(12);
            h.writeUInt32LE(s, 0);
            h.writeBigUInt64LE(BigInt(sizes[s]), 4);
            writeAt(h, dataStart[s] - 12);
        }

        // ---------------------------------------------------------------- run the jobs
        const responseHasher = M.blake2b.create({ dkLen: 64 });
        responseHasher.update(challenge);
        const uChunks = new Array(nHashJobs);
        const pendingC = new Map();
        let nextC = 0;
        const firstPoints = {};
        const weight = (j) => j.n * (j.g === 1 ? 1 : 3);
        const totalWork = jobs.reduce((a, j) => a + weight(j), 0);
        let doneWork = 0;
        let lastLog = Date.now();
        let nextJob = 0;
        let nDone = 0;
        const inFlight = new Array(threads).fill(0);

        await Promise.race([
            new Promise((resolveAll) => {
                const dispatch = (i) => {
                    while (inFlight[i] < 2 && nextJob < jobs.length) {
                        const j = jobs[nextJob++];
                        inFlight[i]++;
                        workers[i].postMessage({
                            cmd: "job",
                            id: j.id,
                            g: j.g,
                            kind: j.kind,
                            p: j.p,
                            start: j.start,
                            n: j.n,
                            mult: j.mult,
                            special: j.special,
                            hash: j.hash,
                        });
                    }
                };
                workers.forEach((_, i) => {
                    handlers[i] = (msg) => {
                        if (msg.cmd !== "result") return;
                        inFlight[i]--;
                        dispatch(i);
                        const j = jobs[msg.id];
                        const lem = Buffer.from(msg.lem);
                        writeAt(lem, j.pos);
                        if (j.hash) {
                            // points 0 and 1 of sections 2..6 go into the contribution record
                            for (let idx = j.start; idx < Math.min(2, j.start + j.n); idx++) {
                                const G = j.g === 1 ? curve.G1 : curve.G2;
                                const sz = j.g === 1 ? 64 : 128;
                                firstPoints[j.sec] = firstPoints[j.sec] || [];
                                firstPoints[j.sec][idx] = G.fromRprLEM(lem, (idx - j.start) * sz);
                            }
                            uChunks[j.seq] = new Uint8Array(msg.u);
                            pendingC.set(j.seq, new Uint8Array(msg.c));
                            while (pendingC.has(nextC)) {
                                responseHasher.update(pendingC.get(nextC));
                                pendingC.delete(nextC);
                                nextC++;
                            }
                        }
                        doneWork += weight(j);
                        nDone++;
                        if (Date.now() - lastLog > 2000) {
                            lastLog = Date.now();
                            log(`points ${((100 * doneWork) / totalWork).toFixed(0)}%`);
                        }
                        if (nDone === jobs.length) resolveAll();
                    };
                    dispatch(i);
                });
            }),
            failPromise,
        ]);
        if (nextC !== nHashJobs) throw new Error("internal error: response hash incomplete");
        log("points 100%");

        // ---------------------------------------------------------------- wipe the secrets
        const wiped = waitAll((m) => m.cmd === "wiped");
        for (const wk of workers) wk.postMessage({ cmd: "wipe" });
        const wipedMsgs = await wiped;
        for (const [i, m] of wipedMsgs.entries()) {
            for (const [k, e] of Object.entries(m.prof || {})) {
                log(
                    `profile worker ${i} ${k}: ${e.n} points, scalars ${(e.scal / 1000).toFixed(2)} s, ` +
                    `mul ${(e.mul / 1000).toFixed(2)} s (${((1000 * e.mul) / e.n).toFixed(1)} us/point), ` +
                    `out ${(e.rest / 1000).toFixed(2)} s`
                );
            }
        }
        await stopWorkers();

        // ---------------------------------------------------------------- contribution record
        const contribution = {
            name: opts.name,
            type: 0,
            key: key,
            tauG1: firstPoints[2][1],
            tauG2: firstPoints[3][1],
            alphaG1: firstPoints[4][0],
            betaG1: firstPoints[5][0],
            betaG2: firstPoints[6][0],
        };
        contribution.partialHash = M.misc.toPartialHash(responseHasher);
        const buffKey = new Uint8Array(curve.F1.n8 * 2 * 6 + curve.F2.n8 * 2 * 3);
        M.ptauUtils.toPtauPubKeyRpr(buffKey, 0, curve, key, false);
        responseHasher.update(buffKey);
        const responseHash = responseHasher.digest();
        const next = crypto.createHash("blake2b512");
        next.update(responseHash);
        for (const u of uChunks) next.update(u);
        contribution.nextChallenge = new Uint8Array(next.digest());
        uChunks.length = 0;

        // the private keys are not needed any more
        for (const k of [key.tau, key.alpha, key.beta]) {
            k.prvKey.fill(0);
            delete k.prvKey;
        }

        const sec7 = await SJ.memBytes(M.fastFile, (f) => M.ptauUtils.writeContributions(f, curve, [contribution]));
        if (sec7.length !== sec7Len) throw new Error("internal error: contribution section size changed");
        writeAt(Buffer.from(sec7), sec7Start);
        fs.fsyncSync(fd);
        fs.closeSync(fd);

        if (opts.unprepared) {
            const tmpU = tmpNameFor(opts.unprepared);
            tmpFiles.push(tmpU);
            fs.copyFileSync(tmp, tmpU);
            fs.truncateSync(tmpU, end7);
            const fdu = fs.openSync(tmpU, "r+");
            fs.writeSync(fdu, binPreamble(7), 0, 12, 0);
            fs.fsyncSync(fdu);
            fs.closeSync(fdu);
            fs.renameSync(tmpU, opts.unprepared);
        }
        fs.renameSync(tmp, opts.out);
        tmpFiles.length = 0;
        log(`wrote ${opts.out} (${fmtMB(totalSize)})`);
    }
}
