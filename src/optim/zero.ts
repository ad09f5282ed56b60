// ZeroRedundancyOptimizer (torch.distributed.optim.ZeroRedundancyOptimizer, ZeRO stage 1): each rank
// keeps optimiser state (Adam's moments, SGD's momentum) for its own share of the parameters only, so the
// state's memory is divided by the world size. Every rank steps its share with the gradients DDP has
// already averaged, then each share is broadcast from its owner so all ranks hold the same parameters.
// Shares are assigned as torch does: parameters by size, largest first, each to the least-loaded rank.

import { broadcastCoalesced, broadcastJson } from '../distributed/coalesced.js';
import { getRank, getWorldSize, isInitialized } from '../distributed/process_group.js';
import { Tensor } from '../tensor/tensor.js';
import { Optimizer, type OptimizerStateDict, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';
import { zeros } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';

/** An optimiser class (SGD, Adam, ...), as ZeroRedundancyOptimizer takes it. */
// biome-ignore lint/suspicious/noExplicitAny: each optimiser class has its own options type
export type OptimizerClass<O extends Optimizer> = new (params: ParamsInput, opts: any) => O;

/**
 * Wraps an optimiser class so that its state is sharded across ranks (initProcessGroup first).
 *
 * @example
 * const opt = new nb.optim.ZeroRedundancyOptimizer(ddp.parameters(), nb.optim.Adam, { lr: 1e-3 });
 * loss.backward(); // DDP averages the gradients
 * opt.step();      // this rank updates its share, then every share is broadcast
 */
export class ZeroRedundancyOptimizer<O extends Optimizer = Optimizer> extends Optimizer {
  /** The optimiser over this rank's share (null when the rank owns no parameter). */
  readonly optim: O | null;
  /** partitions[r]: the parameters rank r updates. */
  readonly partitions: Tensor[][];
  private readonly localGroups: number[];
  private consolidated: OptimizerStateDict | null = null;

  constructor(params: ParamsInput, optimizerClass: OptimizerClass<O>, defaults: Record<string, unknown> = {}) {
    if (!isInitialized())
      throw new Error('ZeroRedundancyOptimizer: the default process group is not initialized (initProcessGroup first)');
    const list = [...params] as unknown[];
    const first = list[0] instanceof Tensor ? list[0] : (list[0] as { params?: Iterable<Tensor> })?.params;
    const probe = first instanceof Tensor ? first : first ? [...first][0] : undefined;
    if (!probe) throw new Error('ZeroRedundancyOptimizer: optimizer got an empty parameter list');
    // the optimiser class's own defaults, filled in, so the groups here carry every hyper-parameter
    super(list as ParamsInput, new optimizerClass([probe], defaults).defaults);
    const size = getWorldSize(),
      rank = getRank();
    const all = this.paramGroups.flatMap((g) => g.params);
    const load = new Array<number>(size).fill(0);
    const owner = new Map<Tensor, number>();
    for (const p of [...all].sort((a, b) => b.numel() - a.numel())) {
      const r = load.indexOf(Math.min(...load));
      owner.set(p, r);
      load[r] += p.numel();
    }
    this.partitions = Array.from({ length: size }, (_, r) => all.filter((p) => owner.get(p) === r));
    const groups: Record<string, unknown>[] = [];
    this.localGroups = [];
    this.paramGroups.forEach((g, gi) => {
      const mine = g.params.filter((p) => owner.get(p) === rank);
      if (!mine.length) return;
      const { params: _all, ...opts } = g;
      groups.push({ ...opts, params: mine });
      this.localGroups.push(gi);
    });
    this.optim = groups.length ? new optimizerClass(groups as ParamsInput, defaults) : null;
  }

  /** Steps this rank's share, then broadcasts every share from its owner (all ranks must call it). */
  override step(closure?: () => number | Tensor): number | undefined {
    let loss: number | undefined;
    if (closure) {
      const r = closure();
      loss = r instanceof Tensor ? r.item() : r;
    }
    if (this.optim) {
      // hyper-parameters set on this wrapper (an LR scheduler) reach the local optimiser
      this.optim.paramGroups.forEach((lg, i) => {
        const { params: _p, ...opts } = this.paramGroups[this.localGroups[i]];
        Object.assign(lg, opts);
      });
      this.optim.step();
    }
    this.partitions.forEach((ps, r) => {
      if (ps.length) broadcastCoalesced(ps, r);
    });
    return loss;
  }

  /**
   * Gathers every rank's share of the state onto rank `to`, whose stateDict() then returns the whole of
   * it in Optimizer's format (torch's consolidate_state_dict); every rank must call it.
   */
  consolidateStateDict(to = 0): void {
    const size = getWorldSize(),
      rank = getRank();
    if (!Number.isInteger(to) || to < 0 || to >= size) throw new Error(`consolidateStateDict: to=${to} is not a rank`);
    const all = this.paramGroups.flatMap((g) => g.params);
    const index = new Map(all.map((p, i) => [p, i]));
    const state: Record<number, ParamState> = {};
    for (let r = 0; r < size; r++) {
      // the owner describes its entries (numbers inline, tensor shapes), then sends the tensors coalesced
      const entries: { i: number; nums: Record<string, number | null>; shapes: [string, number[], DType][] }[] = [];
      if (r === rank && this.optim) {
        for (const [p, st] of this.optim.state) {
          const e = {
            i: index.get(p)!,
            nums: {} as Record<string, number | null>,
            shapes: [] as [string, number[], DType][],
          };
          for (const [k, v] of Object.entries(st)) {
            if (v instanceof Tensor) e.shapes.push([k, [...v.shape], v.dtype]);
            else e.nums[k] = v;
          }
          entries.push(e);
        }
      }
      const meta = broadcastJson(r === rank ? entries : null, r) as typeof entries;
      const tensors: Tensor[] = [];
      for (const e of meta) {
        const st: ParamState = { ...e.nums };
        for (const [k, shape, dtype] of e.shapes) {
          const v = r === rank ? (this.optim!.state.get(all[e.i])![k] as Tensor).clone() : zeros(shape, { dtype });
          st[k] = v;
          tensors.push(v);
        }
        if (rank === to) state[e.i] = st;
      }
      if (tensors.length) broadcastCoalesced(tensors, r);
    }
    this.consolidated =
      rank === to
        ? {
            state,
            paramGroups: this.paramGroups.map((g) => {
              const { params, ...opts } = g;
              return { ...structuredClone(opts), params: params.map((p) => index.get(p)!) };
            }),
          }
        : null;
  }

  /** The whole state, on the rank consolidateStateDict gathered it to. */
  override stateDict(): OptimizerStateDict {
    if (!this.consolidated)
      throw new Error(
        `ZeroRedundancyOptimizer.stateDict: rank ${getRank()} holds no consolidated state; call ` +
          'consolidateStateDict(to) on every rank first, then stateDict() on rank `to`',
      );
    return this.consolidated;
  }

  /** Loads a whole state dict (from stateDict()) on every rank; each keeps its own share. */
  override loadStateDict(sd: OptimizerStateDict): void {
    if (!sd || !Array.isArray(sd.paramGroups) || sd.paramGroups.length !== this.paramGroups.length)
      throw new Error("ZeroRedundancyOptimizer.loadStateDict: its parameter groups do not match this optimiser's");
    this.paramGroups.forEach((g, gi) => {
      const { params: _ids, ...opts } = sd.paramGroups[gi];
      Object.assign(g, opts);
    });
    if (!this.optim) return;
    const byParam = new Map<Tensor, number>();
    sd.paramGroups.forEach((g, gi) => {
      g.params.forEach((id, k) => {
        byParam.set(this.paramGroups[gi].params[k], id);
      });
    });
    const local = this.optim.stateDict();
    const localParams = this.optim.paramGroups.flatMap((g) => g.params);
    const state: Record<number, ParamState> = {};
    localParams.forEach((p, li) => {
      const st = sd.state[byParam.get(p) ?? -1];
      if (st) state[li] = st;
    });
    local.paramGroups.forEach((lg, i) => {
      const { params: _ids, ...opts } = sd.paramGroups[this.localGroups[i]];
      Object.assign(lg, opts);
    });
    this.optim.loadStateDict({ state, paramGroups: local.paramGroups });
  }

  protected initState(p: Tensor, _group: ParamGroup): ParamState {
    throw new Error(`ZeroRedundancyOptimizer: steps go through its local optimiser (${p.shape})`);
  }
  protected updateParam(): void {
    throw new Error('ZeroRedundancyOptimizer: steps go through its local optimiser');
  }
}
