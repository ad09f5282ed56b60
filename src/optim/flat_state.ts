// An optimiser's stateDict() as flat tensors plus JSON, for checkpoints in safetensors (which holds
// tensors and string metadata only): each state tensor becomes `${prefix}<param index>.<name>` in
// its own dtype (moments, momentum buffers), and the numbers (step counts), nulls and parameter
// groups (hyper-parameters, current lr) go to a JSON string. Both round-trip exactly.

import { Tensor } from '../tensor/tensor.js';
import type { Optimizer, OptimizerStateDict, ParamState } from './optimizer.js';

export interface FlatOptimizerState {
  tensors: Record<string, Tensor>;
  /** JSON: {className, paramGroups, state: {index: {name: number | null}}}. */
  json: string;
}

/** The optimiser's state as tensors named `${prefix}<i>.<name>` and a JSON string for the rest. */
export function flattenOptimizerState(opt: Optimizer, prefix: string): FlatOptimizerState {
  const sd = opt.stateDict();
  const tensors: Record<string, Tensor> = {};
  const scalars: Record<string, Record<string, number | null>> = {};
  for (const [i, st] of Object.entries(sd.state)) {
    scalars[i] = {};
    for (const [k, v] of Object.entries(st)) {
      if (v instanceof Tensor) tensors[`${prefix}${i}.${k}`] = v;
      else scalars[i][k] = v;
    }
  }
  const json = JSON.stringify({ className: opt.constructor.name, paramGroups: sd.paramGroups, state: scalars });
  return { tensors, json };
}

/** Loads what flattenOptimizerState wrote into `opt` (same class, same parameter groups); `where` names the file. */
export function loadFlatOptimizerState(
  opt: Optimizer,
  tensors: Record<string, Tensor>,
  json: string,
  prefix: string,
  where: string,
): void {
  let meta: {
    className: string;
    paramGroups: OptimizerStateDict['paramGroups'];
    state: Record<string, Record<string, number | null>>;
  };
  try {
    meta = JSON.parse(json);
  } catch (e) {
    throw new Error(`${where}: the optimizer state is not valid JSON (${(e as Error).message})`);
  }
  if (meta?.className !== opt.constructor.name) {
    throw new Error(
      `${where} holds the state of a ${String(meta?.className)} optimizer, but this run uses ` +
        `${opt.constructor.name}`,
    );
  }
  const state: Record<number, ParamState> = {};
  for (const [i, st] of Object.entries(meta.state ?? {})) state[Number(i)] = { ...st };
  for (const [k, t] of Object.entries(tensors)) {
    if (!k.startsWith(prefix)) continue;
    const m = /^(\d+)\.(.+)$/.exec(k.slice(prefix.length));
    if (!m) throw new Error(`${where}: optimizer state tensor '${k}' is not named ${prefix}<index>.<name>`);
    const i = Number(m[1]);
    state[i] ??= {};
    state[i][m[2]] = t;
  }
  opt.loadStateDict({ state, paramGroups: meta.paramGroups });
}
