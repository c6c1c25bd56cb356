"use strict";
/*
 * bn128_batch.js: batched affine arithmetic on BN254 for the local setup tools (ptau_fast.js,
 * zkey_fast.js), on top of the wasm module ffjavascript/snarkjs use.
 *
 * The kernels are added to ffjavascript's bn128 module (wasmcurves) through buildBn128's plugin
 * hook (batchWasmPlugin), next to its own functions: bn128_kernels.js's batched affine additions,
 * 2^t-fold doublings and GLV endomorphism, generated twice,
 *
 *   g1w_*, g2w_*   on wasmcurves' own field, i.e. on ffjavascript's encoding (ptau_fast.js, and
 *                  the occasional sum of zkey_fast.js's main thread)
 *   g1z_*, g2z_*   on the faster "M29" field of bn128_m29.js, with exact conversions from and to
 *                  ffjavascript's encoding (the linear combinations of zkey_fast.js)
 *
 * (G1 over Fq, G2 over Fq2). Engine wraps one instance of the module (a worker
 * thread each, or the main thread) with an allocator, the exceptional cases of the affine formulas
 * (through wasmcurves' projective ones) and a start-up self-test; linearCombinations() is the
 * Straus/GLV engine zkey_fast.js runs in its workers: many sparse sums  out_j = sum_i k_ij * P_i
 * at once, every addition and doubling of a round sharing one field inversion.
 */

const M29 = require("./bn128_m29.js");
const { addPointKernels } = require("./bn128_kernels.js");

const SCALAR_BITS = 254; // r < 2^254
const N8 = 32;

// BN254 (alt_bn128) parameters.
const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
// GLV: lambda^2 + lambda + 1 = 0 (mod r); phi(x, y) = (beta*x, y) is lambda*P on G1 with BETA_G1
// and on G2 (the sextic twist, same j-invariant 0) with BETA_G2 = BETA_G1^2 (checked at start-up).
const GLV_LAMBDA = 4407920970296243842393367215006156084916469457145843978461n;
const BETA_G1 = 2203960485148121921418603742825762020974279258880205651966n;
const BETA_G2 = 21888242871839275220042445260109153167277707414472061641714758635765020556616n;
// A reduced basis of the lattice {(a, b) : a + b*lambda = 0 mod r} (extended Euclid on r, lambda).
const GLV_V1 = [9931322734385697763n, -147946756881789319000765030803803410728n];
const GLV_V2 = [147946756881789319010696353538189108491n, 9931322734385697763n];
const GLV_HALF_BITS = 128; // |k1|, |k2| < 2^128 for every k in [0, r)

function bigToLE(x, n8) {
    const b = new Uint8Array(n8);
    for (let i = 0; i < n8; i++) {
        b[i] = Number(x & 0xffn);
        x >>= 8n;
    }
    return b;
}

function leToBig(buf, off, n8) {
    let x = 0n;
    for (let i = n8 - 1; i >= 0; i--) x = (x << 8n) | BigInt(buf[off + i]);
    return x;
}

function roundDiv(a, b) {
    // round(a / b) for b > 0
    const neg = a < 0n;
    const A = neg ? -a : a;
    const qv = (2n * A + b) / (2n * b);
    return neg ? -qv : qv;
}

// k (0 <= k < r) -> [k1, k2] with k = k1 + k2*lambda (mod r), |k1|, |k2| < 2^128.
function glvSplit(k) {
    const c1 = roundDiv(k * GLV_V2[1], R);
    const c2 = roundDiv(-k * GLV_V1[1], R);
    const k1 = k - c1 * GLV_V1[0] - c2 * GLV_V2[0];
    const k2 = -c1 * GLV_V1[1] - c2 * GLV_V2[1];
    const abs = (x) => (x < 0n ? -x : x);
    if (abs(k1) >> BigInt(GLV_HALF_BITS) || abs(k2) >> BigInt(GLV_HALF_BITS)) throw new Error("GLV split out of range");
    if ((((k1 + k2 * GLV_LAMBDA - k) % R) + R) % R !== 0n) throw new Error("GLV split is wrong");
    return [k1, k2];
}

