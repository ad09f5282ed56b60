// The process group: MPI brought up by the MPI addon (native/src/distributed/mpi.c, nabla_mpi.node), the
// world's rank and size, and Work, the handle every collective returns. Operations run one at a time in
// the order they were issued (as in torch's MPI backend). One thread makes the MPI calls, chosen at init
// (the progress mode): a communication thread (the default), so that a collective issued with
// `asyncOp: true` overlaps whatever the JS thread does next, or the JS thread itself, starting nonblocking
// MPI calls and advancing them whenever it polls or waits.

import { createRequire, dirname, existsSync, fileURLToPath, join, process } from '../platform/node.js';

/** The MPI addon's surface (native/src/distributed/mpi.c). */
interface MpiAddon {
  init(
    timeoutSeconds: number,
    onDone: (id: number, err: string | null, src: number) => void,
    inline: boolean,
  ): number[];
  submit(
    kind: number,
    dtype: number,
    rop: number,
    peer: number,
    tag: number,
    header: Float64Array,
    buf: ArrayBufferView | null,
    out: ArrayBufferView | null,
  ): number;
  wait(id: number): [string | null, number];
  ref(on: boolean): void;
  join(): void;
  version(): string;
  poll(id?: number): void;
}

export const INSTALL_HINT =
  'install Open MPI (Debian/Ubuntu: apt-get install libopenmpi-dev openmpi-bin; macOS: brew install open-mpi) ' +
  'and rebuild the addon (node scripts/build-native.mjs), then start the ranks with `npx nabla launch --nproc N ' +
  'script.js` or `mpirun -np N node script.js`';

const REL = join('native', 'build', 'Release', 'nabla_mpi.node');
let addonLoad: { addon: MpiAddon | null; reason?: string } | undefined;

function loadMpi(): { addon: MpiAddon | null; reason?: string } {
  if (addonLoad) return addonLoad;
  let path = process.env.NABLA_MPI_PATH;
  if (!path) {
    let dir = dirname(fileURLToPath(import.meta.url));
    for (let i = 0; i < 8 && !path; i++) {
      if (existsSync(join(dir, REL))) path = join(dir, REL);
      dir = dirname(dir);
    }
  }
  if (!path) {
    addonLoad = { addon: null, reason: `${REL} was not built (no mpicc was found when the addon was built)` };
    return addonLoad;
  }
  try {
    const module = { exports: {} as MpiAddon };
    // NOTE: RTLD_GLOBAL because Open MPI's plugins look up libmpi's symbols in the global scope.
    const { RTLD_NOW, RTLD_GLOBAL } = (createRequire(import.meta.url)('node:os') as typeof import('node:os')).constants
      .dlopen as Record<string, number>;
    process.dlopen(module, path, RTLD_NOW | RTLD_GLOBAL);
    addonLoad = { addon: module.exports };
  } catch (e) {
    addonLoad = { addon: null, reason: `loading ${path} failed: ${String((e as Error).message).split('\n')[0]}` };
  }
  return addonLoad;
}

/** Whether nb.distributed can run here: the MPI addon was built and loads (torch.distributed.is_mpi_available). */
export function isAvailable(): boolean {
  return loadMpi().addon !== null;
}

export interface InitOptions {
  /** Only 'mpi'. */
  backend?: 'mpi';
  /**
   * Milliseconds one operation may run before this rank gives up and ends the process with a message
   * (a peer died or called something else; a blocking MPI call cannot be cancelled). Default 30 minutes,
   * or NABLA_DIST_TIMEOUT_MS.
   */
  timeout?: number;
  /** Checked against MPI's when given (as torch's init_process_group takes them). */
  rank?: number;
  worldSize?: number;
  /**
   * Which thread makes the MPI calls (or NABLA_DIST_PROGRESS). 'thread' (default): a communication
   * thread, so async collectives run while JS computes. 'inline': the JS thread, which starts async
   * collectives as nonblocking MPI calls, advances them whenever it polls (DDP does from each gradient
   * hook) and finishes them in wait(); no thread hand-over, no second thread. Every rank must use the
   * same mode. See docs/distributed.md for what each measured.
   */
  progress?: ProgressMode;
}

