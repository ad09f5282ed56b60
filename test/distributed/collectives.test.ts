// nb.distributed's collectives and point-to-point calls, each checked against a reference on 2 and 4
// ranks (scenarios/collectives.ts) in both progress modes (a communication thread calls MPI, or the JS
// thread does), and the refusals: shapes that differ across ranks, non-contiguous targets,
// initProcessGroup twice, a recv of the wrong shape.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linesWith, mpiSkipReason, runRanks } from './mpirun.js';

const skip = mpiSkipReason();

describe('distributed collectives', { skip }, () => {
  for (const [np, progress] of [
    [2, 'thread'],
    [2, 'inline'],
    [4, 'thread'],
    [4, 'inline'],
  ] as const) {
    it(`every collective matches its reference on ${np} ranks, ${progress} progress`, { timeout: 90_000 }, async () => {
      const r = await runRanks(np, 'collectives.js', [], {
        timeoutMs: 60_000,
        env: { NABLA_DIST_PROGRESS: progress },
      });
      assert.equal(r.timedOut, false, `timed out\n${r.stdout}\n${r.stderr}`);
      assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      assert.equal(linesWith(r.stdout, 'done rank').length, np);
      for (const check of [
        'allReduce product int32',
        'async',
        'broadcast',
        'allGather',
        'reduceScatter',
        'barrier',
        'send/recv',
        'shape mismatch',
        'refusals',
        'recv mismatch',
      ])
        assert.equal(linesWith(r.stdout, `ok ${check} rank`).length, np, check);
    });
  }
});