// Signed c-bit digits of a signed integer x, |x| < 2^bits: nW digits d_j in [-2^(c-1), 2^(c-1)]
// with x = sum d_j 2^(c*j). nW*c >= bits + 1 guarantees that the top digit never carries.
function signedDigits(x, c, nW, out, off) {
    const neg = x < 0n;
    let v = neg ? -x : x;
    const full = 1n << BigInt(c);
    const half = full >> 1n;
    const mask = full - 1n;
    let carry = 0n;
    for (let j = 0; j < nW; j++) {
        let d = (v & mask) + carry;
        v >>= BigInt(c);
        if (d > half) {
            d -= full;
            carry = 1n;
        } else {
            carry = 0n;
        }
        out[off + j] = Number(neg ? -d : d);
    }
    if (carry || v) throw new Error("scalar recoding overflow");
}

function windowsFor(bits, c) {
    return Math.ceil((bits + 1) / c);
}

/*
 * A table of scalars for linearCombinations(): value i has nW digits for P (its GLV half k1) and
 * nW digits for phi(P) (half k2), in a flat Int8Array, plus its largest |digit| and whether any
 * phi digit is non-zero. Digits reach 2^(c-1), so c <= 7 (c = 8 would wrap 128 to -128).
 */
function scalarTable(values, c) {
    if (!(c >= 1 && c <= 7)) throw new Error(`scalarTable: window of ${c} bits (1..7 fit an Int8Array)`);
    const nW = windowsFor(GLV_HALF_BITS, c);
    const n = values.length;
    const digits = new Int8Array(n * 2 * nW);
    const maxAbs = new Uint8Array(n);
    const hasPhi = new Uint8Array(n);
    const top = new Int8Array(n); // highest window with a non-zero digit (-1: the scalar is 0)
    for (let i = 0; i < n; i++) {
        const k = ((values[i] % R) + R) % R;
        const [k1, k2] = glvSplit(k);
        signedDigits(k1, c, nW, digits, i * 2 * nW);
        signedDigits(k2, c, nW, digits, i * 2 * nW + nW);
        let m = 0;
        let phi = 0;
        let t = -1;
        for (let j = 0; j < 2 * nW; j++) {
            const a = Math.abs(digits[i * 2 * nW + j]);
            if (a > m) m = a;
            if (j >= nW && a) phi = 1;
            if (a && j % nW > t) t = j % nW;
        }
        maxAbs[i] = m;
        hasPhi[i] = phi;
        top[i] = t;
    }
    return { c, nW, digits, maxAbs, hasPhi, top };
}

/* ------------------------------------------------------------------------------------------ */
/* wasm kernels (plugin for ffjavascript's buildBn128)                                        */
/* ------------------------------------------------------------------------------------------ */

// x in ffjavascript's (wasmcurves') form: Montgomery, x * 2^256 mod q, little endian.
function montBytes(x) {
    return bigToLE((x << 256n) % Q, N8);
}

// wasmcurves' own field, for bn128_kernels.js: kernels g1w_*, g2w_* on ffjavascript's encoding.
const WASMCURVES_FIELD = {
    tag: "w",
    fq: "f1m",
    fq2: "f2m",
    n8: N8,
    encode: montBytes,
    batchInverse: (c, pIn, pOut, m) => c.call("f1m_batchInverse", pIn, c.i32_const(N8), m, pOut, c.i32_const(N8)),
};

// The plugin for ffjavascript's buildBn128(singleThread, plugin): the point kernels on
// wasmcurves' field, and the same on bn128_m29.js's faster one.
function batchWasmPlugin(module) {
    addPointKernels(module, WASMCURVES_FIELD, BETA_G1, BETA_G2);
    M29.addM29(module);
    addPointKernels(module, M29.M29_FIELD, BETA_G1, BETA_G2);
}

/* ------------------------------------------------------------------------------------------ */
/* Engine: one instance of the module                                                         */
/* ------------------------------------------------------------------------------------------ */

// The forms linearCombinations() can work in (ZKEY_FAST_KERNEL selects one in zkey_fast.js).
const FORMS = ["m29", "plain"];
const DEFAULT_FORM = "m29";

