// DistributedDataParallel (torch.nn.parallel.DistributedDataParallel): every rank holds the whole model
// and a slice of the batch. At wrap time rank 0's parameters and buffers are broadcast to all ranks;
// during backward each gradient is copied into its bucket as soon as autograd has accumulated it, and
// a full bucket's all-reduce (the mean over ranks) starts at once and moves while the backward goes on
// (on the communication thread, or advanced from the later hooks in inline progress mode, see
// process_group.ts); when the backward ends, the last buckets are waited for and their averages become
// the .grad of each parameter. Buckets are filled in reverse parameter order (about the order backward
// produces gradients) and launched strictly in bucket order, so every rank issues the same collectives
// in the same order whatever order its hooks fire in.

import { queueCallback } from '../../autograd/backward.js';
import { allReduce } from '../../distributed/collectives.js';
import { broadcastCoalesced } from '../../distributed/coalesced.js';
import { getRank, getWorldSize, isInitialized, progress, type Work } from '../../distributed/process_group.js';
import { zeros } from '../../tensor/creation.js';
import { contiguousValues, type Tensor } from '../../tensor/tensor.js';
import { fromTypedArray } from '../../tensor/creation.js';
import { Module, type Parameter } from '../module.js';

export interface DDPOptions {
  /** Bucket size in MiB (torch's bucket_cap_mb); the first bucket is capped at 1 MiB so it starts early. */
  bucketCapMb?: number;
  /** Broadcast rank 0's buffers (BatchNorm statistics) before every forward, as torch does. Default true. */
  broadcastBuffers?: boolean;
  /**
   * Parameters that got no gradient in a backward count as zero gradients (torch's find_unused_parameters);
   * without it such a backward is refused, naming them, since the other ranks would wait for their bucket.
   */
  findUnusedParameters?: boolean;
}

interface Bucket {
  params: Parameter[];
  offsets: number[];
  flat: Tensor;
  pending: number;
  work: Work | null;
}

/**
 * Wraps a module for data-parallel training over nb.distributed (initProcessGroup first).
 *
 * @example
 * const ddp = new nb.nn.parallel.DistributedDataParallel(model);
 * const opt = new nb.optim.SGD(ddp.parameters(), { lr: 0.1 });
 * const loss = lossFn(ddp.call(xLocal), yLocal); // this rank's slice of the batch
 * loss.backward(); // .grad is now the mean over ranks
 * opt.step();
 */
export class DistributedDataParallel<M extends Module = Module> extends Module {
  declare module: M;
  private readonly buckets: Bucket[] = [];
  private readonly where = new Map<Parameter, [Bucket, number]>();
  private readonly ready = new Set<Parameter>();
  private nextLaunch = 0;
  private syncing = true;
  private armed = false;
  private readonly broadcastBuffers: boolean;
  private readonly findUnused: boolean;

  constructor(module: M, opts: DDPOptions = {}) {
    super();
    if (!isInitialized())
      throw new Error('DistributedDataParallel: the default process group is not initialized (initProcessGroup first)');
    this.module = module;
    this.broadcastBuffers = opts.broadcastBuffers ?? true;
    this.findUnused = opts.findUnusedParameters ?? false;
    // NOTE: the broadcast's cross-rank check also catches models whose parameter shapes differ.
    broadcastCoalesced([...module.parameters(), ...module.buffers()], 0);
    const cap = (opts.bucketCapMb ?? 25) * 2 ** 20;
    if (!(cap > 0)) throw new Error(`DistributedDataParallel: bucketCapMb must be positive, got ${opts.bucketCapMb}`);
    const params = module.parameters().filter((p) => p.requiresGrad);
    let cur: Parameter[] = [];
    let bytes = 0;
    const close = () => {
      if (!cur.length) return;
      const offsets: number[] = [];
      let n = 0;
      for (const p of cur) {
        offsets.push(n);
        n += p.numel();
      }
      const b: Bucket = { params: cur, offsets, flat: zeros([n], { dtype: cur[0].dtype }), pending: 0, work: null };
      for (let i = 0; i < cur.length; i++) this.where.set(cur[i], [b, offsets[i]]);
      this.buckets.push(b);
      cur = [];
      bytes = 0;
    };
    for (const p of [...params].reverse()) {
      const limit = this.buckets.length === 0 ? Math.min(cap, 2 ** 20) : cap;
      if (cur.length && (cur[0].dtype !== p.dtype || bytes >= limit)) close();
      cur.push(p);
      bytes += p.numel() * (p.dtype === 'float64' ? 8 : 4);
    }
    close();
    for (const p of params) p.registerPostAccumulateGradHook((q) => this.onGrad(q as Parameter));
  }

