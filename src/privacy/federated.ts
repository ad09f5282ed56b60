// Federated averaging (McMahan et al. 2017, "Communication-Efficient Learning of Deep Networks from
// Decentralized Data", Algorithm 1: FederatedAveraging), simulated in one process: K clients each hold a
// part of the data; every round a fraction C of them, chosen at random, trains the global model for E local
// epochs of minibatch SGD (batch B) on its own data, and the server replaces the global weights by the
// average of the clients' weights, weighted by their example counts n_k.
// Splits: IID (a random equal partition) and the paper's pathological non-IID one (sort by label, cut
// into 2K shards, give each client 2 shards, so most clients see only two classes).
//
// Glossary: K = clients, C = clientFraction, E = localEpochs, B = batchSize, n_k = client k's examples.

import { enableGrad, noGrad } from '../autograd/grad_mode.js';
import { DataLoader } from '../data/dataloader.js';
import { type Dataset, Subset } from '../data/dataset.js';
import { CrossEntropyLoss } from '../nn/losses.js';
import type { Module, StateDict } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { SGD } from '../optim/sgd.js';
import { isFloating } from '../tensor/dtype.js';
import { type Generator, defaultGenerator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

function checkClients(op: string, n: number, k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new Error(`${op}: numClients must be a positive integer, got ${k}`);
  if (k > n) throw new Error(`${op}: ${k} clients but only ${n} examples`);
}

/** An IID split: a random permutation cut into numClients parts of equal size (the first ones get the rest). */
export function splitIID<T>(dataset: Dataset<T>, numClients: number, generator?: Generator): Subset<T>[] {
  checkClients('privacy.federated.splitIID', dataset.length, numClients);
  const perm = (generator ?? defaultGenerator()).permutation(dataset.length);
  const out: Subset<T>[] = [];
  let at = 0;
  for (let k = 0; k < numClients; k++) {
    const size = Math.floor(dataset.length / numClients) + (k < dataset.length % numClients ? 1 : 0);
    out.push(new Subset(dataset, perm.subarray(at, at + size)));
    at += size;
  }
  return out;
}

export interface NonIIDOptions<T> {
  /** Shards per client (McMahan et al.: 2). */
  shardsPerClient?: number;
  /** An item's label (default: item[1], as for [input, label] datasets). */
  labelOf?: (item: T) => number;
  generator?: Generator;
}

/**
 * McMahan et al.'s non-IID split: examples sorted by label, cut into numClients * shardsPerClient shards
 * of equal size, and each client given shardsPerClient shards at random; most clients see few classes.
 */
export function splitNonIID<T>(dataset: Dataset<T>, numClients: number, opts: NonIIDOptions<T> = {}): Subset<T>[] {
  const op = 'privacy.federated.splitNonIID';
  checkClients(op, dataset.length, numClients);
  const per = opts.shardsPerClient ?? 2;
  if (!Number.isInteger(per) || per < 1) throw new Error(`${op}: shardsPerClient must be a positive integer`);
  const shards = numClients * per;
  if (shards > dataset.length) throw new Error(`${op}: ${shards} shards but only ${dataset.length} examples`);
  const labelOf = opts.labelOf ?? ((item: T) => (item as unknown as [unknown, number])[1]);
  const labels = Array.from({ length: dataset.length }, (_, i) => {
    const y = Number(labelOf(dataset.getItem(i)));
    if (!Number.isFinite(y)) throw new Error(`${op}: item ${i} has no numeric label (pass labelOf)`);
    return y;
  });
  // stable sort by label: ties keep their order
  const order = Array.from({ length: dataset.length }, (_, i) => i).sort((a, b) => labels[a] - labels[b] || a - b);
  const size = Math.floor(dataset.length / shards);
  const shardOrder = (opts.generator ?? defaultGenerator()).permutation(shards);
  return Array.from({ length: numClients }, (_, k) => {
    const idx: number[] = [];
    for (let j = 0; j < per; j++) {
      const s = shardOrder[k * per + j];
      // the last shard also takes the remainder of the division
      const end = s === shards - 1 ? dataset.length : (s + 1) * size;
      for (let i = s * size; i < end; i++) idx.push(order[i]);
    }
    return new Subset(dataset, idx);
  });
}

/**
 * The weighted mean of state dicts with the same keys and shapes (FedAvg's server update):
 * sum_k w_k sd_k / sum_k w_k for floating tensors; other tensors (counters) come from the first dict.
 */
export function averageStateDicts(dicts: readonly StateDict[], weights?: readonly number[]): StateDict {
  const op = 'privacy.federated.averageStateDicts';
  if (dicts.length === 0) throw new Error(`${op}: no state dicts to average`);
  const w = weights ?? dicts.map(() => 1);
  if (w.length !== dicts.length) throw new Error(`${op}: ${dicts.length} state dicts but ${w.length} weights`);
  if (w.some((x) => !(x >= 0)) || !(w.reduce((a, b) => a + b, 0) > 0))
    throw new Error(`${op}: weights must be >= 0 with a positive sum, got [${w.join(', ')}]`);
  const total = w.reduce((a, b) => a + b, 0);
  const keys = Object.keys(dicts[0]);
  const out: StateDict = {};
  noGrad(() => {
    for (const key of keys) {
      const first = dicts[0][key];
      dicts.forEach((d, k) => {
        const t = d[key];
        if (!t) throw new Error(`${op}: state dict ${k} has no '${key}'`);
        if (t.shape.join() !== first.shape.join())
          throw new Error(`${op}: '${key}' has shape [${t.shape}] in dict ${k} but [${first.shape}] in dict 0`);
      });
      if (!isFloating(first.dtype)) {
        out[key] = first.clone();
        continue;
      }
      let acc: Tensor | null = null;
      dicts.forEach((d, k) => {
        const term = d[key].mul(w[k] / total);
        acc = acc ? acc.add(term) : term;
      });
      out[key] = acc as unknown as Tensor;
    }
  });
  return out;
}

export interface FedAvgOptions {
  /** C: the fraction of clients that train each round (at least one does). Default 0.1. */
  clientFraction?: number;
  /** E: local epochs per round. Default 1. */
  localEpochs?: number;
  /** B: local minibatch size. Default 10. */
  batchSize?: number;
  /** Local SGD learning rate when no optimizer factory is given. Default 0.05. */
  lr?: number;
  /** A fresh local optimiser over a client's parameters (default SGD at lr). */
  optimizer?: (params: Tensor[]) => Optimizer;
  /** loss(output, target) -> scalar (default cross-entropy). */
  loss?: (output: Tensor, target: Tensor) => Tensor;
  /** Client selection and local shuffles. */
  generator?: Generator;
}

/** What one round did. */
export interface RoundResult {
  round: number;
  /** The clients that trained. */
  clients: number[];
  /** Their mean local training loss. */
  loss: number;
}

/**
 * FedAvg over simulated clients. The model is the global model: each round() loads it into every chosen
 * client in turn, trains locally, and sets it to the n_k-weighted average of the clients' weights.
 *
 * ```ts
 * const clients = nb.privacy.federated.splitNonIID(train, 100);
 * const fl = new nb.privacy.federated.FedAvg(model, clients, { clientFraction: 0.1, localEpochs: 5 });
 * for (let r = 0; r < 50; r++) fl.round();
 * ```
 */
export class FedAvg {
  readonly clientFraction: number;
  readonly localEpochs: number;
  readonly batchSize: number;
  rounds = 0;
  private readonly opts: FedAvgOptions;

  constructor(
    readonly model: Module,
    readonly clients: readonly Dataset<unknown>[],
    opts: FedAvgOptions = {},
  ) {
    const op = 'privacy.federated.FedAvg';
    if (!clients.length) throw new Error(`${op}: no clients`);
    clients.forEach((c, k) => {
      if (!c || typeof c.getItem !== 'function' || !(c.length > 0))
        throw new Error(`${op}: client ${k} is not a non-empty Dataset`);
    });
    this.clientFraction = opts.clientFraction ?? 0.1;
    if (!(this.clientFraction > 0 && this.clientFraction <= 1))
      throw new Error(`${op}: clientFraction must lie in (0, 1], got ${this.clientFraction}`);
    this.localEpochs = opts.localEpochs ?? 1;
    this.batchSize = opts.batchSize ?? 10;
    for (const [k, v] of [
      ['localEpochs', this.localEpochs],
      ['batchSize', this.batchSize],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: ${k} must be a positive integer, got ${v}`);
    }
    this.opts = opts;
  }

  /** One round of FedAvg: m = max(round(C K), 1) clients train from the global weights; the server averages. */
  round(): RoundResult {
    const gen = this.opts.generator ?? defaultGenerator();
    const K = this.clients.length;
    const m = Math.max(1, Math.round(this.clientFraction * K));
    const chosen = Array.from(gen.permutation(K).subarray(0, m)).sort((a, b) => a - b);
    const serverState = cloneState(this.model.stateDict());
    const states: StateDict[] = [];
    const sizes: number[] = [];
    let lossSum = 0,
      lossSteps = 0;
    const lossFn = this.opts.loss ?? ((y: Tensor, t: Tensor) => new CrossEntropyLoss().call(y, t));
    for (const k of chosen) {
      this.model.loadStateDict(serverState);
      this.model.train();
      const params = this.model.parameters().filter((p) => p.requiresGrad);
      const opt = this.opts.optimizer ? this.opts.optimizer(params) : new SGD(params, { lr: this.opts.lr ?? 0.05 });
      const loader = new DataLoader(this.clients[k], { batchSize: this.batchSize, shuffle: true, generator: gen });
      enableGrad(() => {
        for (let e = 0; e < this.localEpochs; e++) {
          for (const [x, y] of loader as Iterable<[Tensor, Tensor]>) {
            opt.zeroGrad();
            const loss = lossFn(this.model.call(x) as Tensor, y);
            loss.backward();
            opt.step();
            lossSum += loss.item();
            lossSteps++;
          }
        }
      });
      states.push(cloneState(this.model.stateDict()));
      sizes.push(this.clients[k].length);
    }
    this.model.loadStateDict(averageStateDicts(states, sizes));
    this.rounds++;
    return { round: this.rounds, clients: chosen, loss: lossSum / Math.max(1, lossSteps) };
  }
}

function cloneState(sd: StateDict): StateDict {
  return Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, v.clone()]));
}
