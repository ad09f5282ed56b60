// Runs a scenario script (dist/test/distributed/scenarios/*.js) under mpirun with N ranks on this machine
// (oversubscribed, so 4 ranks run on 2 cores), with a hard timeout that kills the whole job: a hang fails
// the test instead of blocking CI. Tests skip, with the reason, when mpirun or the MPI addon is absent.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAvailable } from '../../src/distributed/index.js';
import { mpirunArgs } from '../../src/cli/launch.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Why the MPI tests cannot run here, or undefined when they can. */
export function mpiSkipReason(): string | undefined {
  const r = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'mpirun not found (apt-get install openmpi-bin libopenmpi-dev)';
  if (!isAvailable()) return 'native/build/Release/nabla_mpi.node not built (mpicc was absent at build time)';
  return undefined;
}

export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** mpirun -np `np` node <scenario> ...args, killed (with every rank) after `timeoutMs`. */
export function runRanks(
  np: number,
  scenario: string,
  args: string[] = [],
  opts: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const script = join(here, 'scenarios', scenario);
  if (!existsSync(script)) throw new Error(`runRanks: ${script} does not exist (build first)`);
  const argv = mpirunArgs({ nproc: np, command: [process.execPath, script, ...args] });
  const t0 = Date.now();
  const child = spawn(argv[0], argv.slice(1), {
    detached: true,
    env: { ...process.env, NABLA_NUM_THREADS: '1', ...opts.env },
  });
  let stdout = '',
    stderr = '',
    timedOut = false;
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }, opts.timeoutMs ?? 60_000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - t0 });
    });
  });
}

/** The lines of `out` that start with `prefix`. */
export function linesWith(out: string, prefix: string): string[] {
  return out.split('\n').filter((l) => l.startsWith(prefix));
}
