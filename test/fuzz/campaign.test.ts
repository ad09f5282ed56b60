// The bounded fuzz campaign of issue #24, run on every `npm test`: seeded mutants of every format
// nabla reads (safetensors, npy, npz, torch zip and legacy, PNG, JPEG), the fixed hostile inputs
// (deflate and pixel bombs, huge pickles, FIFOs, stride-0 half tensors) and hostile calls of the
// native addon, each loaded in a child process. It fails on any crash, hang (over 5 s), RSS over
// 1 GiB, error that does not name the file, wrong data or file a reference reader rejects but
// nabla loads. The long campaign is `npm run fuzz` (test/fuzz/cli.ts); FUZZ_COUNT=n changes the
// mutants per format here, FUZZ_SEED=n the seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFailures, formatTable, runCampaign } from './lib/runner.js';

const COUNT = Number(process.env.FUZZ_COUNT ?? 80);
const SEED = Number(process.env.FUZZ_SEED ?? 20240);

const NAME = `fuzz campaign: ${COUNT} mutants per format, fixed hostile inputs, addon calls (seed ${SEED})`;

test(NAME, { timeout: 170_000 }, async () => {
  const rep = await runCampaign({ seed: SEED, count: COUNT, addonCount: 2 * COUNT, bounded: true, jobs: 2 });
  const table = formatTable(rep);
  if (process.env.FUZZ_VERBOSE) console.log(`${table}\n${rep.seconds.toFixed(0)} s`);
  const summary = `${rep.failures.length} failures in ${rep.seconds.toFixed(0)} s\n${table}\n${formatFailures(rep)}`;
  assert.equal(rep.failures.length, 0, summary);
  // A campaign that neither loads nor rejects anything explores nothing.
  for (const [fmt, row] of rep.rows) {
    if (fmt === 'fs' || fmt === 'save') continue;
    assert.ok(row.loaded > 0 && row.cleanError > 0, `${fmt}: ${row.loaded} loaded, ${row.cleanError} clean errors`);
  }
});