class Engine {
    // wasmModule, consts: what snarkjs_internals.buildCurve returns for batchWasmPlugin (the
    // compiled module and the generators' addresses in it); opts.batchCap: the largest batch of one kernel
    // call; opts.form: the point form of linearCombinations(), one of FORMS.
    static async create(wasmModule, consts, opts = {}) {
        const { batchCap = 16384, form = DEFAULT_FORM } = opts;
        if (!FORMS.includes(form)) throw new Error(`unknown kernel form ${JSON.stringify(form)} (expected one of ${FORMS})`);
        const e = new Engine();
        e.memory = new WebAssembly.Memory({ initial: 64, maximum: 32767 });
        const inst = await WebAssembly.instantiate(wasmModule, { env: { memory: e.memory } });
        e.ex = inst.exports;
        e.pG1gen = consts.pG1gen;
        e.pG2gen = consts.pG2gen;
        e.batchCap = batchCap;
        e.form = form;
        e.refreshViews();
        e.freePtr = e.u32[0];
        // the module's batch functions take their scratch above the free pointer
        e.scratchReserve = (batchCap + 2) * 64 + (1 << 20);
        // kernel scratch (denominators in Fq or Fq2, norms, inverses), sized for either field
        const fq = Math.max(N8, M29.N8Z);
        e.den = e.alloc(batchCap * 2 * fq);
        e.nrm = e.alloc(batchCap * fq);
        e.inv = e.alloc(batchCap * fq);
        e.tmpA = e.alloc(128);
        e.tmpJ = e.alloc(192);
        e.pAptr = e.alloc(batchCap * 4);
        e.pBptr = e.alloc(batchCap * 4);
        e.pOptr = e.alloc(batchCap * 4);
        e.pFptr = e.alloc(batchCap * 4);
        e.wcA = e.alloc(128);
        e.wcB = e.alloc(128);
        e.refreshViews();
        e.inf = new Uint8Array(batchCap);
        e.groups = { 1: e.makeGroup(1), 2: e.makeGroup(2) };
        e.selfTest();
        return e;
    }

    refreshViews() {
        const buf = this.memory.buffer;
        this.u8 = new Uint8Array(buf);
        this.u32 = new Uint32Array(buf);
        if (this.pAptr) {
            this.pA = new Int32Array(buf, this.pAptr, this.batchCap);
            this.pB = new Int32Array(buf, this.pBptr, this.batchCap);
            this.pO = new Int32Array(buf, this.pOptr, this.batchCap);
            this.pF = new Int32Array(buf, this.pFptr, this.batchCap);
        }
    }

    // Bump allocator above the module's own (the word at address 0 is its free pointer; its
    // batch functions take scratch space from there, so some room always stays free above it).
    ensureMemory(bytes) {
        const need = Math.ceil(bytes / 65536);
        const have = this.memory.buffer.byteLength / 65536;
        if (need > have) {
            if (need > 32767) throw new Error(`wasm memory limit: ${bytes} bytes needed`);
            this.memory.grow(need - have);
            this.refreshViews();
        }
    }

    alloc(n) {
        const p = (this.freePtr + 63) & ~63;
        this.freePtr = p + n;
        this.ensureMemory(this.freePtr + this.scratchReserve);
        this.u32[0] = this.freePtr;
        return p;
    }

    mark() {
        return this.freePtr;
    }

    release(mark) {
        this.freePtr = mark;
        this.u32[0] = mark;
    }

    makeGroup(g) {
        const ex = this.ex;
        const f = g === 1 ? "f1m" : "f2m";
        const c = g === 1 ? "g1m" : "g2m";
        const n8 = g === 1 ? 32 : 64;
        return {
            g,
            n8,
            sz: 2 * n8,
            copyF: ex[f + "_copy"],
            negF: ex[f + "_neg"],
            isZeroF: ex[f + "_isZero"],
            addAffine: ex[c + "_addAffine"],
            negAffine: ex[c + "_negAffine"],
            toAffine: ex[c + "_toAffine"],
            isZeroJ: ex[c + "_isZero"],
            copyJ: ex[c + "_copy"],
            double: ex[c + "_double"],
            isZeroAffine: ex[c + "_isZeroAffine"],
            copyAffine: ex[c + "_copyAffine"],
            zeroAffine: ex[c + "_zeroAffine"],
            doubleAffine: ex[c + "_doubleAffine"],
            batchLEMtoU: ex[c + "_batchLEMtoU"],
            batchLEMtoC: ex[c + "_batchLEMtoC"],
            kAdd: ex[`g${g}w_batchAdd`],
            timesScalar: ex[c + "_timesScalar"],
            gen: g === 1 ? this.pG1gen : this.pG2gen,
            lc: this.lcForm(g),
        };
    }

