// `npm run fuzz`: the long campaign. Prints a table per format (inputs, loaded, clean errors, bad
// errors, crashes, hangs, over-memory, wrong data, accepted invalid files) and the failures.
//   npm run fuzz -- --seed 7 --count 2000 --duration 600 --formats npz,pth --save-failures /tmp/fails
// --count: random mutants per format per round; --duration: keep running rounds (seed, seed+1, ...)
// for this many seconds; the fixed inputs (bombs, FIFOs) run in the first round only.
// --dump DIR: only write the inputs and manifest.json (tools/golden/fuzz_reference.py checks the
// mutators' expectations against numpy, PIL and torch).
import { parseArgs } from 'node:util';
import { CATEGORIES, FAILING, formatFailures, formatTable, runCampaign, type CampaignReport } from './lib/runner.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    count: { type: 'string', default: '1000' },
    addon: { type: 'string' },
    duration: { type: 'string', default: '0' },
    formats: { type: 'string' },
    jobs: { type: 'string', default: '2' },
    'save-failures': { type: 'string' },
    dump: { type: 'string' },
    bounded: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(
    'npm run fuzz -- [--seed N] [--count N] [--addon N] [--duration S] [--formats a,b] [--jobs N]\n' +
      '  [--save-failures DIR] [--bounded] [--dump DIR]',
  );
  process.exit(0);
}
const seed = Number(values.seed),
  count = Number(values.count),
  duration = Number(values.duration);
const t0 = Date.now();
let total: CampaignReport | undefined;
for (let round = 0; round === 0 || (Date.now() - t0) / 1000 < duration; round++) {
  const rep = await runCampaign({
    seed: seed + round,
    count,
    addonCount: Number(values.addon ?? count),
    formats: values.formats?.split(','),
    bounded: values.bounded,
    specials: round === 0,
    jobs: Number(values.jobs),
    saveFailures: values['save-failures'],
    log: (s) => console.error(`[round ${round}] ${s}`),
    dumpTo: values.dump,
  });
  if (values.dump) {
    console.log(`inputs and manifest.json written to ${values.dump}`);
    process.exit(0);
  }
  if (!total) total = rep;
  else {
    for (const [fmt, row] of rep.rows) {
      const t = total.rows.get(fmt);
      if (!t) total.rows.set(fmt, row);
      else for (const k of Object.keys(row) as (keyof typeof row)[]) t[k] += row[k];
    }
    total.failures.push(...rep.failures);
    total.seconds += rep.seconds;
  }
  console.error(`[round ${round}] seed ${seed + round}: ${rep.all.length} inputs in ${rep.seconds.toFixed(0)} s`);
}
console.log(formatTable(total!));
console.log(`\n${total!.failures.length} failures (${FAILING.join(', ')}); categories: ${CATEGORIES.join(', ')}`);
if (total!.failures.length) console.log(formatFailures(total!, 200));
process.exit(total!.failures.length ? 1 : 0);
