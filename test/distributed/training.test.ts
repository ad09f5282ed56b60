// Data-parallel training on 2 and 4 ranks (scenarios/training.ts), in both progress modes (a
// communication thread calls MPI, or the JS thread does): DistributedDataParallel ends with the
// parameters of one process trained on the concatenated batch (within 1e-6 relative), noSync accumulates,
// ZeroRedundancyOptimizer matches Adam with its state sharded, a checkpoint saved by rank 0 resumes on all
// ranks with the same losses, DistributedSampler splits the indices, and Keras fit under DataParallel
// follows one process.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linesWith, mpiSkipReason, runRanks } from './mpirun.js';

const skip = mpiSkipReason();

describe('distributed training', { skip }, () => {
  for (const [np, progress] of [
    [2, 'thread'],
    [4, 'thread'],
    [2, 'inline'],
    [4, 'inline'],
  ] as const) {
    const what = `DDP, noSync, ZeRO-1, checkpoint, sampler and Keras fit on ${np} ranks, ${progress} progress`;
    it(what, { timeout: 90_000 }, async () => {
      const r = await runRanks(np, 'training.js', [], {
        timeoutMs: 60_000,
        env: { NABLA_TEST_TAG: `${process.pid}-${np}-${progress}`, NABLA_DIST_PROGRESS: progress },
      });
      assert.equal(r.timedOut, false, `timed out\n${r.stdout}\n${r.stderr}`);
      assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      for (const check of ['ddp', 'noSync', 'zero', 'checkpoint', 'sampler', 'keras'])
        assert.equal(linesWith(r.stdout, `ok ${check} rank`).length, np, check);
      assert.equal(linesWith(r.stdout, 'done rank').length, np);
    });
  }
});
