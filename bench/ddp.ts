// `npm run bench:ddp`: data-parallel scaling on this machine, as ratios measured in one run.
//   1. Scaling efficiency of an MLP and a CNN training step: 2 ranks x 1 thread (DistributedDataParallel,
//      the same per-rank batch) against 1 rank x 1 thread (the plain model): efficiency = t1 / t2, the
//      time of one step alone over the time of one step with the all-reduce (weak scaling; target >= 90%).
//      Beside it, the machine's own ceiling: two plain 1-thread processes run at once with no communication
//      at all (no MPI); their slowdown against one process alone is what shared cores and memory cost.
//      The 2-rank job runs in the default progress mode (a communication thread calls MPI) and again in
//      inline mode (the JS thread calls MPI, no second thread), for comparison.
//      Each configuration runs --rounds times, interleaved, and the fastest round of each counts (on a
//      shared machine the others were slowed by other work).
//   2. All-reduce bandwidth of nb.distributed.allReduce against Open MPI's own MPI_Allreduce on the same
//      sizes, from native/bench/allreduce_mpi.c compiled with mpicc in this run.
// Options: --steps=N (timed steps per model, default 20), --rounds=N (default 3), --sizes=bytes,bytes
// (all-reduce sizes).
// The driver starts the ranks itself through mpirun (`nabla launch`'s command line), so run it plainly.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mpirunArgs } from '../src/cli/launch.js';
import * as nb from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = here.includes(join('dist', 'bench')) ? join(here, '..', '..') : join(here, '..');
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const STEPS = Number(arg('steps') ?? 20);
const ROUNDS = Number(arg('rounds') ?? 3);
const SIZES = (arg('sizes') ?? '4096,65536,1048576,16777216').split(',').map(Number);

interface StepTimes {
  mlpMs: number;
  cnnMs: number;
  allreduceUs?: number[];
  progress?: string;
}

function mlp(): nb.nn.Module {
  return new nb.nn.Sequential(
    new nb.nn.Linear(784, 512),
    new nb.nn.ReLU(),
    new nb.nn.Linear(512, 512),
    new nb.nn.ReLU(),
    new nb.nn.Linear(512, 10),
  );
}
function cnn(): nb.nn.Module {
  return new nb.nn.Sequential(
    new nb.nn.Conv2d(1, 32, 3, { padding: 1 }),
    new nb.nn.ReLU(),
    new nb.nn.MaxPool2d(2),
    new nb.nn.Conv2d(32, 64, 3, { padding: 1 }),
    new nb.nn.ReLU(),
    new nb.nn.MaxPool2d(2),
    new nb.nn.Flatten(),
    new nb.nn.Linear(64 * 7 * 7, 128),
    new nb.nn.ReLU(),
    new nb.nn.Linear(128, 10),
  );
}

/** ms per training step (the slowest rank's), after 3 warm-up steps. */
function timeSteps(make: () => nb.nn.Module, x: nb.Tensor, y: nb.Tensor, distributed: boolean): number {
  nb.manualSeed(0);
  const base = make();
  const model = distributed ? new nb.nn.parallel.DistributedDataParallel(base) : base;
  const opt = new nb.optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const step = () => {
    opt.zeroGrad();
    nb.nn.functional.crossEntropy(model.call(x) as nb.Tensor, y).backward();
    opt.step();
  };
  for (let i = 0; i < 3; i++) step();
  if (distributed) nb.distributed.barrier();
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) step();
  const ms = (performance.now() - t0) / STEPS;
  if (!distributed) return ms;
  const t = nb.tensor([ms], { dtype: 'float64' });
  nb.distributed.allReduce(t, { op: 'max' });
  return t.item();
}

function worker(): void {
  const distributed = process.env.OMPI_COMM_WORLD_SIZE !== undefined;
  if (distributed) nb.distributed.initProcessGroup();
  nb.setNumThreads(1);
  const g = new nb.Generator(1);
  const out: StepTimes = {
    mlpMs: timeSteps(
      mlp,
      nb.randn([64, 784], { generator: g }),
      nb.randint(0, 10, [64], { generator: g }),
      distributed,
    ),
    cnnMs: timeSteps(
      cnn,
      nb.randn([32, 1, 28, 28], { generator: g }),
      nb.randint(0, 10, [32], { generator: g }),
      distributed,
    ),
  };
  if (distributed) {
    out.allreduceUs = SIZES.map((bytes) => {
      const t = nb.ones([bytes / 4]);
      const iters = Math.max(10, Math.floor(3e8 / (bytes + 1e4)));
      for (let i = 0; i < 3; i++) nb.distributed.allReduce(t);
      nb.distributed.barrier();
      const t0 = performance.now();
      for (let i = 0; i < iters; i++) nb.distributed.allReduce(t);
      const us = nb.tensor([((performance.now() - t0) * 1000) / iters], { dtype: 'float64' });
      nb.distributed.allReduce(us, { op: 'max' });
      return us.item();
    });
    out.progress = nb.distributed.mpiInfo().progress;
    if (nb.distributed.getRank() === 0) console.log(JSON.stringify(out));
    nb.distributed.destroyProcessGroup();
  } else console.log(JSON.stringify(out));
}

