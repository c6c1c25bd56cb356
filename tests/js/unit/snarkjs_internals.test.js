"use strict";
// snarkjs_internals.js refuses any snarkjs (or ffjavascript) but the pinned one, loudly, before
// anything of it is loaded; and the tools stop on it without writing anything.

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { execFileSync } = require("child_process");
const { JS } = require("./helpers.js");
const SJ = require(path.join(JS, "snarkjs_internals.js"));

const ROOT = path.resolve(JS, "..", "..");

test("checkVersion accepts the pin and refuses anything else with a clear message", () => {
    SJ.checkVersion("snarkjs", "0.7.6", "0.7.6");
    for (const installed of ["0.7.5", "0.7.7", "0.8.0", "0.7.6-beta.1", undefined]) {
        assert.throws(
            () => SJ.checkVersion("snarkjs", installed, "0.7.6", "somewhere"),
            (e) =>
                e instanceof SJ.SnarkjsVersionError &&
                e.message.includes("snarkjs 0.7.6") &&
                e.message.includes(JSON.stringify(installed)) &&
                e.message.includes("make install")
        );
    }
    // a range is no pin: npm could install a version these tools were never checked against
    for (const pin of ["^0.7.6", "~0.7.6", "0.7", "latest", undefined]) {
        assert.throws(() => SJ.checkVersion("snarkjs", "0.7.6", pin), /needs an exact pin of snarkjs/);
    }
});

test("the pins come from the project's package.json, and match what is installed", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    const { pins } = SJ.pinnedVersions();
    for (const pkg of SJ.CHECKED_PACKAGES) assert.equal(pins[pkg], manifest.dependencies[pkg]);
    assert.equal(pins.snarkjs, "0.7.6");
    SJ.assertPinnedVersions();
});

function fakeRoot(snarkjsPin, lockedVersion) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zkss-pin-"));
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    manifest.dependencies.snarkjs = snarkjsPin;
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify(manifest));
    if (lockedVersion) {
        const lock = { packages: { "node_modules/snarkjs": { version: lockedVersion } } };
        fs.writeFileSync(path.join(dir, "package-lock.json"), JSON.stringify(lock));
    }
    return dir;
}

test("a package.json and a package-lock.json that disagree are refused", (t) => {
    const dir = fakeRoot("0.7.6", "0.7.5");
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    process.env.ZKSTATESYNC_ROOT = dir;
    try {
        assert.throws(() => SJ.pinnedVersions(), /package.json pins snarkjs 0.7.6 but package-lock.json locks 0.7.5/);
    } finally {
        delete process.env.ZKSTATESYNC_ROOT;
    }
});

test("loading the internals, and the tools, stop on another pin", (t) => {
    const dir = fakeRoot("0.7.5");
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const env = { ...process.env, ZKSTATESYNC_ROOT: dir };
    const run = (args) => {
        try {
            execFileSync(process.execPath, args, { env, stdio: "pipe" });
        } catch (err) {
            return { code: err.status, stderr: err.stderr.toString() };
        }
        return { code: 0, stderr: "" };
    };
    const load = run(["-e", `require(${JSON.stringify(path.join(JS, "snarkjs_internals.js"))}).loadInternals("misc").catch((e) => { console.error(e.message); process.exit(9); })`]);
    assert.equal(load.code, 9);
    assert.match(load.stderr, /works only with snarkjs 0\.7\.5 \(the pinned version\), but snarkjs "0\.7\.6" is installed/);
    const out = path.join(dir, "out.ptau");
    const ptau = run([path.join(JS, "ptau_fast.js"), "3", out, "--quiet"]);
    assert.equal(ptau.code, 1);
    assert.match(ptau.stderr, /^ptau_fast: error: prover\/js uses private modules of snarkjs/);
    assert.ok(!fs.existsSync(out), "nothing written");
    const zkey = run([path.join(JS, "zkey_fast.js"), "new", "a.r1cs", "b.ptau", path.join(dir, "c.zkey"), "--quiet"]);
    assert.equal(zkey.code, 1);
    assert.match(zkey.stderr, /^zkey_fast: error: prover\/js uses private modules of snarkjs/);
});
