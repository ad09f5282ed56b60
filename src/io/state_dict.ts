// Key remapping for state dicts: checkpoints from other code bases differ in prefixes
// ('module.' from DataParallel, 'transformer.' in Hugging Face GPT-2) and in layouts (GPT-2's
// Conv1D stores Linear weights as (in, out)). Every helper returns a new object; tensors are shared.
import type { Tensor } from '../tensor/tensor.js';

export type StateDict = Record<string, Tensor>;

function rebuild(sd: StateDict, f: (k: string, v: Tensor) => [string, Tensor] | null, op: string): StateDict {
  const out: StateDict = {};
  for (const [k, v] of Object.entries(sd)) {
    const r = f(k, v);
    if (!r) continue;
    if (Object.hasOwn(out, r[0])) throw new Error(`${op}: two keys map to '${r[0]}'`);
    Object.defineProperty(out, r[0], { value: r[1], enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Removes `prefix` from every key that starts with it (others are kept unless `dropOthers`). */
export function stripPrefix(sd: StateDict, prefix: string, opts: { dropOthers?: boolean } = {}): StateDict {
  return rebuild(
    sd,
    (k, v) => (k.startsWith(prefix) ? [k.slice(prefix.length), v] : opts.dropOthers ? null : [k, v]),
    'stripPrefix',
  );
}

/** Prepends `prefix` to every key. */
export function addPrefix(sd: StateDict, prefix: string): StateDict {
  return rebuild(sd, (k, v) => [prefix + k, v], 'addPrefix');
}

/** Renames keys with `fn`; returning null or undefined drops the entry. */
export function renameKeys(sd: StateDict, fn: (key: string) => string | null | undefined): StateDict {
  return rebuild(
    sd,
    (k, v) => {
      const n = fn(k);
      return n == null ? null : [n, v];
    },
    'renameKeys',
  );
}

/**
 * Transposes the 2-D tensors whose key matches `predicate` (a view, no copy), e.g. GPT-2's Conv1D
 * weights (in, out) -> Linear (out, in).
 * @example transposeKeys(sd, (k) => /\.(c_attn|c_proj|c_fc)\.weight$/.test(k))
 */
export function transposeKeys(sd: StateDict, predicate: ((key: string) => boolean) | RegExp): StateDict {
  const match = predicate instanceof RegExp ? (k: string) => predicate.test(k) : predicate;
  return rebuild(
    sd,
    (k, v) => {
      if (!match(k)) return [k, v];
      if (v.ndim !== 2) throw new Error(`transposeKeys: '${k}' has shape [${v.shape.join(', ')}], expected 2-D`);
      return [k, v.t()];
    },
    'transposeKeys',
  );
}