/** Runs the commands at the same time (each within 10 minutes); the last stdout line of each. */
function runTogether(cmds: string[][], what: string): Promise<string[]> {
  return Promise.all(
    cmds.map(
      (cmd) =>
        new Promise<string>((done, fail) => {
          const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
          let out = '',
            err = '';
          child.stdout.on('data', (d) => (out += d));
          child.stderr.on('data', (d) => (err += d));
          child.on('error', (e) => fail(new Error(`${what} failed: ${e.message}`)));
          child.on('close', (code) =>
            code === 0 ? done(out.trim().split('\n').pop()!) : fail(new Error(`${what} failed (${code}): ${err}`)),
          );
        }),
    ),
  );
}

async function run(cmd: string[], what: string): Promise<string> {
  return (await runTogether([cmd], what))[0];
}

async function driver(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const exe = join(mkdtempSync(join(tmpdir(), 'nabla-allreduce-')), 'allreduce_mpi');
  await run(['mpicc', '-O2', join(root, 'native', 'bench', 'allreduce_mpi.c'), '-o', exe], 'mpicc allreduce_mpi.c');
  const env = { ...process.env, NABLA_NUM_THREADS: '1' };
  Object.assign(process.env, env);
  const cpu = nb.backend().name;
  console.log(`nabla bench:ddp — backend ${cpu}, 1 thread per rank, ${STEPS} timed steps per model`);
  const plain = [process.execPath, self, '--worker', ...process.argv.slice(2)];
  const ranks = mpirunArgs({ nproc: 2, command: plain });
  const rounds: { one: StepTimes; pair: StepTimes; two: StepTimes; inline: StepTimes }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const pairs = (await runTogether([plain, plain], '2 processes')).map((l) => JSON.parse(l) as StepTimes);
    rounds.push({
      one: JSON.parse(await run(plain, '1 rank')) as StepTimes,
      pair: { mlpMs: Math.max(...pairs.map((p) => p.mlpMs)), cnnMs: Math.max(...pairs.map((p) => p.cnnMs)) },
      two: JSON.parse(await run(ranks, '2 ranks')) as StepTimes,
      inline: JSON.parse(await run(['env', 'NABLA_DIST_PROGRESS=inline', ...ranks], '2 ranks, inline')) as StepTimes,
    });
  }
  const best = (k: 'one' | 'pair' | 'two' | 'inline', m: 'mlpMs' | 'cnnMs') => Math.min(...rounds.map((r) => r[k][m]));
  const two = rounds[rounds.length - 1].two;
  const c = JSON.parse(await run(mpirunArgs({ nproc: 2, command: [exe, ...SIZES.map(String)] }), 'allreduce_mpi')) as {
    bytes: number;
    us: number;
  }[];
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  console.log(
    `\nscaling (weak: the same per-rank batch; efficiency = step time 1 rank / step time 2 ranks; the fastest ` +
      `of ${ROUNDS} rounds; 2x1 in ${two.progress} progress, and in inline progress beside it)`,
  );
  console.log(
    'model  batch/rank  1x1 ms/step  2x1 ms/step  samples/s 1x1  samples/s 2x1  efficiency' +
      '  (inline)  ceiling (2 processes, no MPI)',
  );
  for (const [name, key, b] of [
    ['MLP', 'mlpMs', 64],
    ['CNN', 'cnnMs', 32],
  ] as const) {
    const t1 = best('one', key),
      t2 = best('two', key);
    const cells = [String(b), t1.toFixed(2), t2.toFixed(2), ((1000 * b) / t1).toFixed(0), ((2000 * b) / t2).toFixed(0)];
    const w = [10, 12, 12, 14, 14];
    const row = `${name.padEnd(6)} ${cells.map((x, i) => x.padStart(w[i])).join(' ')} ${pct(t1 / t2).padStart(11)}`;
    console.log(`${row} ${pct(t1 / best('inline', key)).padStart(9)} ${pct(t1 / best('pair', key)).padStart(30)}`);
  }
  console.log('\nall-reduce, 2 ranks, float32 sum (bus bandwidth = bytes / time for 2 ranks)');
  console.log('bytes       nabla us   MPI_Allreduce us   nabla GB/s   MPI GB/s   nabla / MPI');
  SIZES.forEach((bytes, i) => {
    const a = two.allreduceUs![i],
      m = c[i].us;
    const cells = [a.toFixed(1), m.toFixed(1), (bytes / a / 1e3).toFixed(2), (bytes / m / 1e3).toFixed(2), pct(m / a)];
    const w = [9, 18, 12, 10, 13];
    console.log(`${String(bytes).padEnd(10)} ${cells.map((x, i) => x.padStart(w[i])).join(' ')}`);
  });
}

if (process.argv.includes('--worker')) worker();
else await driver();