    // The points linearCombinations() works on: bn128_m29.js's form (72 / 144 bytes, converted
    // on the way in and out) or ffjavascript's own (64 / 128 bytes, nothing to convert).
    lcForm(g) {
        const ex = this.ex;
        if (this.form === "m29") {
            const k = (name) => ex[`g${g}z_${name}`];
            const sz = (g === 1 ? 2 : 4) * M29.N8Z;
            return { sz, add: k("batchAdd"), double: k("batchDouble"), phi: k("phi"), neg: k("neg"), fromWc: k("fromWc"), toWc: k("toWc") };
        }
        const k = (name) => ex[`g${g}w_${name}`];
        const sz = g === 1 ? 64 : 128;
        const copy = (src, dst, n) => this.u8.copyWithin(dst, src, src + n * sz);
        return { sz, add: k("batchAdd"), double: k("batchDouble"), phi: k("phi"), neg: k("neg"), fromWc: copy, toWc: copy };
    }

    // O[i] = A[i] + s_i*B[i] for i < m (s_i = -1 if bit 0 of pF[i]), pointers in this.pA / pB /
    // pO (pA when inPlace), points in ffjavascript's form. Pairs with equal x (doubling, or
    // A == -B) are done with the complete projective formulas. this.inf[i] = 1 marks a result at
    // infinity (written as x = y = 0).
    batchAdd(G, m, inPlace) {
        if (m === 0) return;
        G.kAdd(this.pAptr, this.pBptr, inPlace ? this.pAptr : this.pOptr, this.pFptr, m, this.den, this.nrm, this.inv);
        const F = this.pF;
        const inf = this.inf;
        inf.fill(0, 0, m);
        for (let i = 0; i < m; i++) {
            if (!(F[i] & 2)) continue;
            const a = this.pA[i];
            const o = inPlace ? a : this.pO[i];
            let b = this.pB[i];
            if (F[i] & 1) {
                G.negAffine(b, this.tmpA);
                b = this.tmpA;
            }
            G.addAffine(a, b, this.tmpJ);
            if (G.isZeroJ(this.tmpJ)) {
                G.zeroAffine(o);
                inf[i] = 1;
            } else {
                G.toAffine(this.tmpJ, o);
            }
        }
    }

    // batchAdd for points in G.lc's form (the exceptional cases through ffjavascript's formulas).
    lcAdd(G, m, inPlace) {
        if (this.form === "plain") return this.batchAdd(G, m, inPlace);
        if (m === 0) return;
        const L = G.lc;
        L.add(this.pAptr, this.pBptr, inPlace ? this.pAptr : this.pOptr, this.pFptr, m, this.den, this.nrm, this.inv);
        const F = this.pF;
        const inf = this.inf;
        inf.fill(0, 0, m);
        for (let i = 0; i < m; i++) {
            if (!(F[i] & 2)) continue;
            const o = inPlace ? this.pA[i] : this.pO[i];
            L.toWc(this.pA[i], this.wcA, 1);
            L.toWc(this.pB[i], this.wcB, 1);
            if (F[i] & 1) G.negAffine(this.wcB, this.wcB);
            G.addAffine(this.wcA, this.wcB, this.tmpJ);
            if (G.isZeroJ(this.tmpJ)) {
                this.u8.fill(0, o, o + L.sz);
                inf[i] = 1;
            } else {
                G.toAffine(this.tmpJ, this.wcA);
                L.fromWc(this.wcA, o, 1);
            }
        }
    }

    // A[i] = 2^times A[i] for i < m, in G.lc's form; no A[i] may be at infinity.
    lcDouble(G, m, times) {
        if (m > 0 && times > 0) G.lc.double(this.pAptr, m, times, this.den, this.nrm, this.inv);
    }

    lcCopyPoint(G, src, dst, neg) {
        if (neg) G.lc.neg(src, dst);
        else this.u8.copyWithin(dst, src, src + G.lc.sz);
    }

    // Check the kernels against wasmcurves' projective formulas, the exceptional cases included.
    selfTest() {
        const mk = this.mark();
        const scal = this.alloc(N8);
        const jac = this.alloc(192);
        for (const g of [1, 2]) {
            const G = this.groups[g];
            const mul = (k, dst) => {
                this.u8.fill(0, scal, scal + N8);
                const kk = Math.abs(k);
                this.u8[scal] = kk & 0xff;
                this.u8[scal + 1] = kk >> 8;
                G.timesScalar(G.gen, scal, N8, jac);
                G.toAffine(jac, dst);
                if (k < 0) G.negAffine(dst, dst);
                if (k === 0) G.zeroAffine(dst);
            };
            this.selfTestGroup(G, mul, scal, jac);
        }
        this.release(mk);
    }

