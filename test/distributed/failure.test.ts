// A failing rank must take the job down with a clear error, never leave it hanging: one rank throws in the
// middle of DDP training (started through `nabla launch`), or one rank stops calling collectives and the
// others' watchdog ends them after initProcessGroup's timeout, or the ranks chose different progress modes.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { linesWith, mpiSkipReason, runRanks } from './mpirun.js';

const skip = mpiSkipReason();
const here = dirname(fileURLToPath(import.meta.url));

describe('distributed failures', { skip }, () => {
  it('a rank that throws ends the job (nabla launch, 2 ranks)', { timeout: 60_000 }, async () => {
    const cli = join(here, '..', '..', 'src', 'cli', 'main.js');
    const child = spawn(
      process.execPath,
      [cli, 'launch', '--nproc', '2', join(here, 'scenarios', 'failure.js'), 'throw'],
      { detached: true },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 45_000);
    const code = await new Promise<number | null>((res) => child.on('close', res));
    clearTimeout(timer);
    assert.notEqual(code, 0, out);
    assert.notEqual(code, null, `killed by the test's timeout: the job hung\n${out}`);
    assert.match(out, /rank 1 failed on purpose at step 3/);
    assert.match(out, /nabla\.distributed: rank 1 of 2 is exiting with code 1 before destroyProcessGroup\(\)/);
    assert.equal(linesWith(out, 'done rank').length, 0);
  });

  it('a rank that stops calling collectives makes the others time out (4 ranks)', { timeout: 60_000 }, async () => {
    const r = await runRanks(4, 'failure.js', ['hang'], { timeoutMs: 45_000 });
    assert.equal(r.timedOut, false, `the job hung\n${r.stdout}\n${r.stderr}`);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /rank 3 stops calling collectives/);
    assert.match(
      r.stderr,
      /nabla\.distributed: rank [0-2] of 4: allReduce\(avg\) \[\d+\] float32 \(call #\d+\) has not completed after 2\.0 s/,
    );
    assert.equal(linesWith(r.stdout, 'done rank').length, 0);
  });

  it('ranks in different progress modes are refused on every rank (2 ranks)', { timeout: 60_000 }, async () => {
    const r = await runRanks(2, 'failure.js', ['mixed'], { timeoutMs: 45_000 });
    assert.equal(r.timedOut, false, `the job hung\n${r.stdout}\n${r.stderr}`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /the ranks chose different progress modes \(this rank: '(inline|thread)'\)/);
    assert.equal(linesWith(r.stdout, 'done rank').length, 0);
  });
});