/** Which thread makes the MPI calls: a communication thread, or the JS thread (see InitOptions.progress). */
export type ProgressMode = 'thread' | 'inline';

interface Group {
  addon: MpiAddon;
  rank: number;
  size: number;
  threadLevel: number;
  progress: ProgressMode;
  pending: Map<number, Work>;
  destroyed: boolean;
  /** inline mode: the timer that polls while operations are pending (for `await work.promise`) */
  ticking: boolean;
}

let group: Group | null = null;
let everInitialised = false;

function requireGroup(op: string): Group {
  if (!group) {
    throw new Error(
      `${op}: the default process group has not been initialized; call nb.distributed.initProcessGroup() first`,
    );
  }
  return group;
}

/** Whether initProcessGroup has run and destroyProcessGroup has not (torch.distributed.is_initialized). */
export function isInitialized(): boolean {
  return group !== null;
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`initProcessGroup: ${name}=${v} is not a non-negative integer`);
  return n;
}

/**
 * Joins this process to the world started by mpirun (or `nabla launch`), as torch.distributed's
 * init_process_group(backend='mpi'). Afterwards RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE are set
 * in process.env (torchrun's names) where they were not; when they were set, they must agree with MPI.
 *
 * @example
 * nb.distributed.initProcessGroup({ backend: 'mpi' });
 * const t = nb.ones([4]).mul(nb.distributed.getRank());
 * nb.distributed.allReduce(t); // every rank now holds 0 + 1 + ... + (W-1)
 */
export function initProcessGroup(opts: InitOptions = {}): void {
  const backend = opts.backend ?? 'mpi';
  if (backend !== 'mpi') throw new Error(`initProcessGroup: backend '${String(backend)}' is not supported; use 'mpi'`);
  if (group) throw new Error('initProcessGroup: the default process group is already initialized (called twice)');
  if (everInitialised) {
    throw new Error('initProcessGroup: MPI can be initialised only once per process; this one already ran it');
  }
  const { addon, reason } = loadMpi();
  if (!addon) throw new Error(`initProcessGroup: nb.distributed needs MPI, and ${reason}: ${INSTALL_HINT}`);
  const envTimeout = process.env.NABLA_DIST_TIMEOUT_MS;
  const timeout = opts.timeout ?? (envTimeout ? Number(envTimeout) : 30 * 60 * 1000);
  if (!(timeout > 0)) throw new Error(`initProcessGroup: timeout must be a positive number of ms, got ${timeout}`);
  const launched = process.env.OMPI_COMM_WORLD_SIZE ?? process.env.PMI_SIZE ?? process.env.PMIX_RANK;
  const wantSize = opts.worldSize ?? envInt('WORLD_SIZE');
  if (!launched && wantSize !== undefined && wantSize > 1) {
    throw new Error(
      `initProcessGroup: WORLD_SIZE is ${wantSize} but this process was not started by mpirun; MPI ranks ` +
        'cannot join processes started separately: start them with `npx nabla launch --nproc N script.js` or mpirun',
    );
  }
  const progress = progressMode(opts.progress ?? process.env.NABLA_DIST_PROGRESS ?? 'thread');
  everInitialised = true;
  const pending = new Map<number, Work>();
  const onDone = (id: number, err: string | null, src: number) => {
    const w = pending.get(id);
    if (!w) return;
    pending.delete(id);
    if (pending.size === 0) addon.ref(false);
    w.settle(err, src);
  };
  const [rank, size, threadLevel] = addon.init(timeout / 1000, onDone, progress === 'inline');
  const g: Group = { addon, rank, size, threadLevel, progress, pending, destroyed: false, ticking: false };
  const wantRank = opts.rank ?? envInt('RANK');
  if ((wantRank !== undefined && wantRank !== rank) || (wantSize !== undefined && wantSize !== size)) {
    throw new Error(
      `initProcessGroup: rank ${wantRank ?? '?'} of ${wantSize ?? '?'} was asked for (options or RANK/WORLD_SIZE) ` +
        `but MPI made this process rank ${rank} of ${size}`,
    );
  }
  const env = process.env;
  env.RANK ??= String(rank);
  env.WORLD_SIZE ??= String(size);
  env.LOCAL_RANK ??= env.OMPI_COMM_WORLD_LOCAL_RANK ?? String(rank);
  env.LOCAL_WORLD_SIZE ??= env.OMPI_COMM_WORLD_LOCAL_SIZE ?? String(size);
  group = g;
  process.on('exit', (code) => onExit(g, code));
  if (size > 1) agreeOnProgress(g);
}