  forward(...args: unknown[]): ReturnType<M['forward']> {
    if (this.broadcastBuffers && getWorldSize() > 1) {
      const bufs = this.module.buffers();
      if (bufs.length) broadcastCoalesced(bufs, 0);
    }
    return (this.module.call as (...a: unknown[]) => ReturnType<M['forward']>)(...args);
  }

  /**
   * Runs fn without all-reducing gradients: they accumulate locally, and the next backward outside
   * noSync all-reduces the sum (gradient accumulation; torch's no_sync()).
   */
  noSync<T>(fn: () => T): T {
    const prev = this.syncing;
    this.syncing = false;
    try {
      return fn();
    } finally {
      this.syncing = prev;
    }
  }

  /** The buckets' sizes in elements, in launch order (for tests and tuning). */
  bucketSizes(): number[] {
    return this.buckets.map((b) => b.flat.numel());
  }

  /** How many buckets' all-reduces this backward has started so far (0 outside a backward). */
  launchedBuckets(): number {
    return this.nextLaunch;
  }

  private onGrad(p: Parameter): void {
    if (!this.syncing) return;
    if (!this.armed) {
      this.armed = true;
      for (const b of this.buckets) b.pending = b.params.length;
      queueCallback(() => this.finish());
    }
    const [b, off] = this.where.get(p)!;
    if (this.ready.has(p)) return;
    this.ready.add(p);
    b.flat.storage.data.set(contiguousValues(p.grad!) as never, off);
    if (--b.pending === 0) this.launchReady();
    // NOTE: in inline progress mode this is what moves the buckets in flight along (no-op otherwise)
    else progress();
  }

  private launchReady(): void {
    while (this.nextLaunch < this.buckets.length && this.buckets[this.nextLaunch].pending === 0) {
      const b = this.buckets[this.nextLaunch++];
      b.work = allReduce(b.flat, { op: 'avg', asyncOp: true });
    }
  }

  private finish(): void {
    this.armed = false;
    const missing = this.buckets.flatMap((b) => b.params.filter((p) => !this.ready.has(p)));
    if (missing.length) {
      if (!this.findUnused) {
        const names = new Map([...this.module.namedParameters()].map(([n, p]) => [p, n]));
        for (const b of this.buckets) b.work?.wait();
        this.reset();
        throw new Error(
          `DistributedDataParallel: ${missing.length} parameter(s) got no gradient in this backward ` +
            `(${missing
              .slice(0, 5)
              .map((p) => names.get(p))
              .join(', ')}); pass findUnusedParameters: true`,
        );
      }
      for (const p of missing) {
        const [b, off] = this.where.get(p)!;
        b.flat.storage.data.fill(0, off, off + p.numel());
        b.pending--;
      }
      this.launchReady();
    }
    for (const b of this.buckets) {
      b.work!.wait();
      const v = b.flat.storage.data;
      b.params.forEach((p, i) => {
        const off = b.offsets[i];
        p.grad = fromTypedArray(v.slice(off, off + p.numel())).reshape([...p.shape]);
      });
    }
    this.reset();
  }

  private reset(): void {
    this.ready.clear();
    this.nextLaunch = 0;
    for (const b of this.buckets) b.work = null;
  }

  override extraRepr(): string {
    return `rank=${getRank()}, world=${getWorldSize()}, buckets=[${this.bucketSizes().join(', ')}]`;
  }
}