    selfTestGroup(G, mul, scal, jac) {
        const sz = G.sz;
        const P = this.alloc(sz);
        const Qp = this.alloc(sz);
        const out = this.alloc(4 * sz);
        const want = this.alloc(4 * sz);
        mul(5, P);
        mul(7, Qp);
        // P + P, P - P, P - Q, Q + P  ->  10G, infinity, -2G, 12G
        const cases = [[P, P, 0, 10], [P, P, 1, 0], [P, Qp, 1, -2], [Qp, P, 0, 12]];
        const eq = (x, y) => {
            for (let i = 0; i < sz; i++) if (this.u8[x + i] !== this.u8[y + i]) return false;
            return true;
        };
        const identity = { sz, fromWc: (s, d) => this.u8.copyWithin(d, s, s + sz), toWc: (s, d) => this.u8.copyWithin(d, s, s + sz) };
        const runCases = (form, add, what) => {
            const zs = form.sz;
            const zP = this.alloc(zs);
            const zQ = this.alloc(zs);
            const zOut = this.alloc(4 * zs);
            form.fromWc(P, zP, 1);
            form.fromWc(Qp, zQ, 1);
            const zMap = new Map([[P, zP], [Qp, zQ]]);
            for (const inPlace of [false, true]) {
                cases.forEach(([a, b, neg, k], i) => {
                    const dst = zOut + i * zs;
                    this.u8.copyWithin(dst, zMap.get(a), zMap.get(a) + zs);
                    this.pA[i] = inPlace ? dst : zMap.get(a);
                    this.pB[i] = zMap.get(b);
                    this.pO[i] = dst;
                    this.pF[i] = neg;
                    mul(k, want + i * sz);
                });
                add(cases.length, inPlace);
                cases.forEach(([, , , k], i) => {
                    form.toWc(zOut + i * zs, out + i * sz, 1);
                    if (!eq(out + i * sz, want + i * sz) || this.inf[i] !== (k === 0 ? 1 : 0)) {
                        throw new Error(`self-test of the G${G.g} batched addition${what} failed (case ${i})`);
                    }
                });
            }
            return { zP, zQ, zOut };
        };
        runCases(identity, (m, inPlace) => this.batchAdd(G, m, inPlace), "");
        const L = G.lc;
        const { zP, zQ, zOut } = runCases(L, (m, inPlace) => this.lcAdd(G, m, inPlace), ` (${this.form})`);
        const zs = L.sz;
        this.u8.copyWithin(zOut, zP, zP + zs);
        this.u8.copyWithin(zOut + zs, zQ, zQ + zs);
        this.pA[0] = zOut;
        this.pA[1] = zOut + zs;
        this.lcDouble(G, 2, 3);
        mul(40, want);
        mul(56, want + sz);
        L.toWc(zOut, out, 2);
        if (!eq(out, want) || !eq(out + sz, want + sz)) throw new Error(`self-test of the G${G.g} doubling (${this.form}) failed`);
        const pj = this.alloc(3 * G.n8);
        this.ex[G.g === 1 ? "g1m_toJacobian" : "g2m_toJacobian"](P, pj);
        L.phi(zP, zOut, 1);
        L.toWc(zOut, out, 1);
        this.u8.set(bigToLE(GLV_LAMBDA, N8), scal);
        G.timesScalar(pj, scal, N8, jac);
        G.toAffine(jac, want);
        if (!eq(out, want)) throw new Error(`self-test of the G${G.g} endomorphism (${this.form}) failed`);
    }

