"use strict";
/*
 * zkey_worker.js: one worker thread of zkey_fast.js, running bn128_batch.js's Straus/GLV engine
 * on its own instance of the wasm module.
 *
 * Requests (tool_common.js's protocol):
 *   init { module, consts, form }   the engine (form: its point form, bn128_batch.js FORMS)
 *   table { ctx, table }            a scalarTable() the later "lc" jobs of ctx use
 *   forget { ctx }                  drop it, its digits zeroed first (a contribution's 1/delta)
 *   lc { ctx, g, bases, nBases, base, val, out, groupSize } -> { outs, pts }
 *   profile -> { prof }             CPU time and operation counts (ZKEY_FAST_PROFILE=1)
 */

const { isMainThread } = require("worker_threads");
const B = require("./bn128_batch.js");
const { serveRequests, answer } = require("./tool_common.js");

function serve() {
    let eng = null;
    const tables = new Map();
    const prof = process.env.ZKEY_FAST_PROFILE ? {} : null;
    serveRequests({
        init: async (msg) => {
            eng = await B.Engine.create(msg.module, msg.consts, { form: msg.form });
        },
        table: (msg) => {
            tables.set(msg.ctx, msg.table);
        },
        forget: (msg) => {
            const t = tables.get(msg.ctx);
            if (t) t.digits.fill(0);
            tables.delete(msg.ctx);
        },
        lc: (msg) => {
            const G = eng.groups[msg.g];
            const mk = eng.mark();
            const bases = new Uint8Array(msg.bases);
            const p = eng.alloc(bases.length);
            eng.u8.set(bases, p);
            const terms = { base: msg.base, val: msg.val, out: msg.out };
            const res = eng.linearCombinations(G, p, msg.nBases, terms, tables.get(msg.ctx), msg.groupSize, prof);
            eng.release(mk);
            return answer({ outs: res.outs, pts: res.pts }, [res.outs.buffer, res.pts.buffer]);
        },
        profile: () => ({ prof }),
    });
}

if (!isMainThread) serve();
