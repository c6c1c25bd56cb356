"use strict";
/*
 * tool_common.js: what ptau_fast.js and zkey_fast.js share as command-line tools: the option
 * parser, the run-main wrapper (exit codes, temporary files, signals), and the worker pool with
 * its request protocol on both sides.
 *
 * The command-line contract (options, messages, exit codes 0 / 1 / 2) is what prover/ptau.py and
 * prover/zkey.py rely on; it lives here once so the two tools cannot drift apart.
 */

const fs = require("fs");
const os = require("os");
const path = require("path");
const crypto = require("crypto");
const { Worker, parentPort } = require("worker_threads");

class UsageError extends Error {}

const HELP = "help requested";

/*
 * argv -> { positional, opts }. spec.values maps "--option" to the key of an option taking a value
 * (`--option value` or `--option=value`); spec.flags maps exact tokens to boolean keys. Anything
 * else starting with "--" is an error; other tokens are positional. -h / --help throws
 * UsageError(HELP) where it appears, so an earlier error still wins.
 */
function parseOptions(argv, spec, defaults) {
    const positional = [];
    const opts = { ...defaults };
    for (let i = 0; i < argv.length; i++) {
        let a = argv[i];
        if (a === "-h" || a === "--help") throw new UsageError(HELP);
        if (Object.prototype.hasOwnProperty.call(spec.flags, a)) {
            opts[spec.flags[a]] = true;
            continue;
        }
        if (!a.startsWith("--")) {
            positional.push(a);
            continue;
        }
        let value;
        const eq = a.indexOf("=");
        if (eq >= 0) {
            value = a.slice(eq + 1);
            a = a.slice(0, eq);
        }
        const key = Object.prototype.hasOwnProperty.call(spec.values, a) ? spec.values[a] : null;
        if (!key) throw new UsageError(`unknown option ${a}`);
        if (value === undefined) {
            if (i + 1 >= argv.length) throw new UsageError(`option ${a} needs a value`);
            value = argv[++i];
        }
        opts[key] = value;
    }
    return { positional, opts };
}

// A decimal option in lo..hi, or null when absent.
function intOption(v, what, lo, hi) {
    if (v === null) return null;
    if (!/^[0-9]+$/.test(String(v))) throw new UsageError(`${what} must be an integer, got ${JSON.stringify(v)}`);
    const x = Number(v);
    if (x < lo || x > hi) throw new UsageError(`${what} must be in ${lo}..${hi}, got ${x}`);
    return x;
}

// The parent directory of an output must exist and the output must not be a directory.
function checkOutputPath(p) {
    const dir = path.dirname(p);
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`output directory ${dir} does not exist`);
    if (fs.existsSync(p) && fs.statSync(p).isDirectory()) throw new UsageError(`${p} is a directory`);
}

function defaultThreads() {
    const cores = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
    return Math.max(1, Math.min(16, cores));
}

