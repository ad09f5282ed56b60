// `nabla launch --nproc N [--hostfile FILE] [--mpirun-arg ARG]... script.js [args...]`: starts N ranks of
// a Node script under Open MPI's mpirun, the way torchrun starts PyTorch ranks. It adds what running as
// root and running more ranks than cores need (--allow-run-as-root, --oversubscribe), does not pin ranks
// to cores and lets waiting ranks yield (a rank may have a communication thread beside its compute ones), and
// gives each rank a share of the cores (NABLA_NUM_THREADS) unless that is set. Inside, initProcessGroup()
// sets RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE.

import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

export const LAUNCH_USAGE = `usage: nabla launch --nproc N [--hostfile FILE] [--mpirun-arg ARG]... SCRIPT [ARGS...]
  --nproc N          ranks to start (with --hostfile: in all, spread over its hosts)
  --hostfile FILE    Open MPI hostfile ("node1 slots=4" per line) for a multi-node run
  --mpirun-arg ARG   passed to mpirun as is (repeatable), e.g. --mpirun-arg=--mca --mpirun-arg=btl_tcp_if_include
                     --mpirun-arg=eth0
  --dry-run          print the mpirun command instead of running it
each rank gets NABLA_NUM_THREADS = cores / ranks on its host unless set; see docs/distributed.md`;

export interface MpirunOptions {
  nproc: number;
  /** The program and its arguments, e.g. [process.execPath, 'train.js']. */
  command: string[];
  hostfile?: string;
  extra?: string[];
  /** Defaults to this machine's. */
  cores?: number;
  isRoot?: boolean;
}

/** The mpirun command line (argv) that starts `nproc` ranks of `command`. */
export function mpirunArgs(o: MpirunOptions): string[] {
  if (!Number.isInteger(o.nproc) || o.nproc < 1) throw new Error(`launch: --nproc must be a positive integer`);
  const extra = o.extra ?? [];
  const cores = o.cores ?? availableParallelism();
  const root = o.isRoot ?? process.getuid?.() === 0;
  const argv = ['mpirun', '-np', String(o.nproc)];
  if (root) argv.push('--allow-run-as-root');
  if (o.hostfile) argv.push('--hostfile', o.hostfile);
  else if (o.nproc > cores) argv.push('--oversubscribe');
  if (!extra.includes('--bind-to')) argv.push('--bind-to', 'none');
  // NOTE: a rank waiting inside MPI (its communication thread, or its JS thread in a blocking call) shares
  // the cores with compute threads; yielding while idle gives them back instead of spinning on them.
  if (process.env.OMPI_MCA_mpi_yield_when_idle === undefined) argv.push('--mca', 'mpi_yield_when_idle', '1');
  // NOTE: mpirun copies the environment to local ranks only; -x forwards it to other hosts too.
  const threads = process.env.NABLA_NUM_THREADS ?? String(Math.max(1, Math.floor(cores / (o.hostfile ? 1 : o.nproc))));
  argv.push('-x', `NABLA_NUM_THREADS=${threads}`);
  for (const k of Object.keys(process.env).sort())
    if (k.startsWith('NABLA_') && k !== 'NABLA_NUM_THREADS') argv.push('-x', k);
  return [...argv, ...extra, ...o.command];
}

export async function launchCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      nproc: { type: 'string' },
      hostfile: { type: 'string' },
      'mpirun-arg': { type: 'string', multiple: true },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(LAUNCH_USAGE);
    return 0;
  }
  const nproc = Number(values.nproc);
  if (positionals.length === 0 || !Number.isInteger(nproc) || nproc < 1) {
    console.error(`launch: needs --nproc N (a positive integer) and a script\n${LAUNCH_USAGE}`);
    return 2;
  }
  const args = mpirunArgs({
    nproc,
    command: [process.execPath, ...positionals],
    hostfile: values.hostfile,
    extra: values['mpirun-arg'],
  });
  if (values['dry-run']) {
    console.log(args.join(' '));
    return 0;
  }
  if (spawnSync('mpirun', ['--version']).error) {
    console.error(
      'launch: mpirun was not found: apt-get install openmpi-bin libopenmpi-dev (or brew install open-mpi)',
    );
    return 1;
  }
  const child = spawn(args[0], args.slice(1), { stdio: 'inherit' });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return await new Promise<number>((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
  });
}