    /*
     * Sparse linear combinations, all at once (Straus with GLV, lockstep batched affine):
     *
     *   out_j = sum over terms t with out[t] = j of  k_{val[t]} * P_{base[t]}
     *
     * G: group; pBases: nBases affine points in wasm memory (contiguous, ffjavascript's form);
     * terms: Int32Arrays base, val, out (nTerms each); tab: scalarTable(); groupSize: terms per
     * accumulator (an output with more terms gets several accumulators, summed at the end).
     * Every base gets a table of d*P and d*phi(P) for d = 1..(largest |digit| it needs); every
     * accumulator walks the windows from the top, c doublings then one addition per non-zero
     * digit of its terms. Returns { outs: Int32Array, pts: Uint8Array (LEM affine, zero = 0,0) },
     * one entry per distinct output, in increasing output order.
     */
    linearCombinations(G, pBases, nBases, terms, tab, groupSize, prof) {
        const mk = this.mark();
        const t0 = prof ? threadCpuMs() : 0;
        const ctx = { G, pBases, nBases, terms, tab, groupSize, nDbl: 0, nAdd: 0 };
        this.lcTables(ctx);
        const t1 = prof ? threadCpuMs() : 0;
        lcAccumulators(ctx);
        ctx.acc = this.alloc(Math.max(1, ctx.nG) * G.lc.sz);
        ctx.started = new Uint8Array(ctx.nG);
        for (let j = tab.nW - 1; j >= 0; j--) {
            this.lcDoublings(ctx);
            this.lcWindowAdditions(ctx, j);
        }
        const t2 = prof ? threadCpuMs() : 0;
        const res = this.lcSums(ctx);
        this.release(mk);
        if (prof) {
            const p = (prof["G" + G.g] = prof["G" + G.g] || {});
            const add = (k, v) => (p[k] = (p[k] || 0) + v);
            add("tables", t1 - t0);
            add("horner", t2 - t1);
            add("sum", threadCpuMs() - t2);
            add("dbl", ctx.nDbl);
            add("add", ctx.nAdd);
            add("terms", terms.base.length);
            add("groups", ctx.nG);
        }
        return res;
    }

    // Tables: entries 1..need[b] of P_b, then (if any term needs it) of phi(P_b); terms on a base
    // at infinity are dropped.
    lcTables(ctx) {
        const { G, pBases, nBases } = ctx;
        const { base, val } = ctx.terms;
        const { maxAbs, hasPhi } = ctx.tab;
        const sz = G.lc.sz;
        const baseZero = new Uint8Array(nBases);
        for (let b = 0; b < nBases; b++) baseZero[b] = G.isZeroAffine(pBases + b * G.sz) ? 1 : 0;
        const need = new Uint8Array(nBases);
        const phi = new Uint8Array(nBases);
        for (let t = 0; t < base.length; t++) {
            const b = base[t];
            if (baseZero[b]) continue;
            const v = val[t];
            if (maxAbs[v] > need[b]) need[b] = maxAbs[v];
            if (hasPhi[v]) phi[b] = 1;
        }
        const tabPtr = new Int32Array(nBases);
        const phiPtr = new Int32Array(nBases);
        let tabBytes = 0;
        let maxNeed = 0;
        for (let b = 0; b < nBases; b++) {
            tabBytes += need[b] * sz * (1 + phi[b]);
            if (need[b] > maxNeed) maxNeed = need[b];
        }
        let p = this.alloc(tabBytes);
        for (let b = 0; b < nBases; b++) {
            if (!need[b]) continue;
            tabPtr[b] = p;
            p += need[b] * sz;
            if (phi[b]) {
                phiPtr[b] = p;
                p += need[b] * sz;
            }
            G.lc.fromWc(pBases + b * G.sz, tabPtr[b], 1);
        }
        this.lcTableEntries(G, nBases, need, maxNeed, tabPtr);
        for (let b = 0; b < nBases; b++) if (phi[b]) G.lc.phi(tabPtr[b], phiPtr[b], need[b]);
        Object.assign(ctx, { baseZero, tabPtr, phiPtr });
    }

    // entry 2 = 2 * entry 1, then entry d = entry (d-1) + entry 1, all bases at once
    lcTableEntries(G, nBases, need, maxNeed, tabPtr) {
        const sz = G.lc.sz;
        const cap = this.batchCap;
        let m = 0;
        for (let b = 0; b < nBases; b++) {
            if (need[b] < 2) continue;
            this.u8.copyWithin(tabPtr[b] + sz, tabPtr[b], tabPtr[b] + sz);
            this.pA[m++] = tabPtr[b] + sz;
            if (m === cap) {
                this.lcDouble(G, m, 1);
                m = 0;
            }
        }
        this.lcDouble(G, m, 1);
        for (let d = 3; d <= maxNeed; d++) {
            m = 0;
            const flush = () => {
                this.pF.fill(0, 0, m);
                this.lcAdd(G, m, false);
                for (let i = 0; i < m; i++) if (this.inf[i]) throw new Error("table entry at infinity");
                m = 0;
            };
            for (let b = 0; b < nBases; b++) {
                if (need[b] < d) continue;
                const t0 = tabPtr[b];
                this.pA[m] = t0 + (d - 2) * sz;
                this.pB[m] = t0;
                this.pO[m] = t0 + (d - 1) * sz;
                m++;
                if (m === cap) flush();
            }
            if (m) flush();
        }
    }

