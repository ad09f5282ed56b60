// nb.distributed without a running world: the errors before initProcessGroup, the message when MPI is
// missing, DistributedSampler's split (torch's padding and dropLast), and the mpirun command line that
// `nabla launch` builds.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as nb from '../../src/index.js';
import { mpirunArgs } from '../../src/cli/launch.js';

const index = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'index.js');
const initIn = (env: Record<string, string>) =>
  spawnSync(
    process.execPath,
    ['-e', `import(${JSON.stringify(index)}).then((nb) => nb.distributed.initProcessGroup())`],
    {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 30_000,
    },
  );

describe('nb.distributed without a world', () => {
  it('refuses calls before initProcessGroup and bad backends', () => {
    assert.throws(() => nb.distributed.getRank(), /getRank: the default process group has not been initialized/);
    assert.throws(() => nb.distributed.allReduce(nb.ones([2])), /allReduce: the default process group has not been/);
    assert.throws(() => new nb.nn.parallel.DistributedDataParallel(new nb.nn.Linear(2, 2)), /not initialized/);
    assert.throws(
      () => nb.distributed.initProcessGroup({ backend: 'nccl' as 'mpi' }),
      /backend 'nccl' is not supported/,
    );
    assert.equal(nb.distributed.isInitialized(), false);
  });

  it('says how to install MPI when the addon is missing', () => {
    const r = initIn({ NABLA_MPI_PATH: '/nonexistent/nabla_mpi.node' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /initProcessGroup: nb\.distributed needs MPI/);
    assert.match(r.stderr, /apt-get install libopenmpi-dev openmpi-bin/);
  });

  it('refuses WORLD_SIZE > 1 outside mpirun', {
    skip: nb.distributed.isAvailable() ? undefined : 'no MPI addon',
  }, () => {
    const r = initIn({ WORLD_SIZE: '2', RANK: '0' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /WORLD_SIZE is 2 but this process was not started by mpirun/);
  });

  it('refuses an unknown progress mode', { skip: nb.distributed.isAvailable() ? undefined : 'no MPI addon' }, () => {
    const r = initIn({ NABLA_DIST_PROGRESS: 'spin' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /progress 'spin' is not one of 'thread', 'inline' \(NABLA_DIST_PROGRESS\)/);
  });
});

describe('DistributedSampler', () => {
  it('pads by repeating from the start, as torch (10 samples, 4 replicas)', () => {
    const parts = [0, 1, 2, 3].map((rank) => [
      ...new nb.data.DistributedSampler({ length: 10 }, { numReplicas: 4, rank, shuffle: false }),
    ]);
    assert.deepEqual(parts, [
      [0, 4, 8],
      [1, 5, 9],
      [2, 6, 0],
      [3, 7, 1],
    ]);
    const dropped = [0, 1, 2, 3].map((rank) => [
      ...new nb.data.DistributedSampler({ length: 10 }, { numReplicas: 4, rank, shuffle: false, dropLast: true }),
    ]);
    assert.deepEqual(dropped, [
      [0, 4],
      [1, 5],
      [2, 6],
      [3, 7],
    ]);
  });

  it('shuffles alike on every rank, differently per epoch', () => {
    const run = (epoch: number) =>
      [0, 1, 2].flatMap((rank) => {
        const s = new nb.data.DistributedSampler({ length: 30 }, { numReplicas: 3, rank, seed: 5 });
        s.setEpoch(epoch);
        return [...s];
      });
    const e0 = run(0);
    assert.deepEqual(
      [...e0].sort((a, b) => a - b),
      Array.from({ length: 30 }, (_, i) => i),
    );
    assert.notDeepEqual(run(1), e0);
    assert.deepEqual(run(0), e0);
    assert.throws(() => new nb.data.DistributedSampler({ length: 3 }, { numReplicas: 2, rank: 2 }), /invalid rank 2/);
  });
});

describe('nabla launch', () => {
  it('builds the mpirun command line', () => {
    const a = mpirunArgs({ nproc: 4, command: ['node', 't.js'], cores: 2, isRoot: true });
    assert.deepEqual(a.slice(0, 6), ['mpirun', '-np', '4', '--allow-run-as-root', '--oversubscribe', '--bind-to']);
    assert.deepEqual(a.slice(-2), ['node', 't.js']);
    const h = mpirunArgs({ nproc: 8, command: ['node', 't.js'], cores: 2, isRoot: false, hostfile: 'hosts' });
    assert.ok(!h.includes('--oversubscribe') && !h.includes('--allow-run-as-root'));
    assert.deepEqual(h.slice(3, 5), ['--hostfile', 'hosts']);
    assert.throws(() => mpirunArgs({ nproc: 0, command: ['x'] }), /--nproc must be a positive integer/);
  });
});