function tmpNameFor(target) {
    const dir = path.dirname(target);
    return path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${crypto.randomBytes(4).toString("hex")}`);
}

/*
 * Temporary files that must not outlive the process, whatever ends it: outputs are written to a
 * temporary name beside the target and renamed when complete, so a target is absent or whole.
 */
class TempFiles {
    constructor(tool) {
        this.files = [];
        this.cleanup = () => {
            for (const f of this.files) {
                try {
                    fs.unlinkSync(f);
                } catch (_) {
                    /* already gone */
                }
            }
        };
        const onSignal = (sig) => {
            this.cleanup();
            process.stderr.write(`${tool}: interrupted (${sig})\n`);
            process.exit(sig === "SIGINT" ? 130 : 143);
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
        process.on("exit", this.cleanup);
    }

    add(target) {
        const tmp = tmpNameFor(target);
        this.files.push(tmp);
        return tmp;
    }

    done(tmp) {
        const i = this.files.indexOf(tmp);
        if (i >= 0) this.files.splice(i, 1);
    }
}

// A TempFiles, or a plain array of names standing for one (what a library caller may pass).
function asTempFiles(temps) {
    if (temps instanceof TempFiles) return temps;
    return {
        files: temps,
        add: (target) => {
            const tmp = tmpNameFor(target);
            temps.push(tmp);
            return tmp;
        },
        done: (tmp) => {
            const i = temps.indexOf(tmp);
            if (i >= 0) temps.splice(i, 1);
        },
    };
}

// Write parts (Buffers / Uint8Arrays) to target through a temporary file in its directory.
function writeFileAtomically(target, parts, temps) {
    const tmp = temps.add(target);
    const fd = fs.openSync(tmp, "wx", 0o644);
    try {
        for (const p of parts) {
            let done = 0;
            while (done < p.length) done += fs.writeSync(fd, p, done, p.length - done);
        }
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
    temps.done(tmp);
}

/*
 * The tools' entry point: parse (a UsageError is exit 2 with the usage on stderr, or the usage on
 * stdout for --help), then run; the code run returns is the exit code, an exception is exit 1.
 * A version mismatch of snarkjs is reported as its message alone: the stack would bury it.
 */
function runMain({ tool, usage, parse, run }) {
    const go = async () => {
        let parsed;
        try {
            parsed = parse(process.argv.slice(2));
        } catch (err) {
            if (!(err instanceof UsageError)) throw err;
            if (err.message === HELP) {
                process.stdout.write(usage + "\n");
                return 0;
            }
            process.stderr.write(`${tool}: error: ${err.message}\n${usage}\n`);
            return 2;
        }
        // progress output is best effort: a closed stderr (`| head`) must not kill the run
        process.stderr.on("error", () => {});
        return run(parsed, new TempFiles(tool));
    };
    go().then(
        (code) => process.exit(code),
        (err) => {
            const { SnarkjsVersionError } = require("./snarkjs_internals.js");
            const text = err instanceof SnarkjsVersionError ? err.message : err && err.stack ? err.stack : err;
            process.stderr.write(`${tool}: error: ${text}\n`);
            process.exit(1);
        }
    );
}

// `[tool 1.2s] message` on stderr unless quiet.
function makeLog(prefix, quiet) {
    const t0 = Date.now();
    return (s) => {
        if (!quiet) process.stderr.write(`[${prefix} ${((Date.now() - t0) / 1000).toFixed(1)}s] ${s}\n`);
    };
}

/* ------------------------------------------------------------------------------------------ */
/* worker pool                                                                                */
/* ------------------------------------------------------------------------------------------ */

/*
 * Worker threads running `script`, which answers through serveRequests(). A message with an id
 * is a request and gets exactly one answer carrying that id; a message without one gets none.
 * Messages to one worker are handled in order, so a request sent after a post sees its effect.
 * Any worker's error or unexpected exit fails the whole pool: every pending request, and
 * failPromise, reject with it (a setup half done is of no use).
 */
class WorkerPool {
    constructor(script, n, { maxJobsPerWorker = 2 } = {}) {
        this.workers = [];
        this.pending = new Map(); // id -> { resolve, reject, job: worker index of a run() job }
        this.queue = [];
        this.jobs = new Array(n).fill(0);
        this.maxJobs = maxJobsPerWorker;
        this.nextId = 0;
        this.failed = null;
        this.closing = false;
        let rejectFail;
        this.failPromise = new Promise((_, rej) => {
            rejectFail = rej;
        });
        this.failPromise.catch(() => {});
        this.fail = (err) => {
            if (this.failed) return;
            this.failed = err;
            rejectFail(err);
            for (const { reject } of this.pending.values()) reject(err);
            this.pending.clear();
            for (const { reject } of this.queue.splice(0)) reject(err);
            // a failed pool is of no use: its threads (and the memory they hold) go now
            this.close();
        };
        for (let i = 0; i < n; i++) this.workers.push(this.spawn(script, i));
    }

    get size() {
        return this.workers.length;
    }

    spawn(script, i) {
        const wk = new Worker(script);
        wk.on("error", (e) => this.fail(e));
        wk.on("exit", (code) => {
            // any exit but close()'s, a clean one included: its pending requests would never be answered
            if (!this.closing) this.fail(new Error(`worker ${i} exited with code ${code}`));
        });
        wk.on("message", (msg) => {
            if (msg.cmd === "error") {
                this.fail(new Error(`worker ${i}: ${msg.message}`));
                return;
            }
            const p = this.pending.get(msg.id);
            if (!p) return;
            this.pending.delete(msg.id);
            if (p.job !== undefined) {
                this.jobs[p.job]--;
                this.dispatch();
            }
            p.resolve(msg);
        });
        return wk;
    }

    // A message without answer to worker i (transfer: the ArrayBuffers to move, not copy).
    post(i, msg, transfer) {
        this.workers[i].postMessage(msg, transfer || []);
    }

    broadcast(msg) {
        for (let i = 0; i < this.workers.length; i++) this.post(i, msg);
    }

    request(i, msg, transfer, job) {
        if (this.failed) return Promise.reject(this.failed);
        const id = this.nextId++;
        return new Promise((resolve, reject) => {
            this.pending.set(id, { resolve, reject, job });
            this.post(i, { ...msg, id }, transfer);
        });
    }

    // Worker i's answer to msg.
    call(i, msg, transfer) {
        return this.request(i, msg, transfer);
    }

    // Every worker's answer to msg, in worker order.
    callAll(msg) {
        return Promise.all(this.workers.map((_, i) => this.call(i, msg)));
    }

    // A job for whichever worker has the fewest in flight (at most maxJobsPerWorker each), queued
    // until one is free: each worker has its next job at hand when it finishes one.
    run(msg, transfer) {
        if (this.failed) return Promise.reject(this.failed);
        return new Promise((resolve, reject) => {
            this.queue.push({ msg, transfer, resolve, reject });
            this.dispatch();
        });
    }

    dispatch() {
        while (this.queue.length && !this.failed) {
            let best = -1;
            for (let i = 0; i < this.workers.length; i++) {
                if (this.jobs[i] < this.maxJobs && (best < 0 || this.jobs[i] < this.jobs[best])) best = i;
            }
            if (best < 0) return;
            const { msg, transfer, resolve, reject } = this.queue.shift();
            this.jobs[best]++;
            this.request(best, msg, transfer, best).then(resolve, reject);
        }
    }

    close() {
        if (!this.closed) {
            this.closing = true;
            if (!this.failed) this.fail(new Error("the worker pool was closed"));
            this.closed = Promise.all(this.workers.map((w) => w.terminate())).then(() => {});
        }
        return this.closed;
    }
}

/*
 * The worker side: handlers[cmd](msg) runs for each message, one at a time, in arrival order; what
 * a handler returns for a request is its answer, given as answer(fields, transfer) or a plain
 * object. A handler's exception is reported as { cmd: "error" } and fails the pool.
 */
class Answer {
    constructor(fields, transfer) {
        this.fields = fields;
        this.transfer = transfer || [];
    }
}

function answer(fields, transfer) {
    return new Answer(fields, transfer);
}

function serveRequests(handlers) {
    let chain = Promise.resolve();
    parentPort.on("message", (msg) => {
        chain = chain.then(async () => {
            try {
                const handler = handlers[msg.cmd];
                if (!handler) throw new Error(`unknown command ${JSON.stringify(msg.cmd)}`);
                const out = await handler(msg);
                if (msg.id === undefined) return;
                const { fields, transfer } = out instanceof Answer ? out : answer(out || {});
                parentPort.postMessage({ ...fields, id: msg.id }, transfer);
            } catch (err) {
                parentPort.postMessage({ cmd: "error", message: err && err.stack ? err.stack : String(err) });
            }
        });
    });
}

module.exports = {
    UsageError,
    parseOptions,
    intOption,
    checkOutputPath,
    defaultThreads,
    tmpNameFor,
    TempFiles,
    asTempFiles,
    writeFileAtomically,
    runMain,
    makeLog,
    WorkerPool,
    answer,
    serveRequests,
};