    // c doublings of every started accumulator
    lcDoublings(ctx) {
        const { G, acc, started, nG } = ctx;
        const { c } = ctx.tab;
        const sz = G.lc.sz;
        const cap = this.batchCap;
        let m = 0;
        for (let g = 0; g < nG; g++) {
            if (!started[g]) continue;
            this.pA[m++] = acc + g * sz;
            if (m === cap) {
                this.lcDouble(G, m, c);
                ctx.nDbl += m * c;
                m = 0;
            }
        }
        this.lcDouble(G, m, c);
        ctx.nDbl += m * c;
    }

    // The additions of window j, round k holding the k-th addition of each accumulator; an
    // accumulator's first term is a copy.
    lcWindowAdditions(ctx, j) {
        const { G, acc, started, nG } = ctx;
        const sz = G.lc.sz;
        const cap = this.batchCap;
        const { rAcc, rPtr, rNeg, nRounds } = lcRounds(ctx, j);
        for (let k = 0; k < nRounds; k++) {
            let mm = 0;
            const flush = () => {
                this.lcAdd(G, mm, true);
                ctx.nAdd += mm;
                for (let i = 0; i < mm; i++) if (this.inf[i]) started[(this.pA[i] - acc) / sz] = 0;
                mm = 0;
            };
            const base0 = k * nG;
            for (let q = 0; q < ctx.rLen[k]; q++) {
                const g = rAcc[base0 + q];
                const a = acc + g * sz;
                if (!started[g]) {
                    this.lcCopyPoint(G, rPtr[base0 + q], a, rNeg[base0 + q]);
                    started[g] = 1;
                    continue;
                }
                this.pA[mm] = a;
                this.pB[mm] = rPtr[base0 + q];
                this.pF[mm] = rNeg[base0 + q];
                mm++;
                if (mm === cap) flush();
            }
            if (mm) flush();
        }
    }

    // Sum the accumulators of each output (runs of consecutive groups), pairwise; the results in
    // ffjavascript's form.
    lcSums(ctx) {
        const { G, acc, started, nG, gOut } = ctx;
        const sz = G.lc.sz;
        const wsz = G.sz;
        const cap = this.batchCap;
        const runStart = [];
        for (let g = 0; g < nG; g++) if (g === 0 || gOut[g] !== gOut[g - 1]) runStart.push(g);
        runStart.push(nG);
        const nOut = runStart.length - 1;
        for (let step = 1; ; step *= 2) {
            let any = false;
            let mm = 0;
            const flush = () => {
                this.pF.fill(0, 0, mm);
                this.lcAdd(G, mm, true);
                for (let i = 0; i < mm; i++) if (this.inf[i]) started[(this.pA[i] - acc) / sz] = 0;
                mm = 0;
            };
            for (let r = 0; r < nOut; r++) {
                const s0 = runStart[r];
                const s1 = runStart[r + 1];
                if (s1 - s0 <= step) continue;
                any = true;
                for (let g = s0; g + step < s1; g += 2 * step) {
                    const h = g + step;
                    if (!started[h]) continue;
                    if (!started[g]) {
                        this.u8.copyWithin(acc + g * sz, acc + h * sz, acc + (h + 1) * sz);
                        started[g] = 1;
                        continue;
                    }
                    this.pA[mm] = acc + g * sz;
                    this.pB[mm] = acc + h * sz;
                    mm++;
                    if (mm === cap) flush();
                }
            }
            if (mm) flush();
            if (!any) break;
        }
        const outs = new Int32Array(nOut);
        const pts = new Uint8Array(nOut * wsz);
        const wc = this.alloc(wsz);
        for (let r = 0; r < nOut; r++) {
            const g = runStart[r];
            outs[r] = gOut[g];
            if (!started[g]) continue;
            G.lc.toWc(acc + g * sz, wc, 1);
            pts.set(this.u8.subarray(wc, wc + wsz), r * wsz);
        }
        return { outs, pts };
    }
}

