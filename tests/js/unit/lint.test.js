"use strict";
/*
 * The JS lint of prover/js and tests/js (no dependency beyond node): every file parses
 * (`node --check`), is strict mode, has no tabs or trailing blanks, and only
 * snarkjs_internals.js reaches into snarkjs's or its dependencies' internals.
 */

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");

const ROOT = path.resolve(__dirname, "..", "..", "..");
const DIRS = ["prover/js", "tests/js"];
const ADAPTER = "prover/js/snarkjs_internals.js";
// ways into a package's private files; only the adapter may use them
const INTERNALS = [/createRequire/, /pathToFileURL/, /snarkjs[/\\]src/, /\.tm\.(code|pG[12]gen)/, /import\(\s*["']ffjavascript/];

function jsFiles(dir) {
    const out = [];
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
        const rel = path.posix.join(dir, e.name);
        if (e.isDirectory()) out.push(...jsFiles(rel));
        else if (/\.(c|m)?js$/.test(e.name)) out.push(rel);
    }
    return out.sort();
}

const FILES = DIRS.flatMap(jsFiles);

test("there are files to lint", () => {
    assert.ok(FILES.includes(ADAPTER) && FILES.includes("prover/js/zkey_fast.js"));
});

for (const rel of FILES) {
    test(`lint ${rel}`, () => {
        const file = path.join(ROOT, rel);
        execFileSync(process.execPath, ["--check", file], { stdio: "pipe" });
        const text = fs.readFileSync(file, "utf8");
        // "use strict" first, after at most a #! line and the header comments
        assert.match(text, /^(#![^\n]*\n)?(\s*(\/\/[^\n]*|\/\*[\s\S]*?\*\/)\n)*"use strict";/, "strict mode");
        text.split("\n").forEach((line, i) => {
            assert.ok(!/\t/.test(line), `${rel}:${i + 1}: tab`);
            assert.ok(!/[ \t]+$/.test(line), `${rel}:${i + 1}: trailing blank`);
        });
        if (rel !== ADAPTER && !rel.startsWith("tests/")) {
            const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, ""); // comments may name them
            for (const re of INTERNALS) assert.ok(!re.test(code), `${rel} uses ${re}: go through ${ADAPTER}`);
        }
    });
}
