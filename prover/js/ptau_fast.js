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
 * inversion. That work runs in worker threads (ptau_worker.js), each with its own instance of the
 * wasm module that ffjavascript/snarkjs use (wasmcurves' bn128, with the kernels of bn128_batch.js
 * added through buildBn128's plugin hook), so the arithmetic and the encodings (Montgomery form,
 * little endian, uncompressed affine) are snarkjs's own. Files are written to a temporary name in
 * the output directory and renamed when complete.
 *
 * The single contribution record (section 7) is made with snarkjs's own code (reached through
 * snarkjs_internals.js): createPTauKey from src/keypair.js on the proper first challenge hash, the
 * response hash over the compressed points (kept as snarkjs's partial hash), the next challenge
 * hash over the uncompressed points, and writePTauHeader / writeContributions from
 * src/powersoftau_utils.js. `snarkjs powersoftau verify` therefore sees exactly what it would see
 * after `contribute` + `prepare phase2`.
 *
 * Exit codes: 0 success, 1 failure, 2 bad arguments. Progress goes to stderr
 * (PTAU_FAST_PROFILE=1 adds per-worker CPU time by kind of point).
 */
"use strict";

const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const B = require("./bn128_batch.js");
const SJ = require("./snarkjs_internals.js");
const T = require("./tool_common.js");
const { windowsFor, tableShape } = require("./ptau_worker.js");

const MIN_POWER = 1;
const MAX_POWER = 27; // see parseArgs: 28 would need snarkjs's coset extension for 2^29 points
const SNARKJS_MAX_POWER = 28;
const MAX_NAME = 64;
const DEFAULT_CHUNK = 8192;
const MAX_TABLE_BYTES = 128 * 1024 * 1024; // per group and per worker (larger gains nothing)
const N8R = 32;
const WORKER = path.join(__dirname, "ptau_worker.js");

const USAGE =
    "usage: node ptau_fast.js <power> <out.ptau> [--name NAME] [--unprepared PATH]\n" +
    "                         [--threads N] [--chunk N] [--window-g1 W] [--window-g2 W] [--quiet]\n" +
    `  power: integer ${MIN_POWER}..${MAX_POWER} (the file supports circuits up to 2^power constraints)\n` +
    "  --name NAME        contribution name (printable ASCII, at most 64 characters)\n" +
    "  --unprepared PATH  also write the same ceremony without sections 12..15 (what\n" +
    "                     `powersoftau prepare phase2` takes as input)\n" +
    "  --threads N        worker threads (default: available cores)\n" +
    "  --chunk N, --window-g1 W, --window-g2 W   tuning / testing knobs";

/* ------------------------------------------------------------------------------------------ */
/* command line                                                                               */
/* ------------------------------------------------------------------------------------------ */

const OPTIONS = {
    values: {
        "--name": "name",
        "--unprepared": "unprepared",
        "--threads": "threads",
        "--chunk": "chunk",
        "--window-g1": "windowG1",
        "--window-g2": "windowG2",
    },
    flags: { "--quiet": "quiet", "-q": "quiet" },
};

function parsePower(powerStr) {
    if (!/^[0-9]+$/.test(powerStr)) throw new T.UsageError(`power must be an integer, got ${JSON.stringify(powerStr)}`);
    const power = Number(powerStr);
    if (power === SNARKJS_MAX_POWER) {
        throw new T.UsageError(
            `power ${power} is not supported: its 2^${power + 1} tauG1 Lagrange block needs snarkjs's ` +
                `coset extension, which ptau_fast does not implement (and the file would be ~310 GB)`
        );
    }
    if (power < MIN_POWER || power > MAX_POWER) {
        throw new T.UsageError(`power must be in ${MIN_POWER}..${MAX_POWER}, got ${power}`);
    }
    return power;
}

function parseArgs(argv) {
    const defaults = {
        name: "ptau_fast local single-party setup",
        unprepared: null,
        threads: null,
        chunk: DEFAULT_CHUNK,
        windowG1: null,
        windowG2: null,
        quiet: false,
    };
    const { positional: pos, opts } = T.parseOptions(argv, OPTIONS, defaults);
    if (pos.length !== 2) throw new T.UsageError(`expected 2 arguments (power, output file), got ${pos.length}`);
    const [powerStr, out] = pos;
    const power = parsePower(powerStr);
    if (!out) throw new T.UsageError("output path is empty");
    const name = String(opts.name);
    if (name.length < 1 || name.length > MAX_NAME || !/^[\x20-\x7e]+$/.test(name)) {
        throw new T.UsageError(`--name must be 1..${MAX_NAME} printable ASCII characters`);
    }
    const res = {
        power,
        out: path.resolve(out),
        name,
        unprepared: opts.unprepared ? path.resolve(opts.unprepared) : null,
        threads: T.intOption(opts.threads, "--threads", 1, 64),
        chunk: T.intOption(opts.chunk, "--chunk", 1, 1 << 16),
        windowG1: T.intOption(opts.windowG1, "--window-g1", 3, 20),
        windowG2: T.intOption(opts.windowG2, "--window-g2", 3, 20),
        quiet: opts.quiet,
    };
    for (const [g, w] of [[1, res.windowG1], [2, res.windowG2]]) {
        if (w !== null && tableShape(g, w).bytes > MAX_TABLE_BYTES) {
            throw new T.UsageError(`window ${w} makes the G${g} table larger than ${MAX_TABLE_BYTES >> 20} MB`);
        }
    }
    if (res.unprepared && res.unprepared === res.out) {
        throw new T.UsageError("--unprepared must differ from the output path");
    }
    for (const p of [res.out, res.unprepared]) if (p) T.checkOutputPath(p);
    return res;
}

/* ------------------------------------------------------------------------------------------ */
/* helpers                                                                                    */
/* ------------------------------------------------------------------------------------------ */

// The window width that minimises the additions per point plus the table entries.
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

function fmtMB(bytes) {
    return `${(bytes / 1048576).toFixed(1)} MB`;
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

/* ------------------------------------------------------------------------------------------ */
/* the ceremony                                                                               */
/* ------------------------------------------------------------------------------------------ */

// Each worker builds some windows of each table (no secret needed): [{ g, k0, k1, owner }].
function tableParts(windows, threads) {
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
    return parts;
}

// Every worker gets the parts it did not build; the last copy of each is moved, not copied.
function shareTableParts(pool, parts, built) {
    parts.forEach((p, i) => {
        const buf = built[i].buf;
        const others = pool.workers.map((_, j) => j).filter((j) => j !== p.owner);
        others.forEach((j, n) => {
            const last = n === others.length - 1;
            pool.post(j, { cmd: "setTablePart", g: p.g, k0: p.k0, k1: p.k1, buf }, last ? [buf] : []);
        });
    });
}

// snarkjs's own key (contribute -e): ChaCha seeded from crypto random bytes and an entropy
// string, here itself drawn from the CSPRNG; redrawn in the (negligible) unusable cases.
async function drawKey(M, curve, challenge, power) {
    const Fr = curve.Fr;
    for (let attempt = 0; attempt <= 8; attempt++) {
        const rng = await M.misc.getRandomRng(crypto.randomBytes(32).toString("hex"));
        const key = M.keyPair.createPTauKey(curve, challenge, rng);
        const { tau, alpha, beta } = key;
        // tau must not be one of the roots of unity the Lagrange sections are built on
        const rootOfUnity = Fr.eq(Fr.exp(tau.prvKey, 2 ** (power + 1)), Fr.one);
        if (!rootOfUnity && ![tau, alpha, beta].some((k) => Fr.isZero(k.prvKey))) return key;
    }
    throw new Error("could not draw a usable key");
}

function sendSecrets(pool, key) {
    for (let i = 0; i < pool.size; i++) {
        const buf = new Uint8Array(3 * N8R);
        buf.set(key.tau.prvKey, 0);
        buf.set(key.alpha.prvKey, N8R);
        buf.set(key.beta.prvKey, 2 * N8R);
        pool.post(i, { cmd: "secrets", buf: buf.buffer }, [buf.buffer]); // moved, not copied
    }
}

// Where every section goes. Section 7's size is that of a record with the same name and key.
async function fileLayout(M, curve, power, key, name) {
    const N = 2 ** power;
    const template = {
        name,
        type: 0,
        key,
        tauG1: curve.G1.g,
        tauG2: curve.G2.g,
        alphaG1: curve.G1.g,
        betaG1: curve.G1.g,
        betaG2: curve.G2.g,
        partialHash: new Uint8Array(216),
        nextChallenge: new Uint8Array(64),
    };
    const headerBytes = await SJ.memBytes(M.fastFile, (fd) => M.ptauUtils.writePTauHeader(fd, curve, power));
    const sec7Len = (await SJ.memBytes(M.fastFile, (fd) => M.ptauUtils.writeContributions(fd, curve, [template]))).length;
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
    return { headerBytes, sec7Len, sizes, order, dataStart, totalSize: off };
}

// The jobs, sections 2..6 first in file order (they feed the response and next-challenge
// hashes, in that order: job.seq), then the Lagrange sections.
function buildJobs(power, chunk, dataStart) {
    const N = 2 ** power;
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
    return { jobs, nHashJobs };
}

// The output file, sized and with its preamble and section headers written.
function openOutput(temps, target, layout) {
    const tmp = temps.add(target);
    const fd = fs.openSync(tmp, "wx", 0o644);
    fs.ftruncateSync(fd, layout.totalSize);
    const writeAt = (buf, pos) => {
        let done = 0;
        while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, pos + done);
    };
    writeAt(binPreamble(11), 0);
    writeAt(Buffer.from(layout.headerBytes), 12);
    for (const s of layout.order) {
        const h = Buffer.alloc(12);
        h.writeUInt32LE(s, 0);
        h.writeBigUInt64LE(BigInt(layout.sizes[s]), 4);
        writeAt(h, layout.dataStart[s] - 12);
    }
    return { tmp, fd, writeAt };
}

/*
 * Run every job; points go to the file as they come. The response hash takes the compressed
 * points in file order (out-of-order results wait in pendingC); the uncompressed ones are kept for
 * the next-challenge hash; points 0 and 1 of sections 2..6 go into the contribution record.
 */
async function runJobs(pool, plan, curve, challenge, M, out, log) {
    const { jobs, nHashJobs } = plan;
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
    const onResult = (j, msg) => {
        const lem = Buffer.from(msg.lem);
        out.writeAt(lem, j.pos);
        if (j.hash) {
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
        if (Date.now() - lastLog > 2000) {
            lastLog = Date.now();
            log(`points ${((100 * doneWork) / totalWork).toFixed(0)}%`);
        }
    };
    await Promise.all(
        jobs.map((j) => {
            const { g, kind, p, start, n, mult, special, hash } = j;
            const msg = { cmd: "job", g, kind, p, start, n, mult, special, hash };
            return pool.run(msg).then((res) => onResult(j, res));
        })
    );
    if (nextC !== nHashJobs) throw new Error("internal error: response hash incomplete");
    log("points 100%");
    return { responseHasher, uChunks, firstPoints };
}

// The workers forget the secrets (and report their profiles, if asked for).
async function wipeWorkers(pool, log) {
    const wiped = await pool.callAll({ cmd: "wipe" });
    for (const [i, m] of wiped.entries()) {
        for (const [k, e] of Object.entries(m.prof || {})) {
            log(
                `profile worker ${i} ${k}: ${e.n} points, scalars ${(e.scal / 1000).toFixed(2)} s, ` +
                    `mul ${(e.mul / 1000).toFixed(2)} s (${((1000 * e.mul) / e.n).toFixed(1)} us/point), ` +
                    `out ${(e.rest / 1000).toFixed(2)} s`
            );
        }
    }
}

// Section 7: the contribution record, with the response and next-challenge hashes completed.
async function contributionSection(M, curve, key, name, hashes) {
    const { responseHasher, uChunks, firstPoints } = hashes;
    const contribution = {
        name,
        type: 0,
        key,
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
    return SJ.memBytes(M.fastFile, (f) => M.ptauUtils.writeContributions(f, curve, [contribution]));
}

// The same ceremony without sections 12..15: the file cut after section 7, 7 sections.
function writeUnprepared(temps, src, target, end7) {
    const tmpU = temps.add(target);
    fs.copyFileSync(src, tmpU);
    fs.truncateSync(tmpU, end7);
    const fdu = fs.openSync(tmpU, "r+");
    fs.writeSync(fdu, binPreamble(7), 0, 12, 0);
    fs.fsyncSync(fdu);
    fs.closeSync(fdu);
    fs.renameSync(tmpU, target);
    temps.done(tmpU);
}

async function generate(opts, log, temps) {
    const N = 2 ** opts.power;
    const threads = opts.threads || T.defaultThreads();
    const nG1 = 2 * N - 1 + N + N + (4 * N - 1) + 2 * (2 * N - 1);
    const nG2 = N + 1 + (2 * N - 1);
    const windows = {
        1: opts.windowG1 || chooseWindow(nG1, 64, threads),
        2: opts.windowG2 || chooseWindow(nG2, 128, threads),
    };
    // started first, so that their start-up overlaps the main thread's own
    const pool = new T.WorkerPool(WORKER, threads);
    try {
        await ceremony(pool, { opts, log, temps, threads, windows, nG1, nG2 });
    } finally {
        await pool.close();
    }
}

async function ceremony(pool, ctx) {
    const { opts, log, temps, threads, windows } = ctx;
    const { power, chunk } = opts;
    const M = await SJ.loadInternals("keyPair", "ptauUtils", "misc", "ffjs", "blake2b", "fastFile");
    const { curve, wasmModule, consts } = await SJ.buildCurve(M.ffjs, B.batchWasmPlugin);
    const roots = new Uint8Array((power + 2) * N8R);
    for (let p = 0; p <= power + 1; p++) roots.set(curve.Fr.w[p], p * N8R);
    const init = { cmd: "init", module: wasmModule, ...consts, chunk, windows };
    for (let i = 0; i < threads; i++) pool.post(i, { ...init, roots: roots.buffer.slice(0) });
    const parts = tableParts(windows, threads);
    const tablesBuilt = Promise.all(parts.map((p) => pool.call(p.owner, { cmd: "buildTable", g: p.g, k0: p.k0, k1: p.k1 })));
    tablesBuilt.catch(() => {}); // awaited below; a failure meanwhile must not go unhandled

    const challenge = firstChallengeHash(curve, power);
    const key = await drawKey(M, curve, challenge, power);
    sendSecrets(pool, key);
    const layout = await fileLayout(M, curve, power, key, opts.name);
    log(
        `power ${power}: ${ctx.nG1} G1 + ${ctx.nG2} G2 points, file ${fmtMB(layout.totalSize)}, ${threads} threads, ` +
            `windows G1 ${windows[1]} bits / G2 ${windows[2]} bits`
    );
    const plan = buildJobs(power, chunk, layout.dataStart);

    shareTableParts(pool, parts, await tablesBuilt);
    log("tables ready");

    const out = openOutput(temps, opts.out, layout);
    const hashes = await runJobs(pool, plan, curve, challenge, M, out, log);
    await wipeWorkers(pool, log);
    await pool.close();

    const sec7 = await contributionSection(M, curve, key, opts.name, hashes);
    if (sec7.length !== layout.sec7Len) throw new Error("internal error: contribution section size changed");
    out.writeAt(Buffer.from(sec7), layout.dataStart[7] - 12);
    fs.fsyncSync(out.fd);
    fs.closeSync(out.fd);
    if (opts.unprepared) writeUnprepared(temps, out.tmp, opts.unprepared, layout.dataStart[7] + layout.sizes[7]);
    fs.renameSync(out.tmp, opts.out);
    temps.done(out.tmp);
    log(`wrote ${opts.out} (${fmtMB(layout.totalSize)})`);
}

if (require.main === module) {
    T.runMain({
        tool: "ptau_fast",
        usage: USAGE,
        parse: parseArgs,
        run: async (opts, temps) => {
            const log = T.makeLog("ptau_fast", opts.quiet);
            try {
                await generate(opts, log, temps);
            } catch (err) {
                temps.cleanup();
                throw err;
            }
            return 0;
        },
    });
}

module.exports = { parseArgs, chooseWindow, firstChallengeHash };