/*
 * Accumulators: runs of at most groupSize terms of one output; within each, the terms in
 * decreasing order of their top window, so that a window's pass stops at the first term with
 * nothing left to add (most scalars are small: their digits all sit in window 0).
 */
function lcAccumulators(ctx) {
    const { base, val, out } = ctx.terms;
    const { top, nW } = ctx.tab;
    const { baseZero, groupSize } = ctx;
    const nTerms = base.length;
    const order = sortByOutput(out, nTerms);
    const gStart = [];
    const gOut = [];
    const sorted = new Int32Array(nTerms);
    let nLive = 0;
    let cur = -1;
    let cnt = 0;
    for (let i = 0; i < nTerms; i++) {
        const t = order[i];
        if (baseZero[base[t]]) continue;
        if (out[t] !== cur || cnt === groupSize) {
            gStart.push(nLive);
            gOut.push(out[t]);
            cur = out[t];
            cnt = 0;
        }
        // insertion into the group's run, by decreasing top window
        let p = nLive++;
        const tt = top[val[t]];
        while (p > gStart[gStart.length - 1] && top[val[sorted[p - 1]]] < tt) {
            sorted[p] = sorted[p - 1];
            p--;
        }
        sorted[p] = t;
        cnt++;
    }
    gStart.push(nLive);
    const nG = gOut.length;
    const maxRounds = 2 * groupSize;
    Object.assign(ctx, {
        gStart,
        gOut,
        sorted,
        nG,
        rAcc: new Int32Array(maxRounds * Math.max(1, nG)),
        rPtr: new Int32Array(maxRounds * Math.max(1, nG)),
        rNeg: new Uint8Array(maxRounds * Math.max(1, nG)),
        rLen: new Int32Array(maxRounds),
    });
}

// Window j's additions, by round: round k lists (accumulator, table entry, sign) of the k-th
// non-zero digit of each accumulator.
function lcRounds(ctx, j) {
    const { nG, gStart, sorted, tabPtr, phiPtr, rAcc, rPtr, rNeg, rLen } = ctx;
    const { base, val } = ctx.terms;
    const { nW, digits, top } = ctx.tab;
    const sz = ctx.G.lc.sz;
    rLen.fill(0);
    let nRounds = 0;
    const push = (k, g, ptr, d) => {
        const r = k * nG + rLen[k]++;
        rAcc[r] = g;
        rPtr[r] = ptr + ((d < 0 ? -d : d) - 1) * sz;
        rNeg[r] = d < 0 ? 1 : 0;
    };
    for (let g = 0; g < nG; g++) {
        let k = 0;
        for (let i = gStart[g]; i < gStart[g + 1]; i++) {
            const t = sorted[i];
            if (top[val[t]] < j) break;
            const b = base[t];
            const o = val[t] * 2 * nW + j;
            const d1 = digits[o];
            const d2 = digits[o + nW];
            if (d1 !== 0) push(k++, g, tabPtr[b], d1);
            if (d2 !== 0) push(k++, g, phiPtr[b], d2);
        }
        if (k > nRounds) nRounds = k;
    }
    return { rAcc, rPtr, rNeg, nRounds };
}

// CPU milliseconds of this thread (profiling only; the machine may be shared)
function threadCpuMs() {
    const f = require("fs").readFileSync("/proc/thread-self/stat", "utf8");
    const parts = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(parts[11]) + Number(parts[12])) * 10;
}

// Indices 0..n-1 ordered by out[i], ties in index order.
function sortByOutput(out, n) {
    const keys = new Float64Array(n);
    const SH = 2 ** 22;
    if (n >= SH) throw new Error("too many terms in one job");
    for (let i = 0; i < n; i++) keys[i] = out[i] * SH + i;
    keys.sort();
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = keys[i] % SH;
    return order;
}

module.exports = {
    SCALAR_BITS,
    Q,
    R,
    GLV_LAMBDA,
    GLV_HALF_BITS,
    BETA_G1,
    BETA_G2,
    FORMS,
    DEFAULT_FORM,
    bigToLE,
    leToBig,
    montBytes,
    glvSplit,
    signedDigits,
    windowsFor,
    scalarTable,
    batchWasmPlugin,
    Engine,
    threadCpuMs,
};