/**
 * Refuses a world whose ranks chose different progress modes: an async collective is a nonblocking MPI
 * call in inline mode and a blocking one on the communication thread, and MPI never matches the two.
 */
function agreeOnProgress(g: Group): void {
  const mine = g.progress === 'inline' ? 1 : 0;
  const m = new Int32Array([mine, -mine]); // max(code), -min(code)
  const rMax = 2,
    dInt32 = 2;
  submit('initProcessGroup', K.allReduce, { dtype: dInt32, rop: rMax }, m, null).wait();
  if (m[0] !== -m[1]) {
    throw new Error(
      `initProcessGroup: the ranks chose different progress modes (this rank: '${g.progress}'), which cannot ` +
        'work together; set NABLA_DIST_PROGRESS (or initProcessGroup({progress})) alike on every rank',
    );
  }
}

function progressMode(mode: string): ProgressMode {
  if (mode === 'thread' || mode === 'inline') return mode;
  throw new Error(`initProcessGroup: progress '${mode}' is not one of 'thread', 'inline' (NABLA_DIST_PROGRESS)`);
}

function onExit(g: Group, code: number): void {
  if (g.destroyed) return;
  if (code === 0) {
    destroyProcessGroup();
    return;
  }
  // NOTE: no MPI_Finalize here: a peer may never reach it. mpirun sees this process end without it and
  // stops the other ranks, so a failure on one rank never leaves the job hanging.
  process.stderr.write(
    `nabla.distributed: rank ${g.rank} of ${g.size} is exiting with code ${code} before destroyProcessGroup(); ` +
      'the launcher stops the other ranks\n',
  );
}

/** Waits for every operation in flight, then shuts MPI down (torch.distributed.destroy_process_group). */
export function destroyProcessGroup(): void {
  const g = requireGroup('destroyProcessGroup');
  for (const w of [...g.pending.values()]) w.waitQuietly();
  const id = g.addon.submit(K.finalize, 0, 0, 0, 0, new Float64Array(16), null, null);
  const [err] = g.addon.wait(id);
  g.addon.join();
  g.destroyed = true;
  group = null;
  if (err) throw new Error(`destroyProcessGroup: ${err}`);
}

/** This process's rank in the world, 0..W-1. */
export function getRank(): number {
  return requireGroup('getRank').rank;
}

/** The number of processes in the world. */
export function getWorldSize(): number {
  return requireGroup('getWorldSize').size;
}

/** 'mpi'. */
export function getBackend(): 'mpi' {
  requireGroup('getBackend');
  return 'mpi';
}

/**
 * The MPI library, the thread level it granted (nabla needs MPI_THREAD_FUNNELED: one thread calls MPI)
 * and which thread that is (InitOptions.progress).
 */
export function mpiInfo(): { library: string; threadLevel: number; progress: ProgressMode } {
  const g = requireGroup('mpiInfo');
  return { library: g.addon.version(), threadLevel: g.threadLevel, progress: g.progress };
}

/**
 * @internal In inline progress mode, starts queued operations and advances those in flight without
 * blocking (one MPI_Test each); nothing in thread mode, whose communication thread needs no help.
 */
