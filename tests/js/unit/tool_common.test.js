"use strict";
// tool_common.js: the option parser both tools share, and the worker pool's protocol.

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("path");
const { JS } = require("./helpers.js");
const T = require(path.join(JS, "tool_common.js"));

const SPEC = { values: { "--name": "name", "--threads": "threads" }, flags: { "--quiet": "quiet", "-q": "quiet" } };
const parse = (argv) => T.parseOptions(argv, SPEC, { name: null, threads: null, quiet: false });

test("parseOptions: values, flags, positionals, and the errors", () => {
    assert.deepEqual(parse(["a", "--name", "x y", "-q", "b", "--threads=3"]), {
        positional: ["a", "b"],
        opts: { name: "x y", threads: "3", quiet: true },
    });
    assert.deepEqual(parse(["--name=", "-x"]).opts.name, "");
    assert.deepEqual(parse(["--name", "--quiet"]).opts, { name: "--quiet", threads: null, quiet: false });
    assert.deepEqual(parse(["-x"]).positional, ["-x"]);
    const usage = (argv, message) => assert.throws(() => parse(argv), (e) => e instanceof T.UsageError && e.message === message);
    usage(["--bogus"], "unknown option --bogus");
    usage(["--quiet=1"], "unknown option --quiet");
    usage(["--name"], "option --name needs a value");
    usage(["--help", "--bogus"], "help requested");
    usage(["--bogus", "-h"], "unknown option --bogus");
});

test("intOption: decimal integers in range, or null", () => {
    assert.equal(T.intOption(null, "--n", 1, 4), null);
    assert.equal(T.intOption("4", "--n", 1, 4), 4);
    assert.throws(() => T.intOption("5", "--n", 1, 4), /--n must be in 1..4, got 5/);
    assert.throws(() => T.intOption("0x3", "--n", 1, 4), /--n must be an integer, got "0x3"/);
    assert.throws(() => T.intOption("-1", "--n", 1, 4), /must be an integer/);
});

const ECHO = path.join(__dirname, "fixtures", "echo_worker.js");

test("WorkerPool: requests, posts in order, jobs spread over the workers, transfers", async () => {
    const pool = new T.WorkerPool(ECHO, 3);
    try {
        pool.broadcast({ cmd: "set", value: 5 });
        pool.post(1, { cmd: "set", value: 9 });
        assert.deepEqual((await pool.callAll({ cmd: "get" })).map((m) => m.state), [5, 9, 5]);
        const jobs = Array.from({ length: 20 }, (_, x) => pool.run({ cmd: "square", x, delay: 5 }));
        const res = await Promise.all(jobs);
        assert.deepEqual(res.map((m) => new Float64Array(m.y)[0]), Array.from({ length: 20 }, (_, x) => x * x));
        assert.equal(new Set(res.map((m) => m.thread)).size, 3, "every worker got jobs");
        assert.ok(pool.jobs.every((n) => n === 0));
    } finally {
        await pool.close();
    }
});

test("WorkerPool: a worker's error or exit fails every pending request and later ones", async () => {
    for (const cmd of ["fail", "exit"]) {
        const pool = new T.WorkerPool(ECHO, 2);
        try {
            const bad = pool.call(1, { cmd });
            const slow = pool.run({ cmd: "square", x: 2, delay: 500 });
            const queued = [pool.run({ cmd: "square", x: 3, delay: 500 }), pool.run({ cmd: "square", x: 4 }), pool.run({ cmd: "square", x: 5 })];
            const want = cmd === "fail" ? /worker 1: Error: failing on purpose/ : /worker 1 exited with code 7/;
            await assert.rejects(bad.then(() => pool.failPromise), want);
            for (const p of [slow, ...queued]) await assert.rejects(p, want);
            await assert.rejects(pool.run({ cmd: "get" }), want);
            await assert.rejects(pool.failPromise, want);
        } finally {
            await pool.close();
        }
    }
});
