"use strict";
/*
 * snarkjs_internals.js: the only door from prover/js into snarkjs's private modules and into the
 * internals of the packages snarkjs builds on (ffjavascript's wasm curve, fastfile, binfileutils,
 * noble's blake2b).
 *
 * Why they are used at all: ptau_fast.js and zkey_fast.js must write the very bytes snarkjs
 * writes (keys, transcripts, contribution records, section layouts) and verify with snarkjs's own
 * checks. Calling snarkjs's code for those parts, instead of re-implementing them, is what keeps
 * the outputs identical. But none of it is public API: src/misc.js, src/keypair.js,
 * src/zkey_utils.js, ... may be renamed, reshaped or change behaviour in any release, and the
 * kernels program against ffjavascript's wasm module layout. So the pinned versions are the only
 * ones accepted, loudly: a quiet mismatch could write a file that merely looks right.
 *
 * The pins are read from the project's package.json (the one `npm ci` installed from), cross-
 * checked against its package-lock.json, and compared with the installed packages' package.json.
 */

const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");
const { pathToFileURL } = require("url");

// The packages whose internals are used; each must be installed at exactly its pinned version.
const CHECKED_PACKAGES = ["snarkjs", "ffjavascript"];

// Private modules of snarkjs's src/ that the tools call, by the name the tools use for them.
const SNARKJS_SOURCES = {
    misc: "misc.js",
    keyPair: "keypair.js",
    ptauUtils: "powersoftau_utils.js",
    zkeyUtils: "zkey_utils.js",
    verifyFromInit: "zkey_verify_frominit.js",
};

class SnarkjsVersionError extends Error {}

// Throws unless `installed` is exactly `pinned`: an exact pin is part of the contract, a range
// would let npm pick a version whose internals were never checked against these tools.
function checkVersion(pkg, installed, pinned, where = "") {
    const at = where ? ` (${where})` : "";
    if (typeof pinned !== "string" || !/^[0-9]+\.[0-9]+\.[0-9]+$/.test(pinned)) {
        throw new SnarkjsVersionError(
            `prover/js needs an exact pin of ${pkg} in package.json, found ${JSON.stringify(pinned)}${at}`
        );
    }
    if (installed !== pinned) {
        throw new SnarkjsVersionError(
            `prover/js uses private modules of ${pkg} and works only with ${pkg} ${pinned} (the pinned ` +
                `version), but ${pkg} ${JSON.stringify(installed)} is installed${at}. Its internals may ` +
                "differ in any other version and the keys written could be silently wrong: reinstall the " +
                "pinned toolchain (`make install`, i.e. `npm ci`), or re-check prover/js against the new " +
                "version before changing the pin."
        );
    }
}

// The folder of an installed package: snarkjs as node finds it from here (NODE_PATH included),
// the others as snarkjs's own src/ finds them, so that they are the very copies snarkjs uses.
// (Both packages' CommonJS entry is build/main.cjs, one level below the package root.)
function packageRoot(pkg) {
    let entry;
    try {
        if (pkg === "snarkjs") {
            entry = require.resolve("snarkjs");
        } else {
            entry = createRequire(path.join(packageRoot("snarkjs"), "src", "misc.js")).resolve(pkg);
        }
    } catch (err) {
        throw new SnarkjsVersionError(`${pkg} is not installed (${err.message}); run \`make install\``);
    }
    return path.resolve(path.dirname(entry), "..");
}

// A package's ES module entry, by path: import("name") ignores NODE_PATH, which is how an
// installed zkstatesync finds its node_modules.
function esmEntry(pkg) {
    const root = packageRoot(pkg);
    const manifest = readJson(path.join(root, "package.json"));
    const dot = manifest.exports && manifest.exports["."];
    const rel = (dot && dot.node && dot.node.import) || manifest.module;
    if (!rel) throw new SnarkjsVersionError(`${pkg} has no ES module entry in ${root}/package.json`);
    return pathToFileURL(path.join(root, rel)).href;
}

function readJson(file) {
    return JSON.parse(fs.readFileSync(file, "utf8"));
}