export function progress(): void {
  if (group?.progress === 'inline') group.addon.poll();
}

/** Operation codes shared with native/src/distributed/mpi.c. */
export const K = {
  allReduce: 0,
  broadcast: 1,
  allGather: 2,
  reduceScatter: 3,
  barrier: 4,
  send: 5,
  recv: 6,
  finalize: 7,
} as const;

/**
 * The handle of an operation in flight (torch's Work). `wait()` blocks this thread until it is done and
 * throws its error; `promise` settles at the same moment without blocking.
 */
export class Work {
  private done = false;
  private err: string | null = null;
  private src = -1;
  private resolve!: () => void;
  private reject!: (e: Error) => void;
  /** Settles when the operation completes (rejects with its error). */
  readonly promise: Promise<void>;

  /** @internal */
  constructor(
    private readonly g: Group,
    private readonly id: number,
    private readonly what: string,
    /** Runs once the data has landed (copies into outputs), before anyone sees completion. */
    private readonly finish?: () => void,
  ) {
    this.promise = new Promise<void>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    // NOTE: a Work whose caller only uses wait() must not turn its rejection into an unhandled one.
    this.promise.catch(() => {});
  }

  /** @internal */
  settle(err: string | null, src: number): void {
    if (this.done) return;
    this.done = true;
    this.err = err;
    this.src = src;
    if (!err && this.finish) this.finish();
    if (err) this.reject(new Error(`${this.what}: ${err}`));
    else this.resolve();
  }

  /** Whether the operation has completed (successfully or not). */
  isCompleted(): boolean {
    return this.done;
  }

  /** Blocks until the operation completes; throws its error. Returns true (torch's Work.wait). */
  wait(): true {
    if (!this.done) this.settle(...this.g.addon.wait(this.id));
    if (this.err) throw new Error(`${this.what}: ${this.err}`);
    return true;
  }

  /** @internal wait() without throwing (destroyProcessGroup drains the queue). */
  waitQuietly(): void {
    if (!this.done) this.settle(...this.g.addon.wait(this.id));
  }

  /** The rank a recv/irecv received from (after completion), else -1. */
  sourceRank(): number {
    if (this.done) return this.src;
    this.wait();
    return this.src;
  }

  /**
   * @internal Marks the operation as issued async: in inline progress mode it then runs in nonblocking
   * MPI calls, started now. The same call on every rank makes the same choice (a nonblocking collective
   * never matches a blocking one).
   */
  start(): this {
    if (this.g.progress === 'inline') this.g.addon.poll(this.id);
    return this;
  }

  /** A promise for completion (torch's Work.get_future). */
  getFuture(): Promise<void> {
    return this.promise;
  }
}

/** @internal Queues one operation on the communication thread. */
export function submit(
  what: string,
  kind: number,
  args: { dtype?: number; rop?: number; peer?: number; tag?: number; header?: Float64Array },
  buf: ArrayBufferView | null,
  out: ArrayBufferView | null,
  finish?: () => void,
): Work {
  const g = requireGroup(what);
  const id = g.addon.submit(
    kind,
    args.dtype ?? 0,
    args.rop ?? 0,
    args.peer ?? 0,
    args.tag ?? 0,
    args.header ?? new Float64Array(16),
    buf,
    out,
  );
  const w = new Work(g, id, what, finish);
  if (g.pending.size === 0) g.addon.ref(true);
  g.pending.set(id, w);
  if (g.progress === 'inline' && !g.ticking) tick(g);
  return w;
}

/** Inline mode: polls every millisecond while operations are pending, so that their promises settle. */
function tick(g: Group): void {
  g.ticking = g.pending.size > 0 && !g.destroyed;
  if (!g.ticking) return;
  setTimeout(() => {
    if (!g.destroyed) g.addon.poll();
    tick(g);
  }, 1);
}

/** @internal The rank and size for argument checks. */
export function worldOf(op: string): { rank: number; size: number } {
  const g = requireGroup(op);
  return { rank: g.rank, size: g.size };
}