// The package.json the toolchain was installed from: ZKSTATESYNC_ROOT, the checkout (two levels
// up), a wheel's statesync/_data, or the npm project holding the node_modules snarkjs came from.
function findProjectManifest() {
    const candidates = [];
    if (process.env.ZKSTATESYNC_ROOT) candidates.push(path.resolve(process.env.ZKSTATESYNC_ROOT));
    candidates.push(path.resolve(__dirname, "..", ".."));
    candidates.push(path.resolve(__dirname, "..", "..", "statesync", "_data"));
    candidates.push(path.resolve(packageRoot("snarkjs"), "..", ".."));
    for (const dir of candidates) {
        const file = path.join(dir, "package.json");
        if (!fs.existsSync(file)) continue;
        const manifest = readJson(file);
        if (manifest.dependencies && manifest.dependencies.snarkjs) return { dir, manifest };
    }
    throw new SnarkjsVersionError(`no package.json pinning snarkjs found in ${candidates.join(", ")}`);
}

function pinnedVersions() {
    const { dir, manifest } = findProjectManifest();
    const pins = {};
    const lockFile = path.join(dir, "package-lock.json");
    const lock = fs.existsSync(lockFile) ? readJson(lockFile) : null;
    for (const pkg of CHECKED_PACKAGES) {
        pins[pkg] = manifest.dependencies[pkg];
        const locked = lock && lock.packages && lock.packages[`node_modules/${pkg}`];
        if (locked && locked.version !== pins[pkg]) {
            throw new SnarkjsVersionError(
                `${dir}: package.json pins ${pkg} ${pins[pkg]} but package-lock.json locks ${locked.version}`
            );
        }
    }
    return { pins, where: path.join(dir, "package.json") };
}

let checked = false;

// Every checked package installed at its pin, or a SnarkjsVersionError saying what to do.
function assertPinnedVersions() {
    if (checked) return;
    const { pins, where } = pinnedVersions();
    for (const pkg of CHECKED_PACKAGES) {
        const meta = path.join(packageRoot(pkg), "package.json");
        checkVersion(pkg, readJson(meta).version, pins[pkg], `${meta} against ${where}`);
    }
    checked = true;
}

/*
 * The modules the tools use: any of the names of SNARKJS_SOURCES, plus
 *   ffjs          ffjavascript (the copy and the ES module snarkjs's src imports)
 *   blake2b       @noble/hashes' blake2b, the very copy snarkjs resolves (misc.toPartialHash
 *                 reads its internal state)
 *   fastFile      fastfile (in-memory files for snarkjs's writers)
 *   binFileUtils  @iden3/binfileutils
 * Only the requested snarkjs sources are imported (each pulls in more of snarkjs).
 */
async function loadInternals(...names) {
    assertPinnedVersions();
    const src = path.join(packageRoot("snarkjs"), "src");
    const fromSnarkjs = createRequire(path.join(src, "misc.js"));
    const M = {};
    await Promise.all(
        names.map(async (name) => {
            if (SNARKJS_SOURCES[name]) {
                const mod = await import(pathToFileURL(path.join(src, SNARKJS_SOURCES[name])).href);
                M[name] = name === "verifyFromInit" ? mod.default : mod;
            } else if (name === "ffjs") {
                M.ffjs = await import(esmEntry("ffjavascript"));
            } else if (name === "blake2b") {
                M.blake2b = fromSnarkjs("@noble/hashes/blake2b").blake2b;
            } else if (name === "fastFile") {
                M.fastFile = fromSnarkjs("fastfile");
            } else if (name === "binFileUtils") {
                M.binFileUtils = fromSnarkjs("@iden3/binfileutils");
            } else {
                throw new Error(`snarkjs_internals: unknown module ${name}`);
            }
        })
    );
    return M;
}

/*
 * ffjavascript's bn128 (single-threaded) with the kernels of `plugin` added to its wasm module,
 * and what a worker needs to run its own instance of that module: the compiled module and the
 * addresses of the generators in it.
 */
async function buildCurve(ffjs, plugin) {
    const curve = await ffjs.buildBn128(true, plugin);
    const wasmModule = await WebAssembly.compile(curve.tm.code);
    return { curve, wasmModule, consts: { pG1gen: curve.tm.pG1gen, pG2gen: curve.tm.pG2gen } };
}

// What one of snarkjs's writers writes to a file descriptor, captured in memory.
async function memBytes(fastFile, fn) {
    const o = { type: "mem" };
    const fd = await fastFile.createOverride(o);
    await fn(fd);
    await fd.close(); // trims o.data to what was written
    return new Uint8Array(o.data);
}

module.exports = {
    CHECKED_PACKAGES,
    SnarkjsVersionError,
    checkVersion,
    pinnedVersions,
    assertPinnedVersions,
    loadInternals,
    buildCurve,
    memBytes,
};
