// The backward pass: an iterative walk of the graph (no recursion, so a 100,000-deep chain is fine).
// Dependencies are counted first; a node runs once every consumer has sent it a gradient, and the
// gradients of a node's several consumers are summed before it runs.

import { add } from '../ops/binary.js';
import { enableGrad, noGrad } from './grad_mode.js';
import { AccumulateGrad, type Node } from './node.js';
import { lastStorageSerial, type Storage, type Tensor } from '../tensor/tensor.js';

export interface BackwardOptions {
  retainGraph?: boolean;
  createGraph?: boolean;
}

let depth = 0;
let finalCallbacks: (() => void)[] = [];

/**
 * Runs `fn` once the backward pass now running has finished, after every .grad is final (torch's
 * Variable._execution_engine.queue_callback): DistributedDataParallel waits for its last all-reduce there.
 * Only valid from inside a backward pass (a hook).
 */
export function queueCallback(fn: () => void): void {
  if (depth === 0) throw new Error('queueCallback: no backward pass is running (call it from a gradient hook)');
  finalCallbacks.push(fn);
}

/**
 * Runs backward from roots. Without `inputs`, leaf gradients accumulate into `.grad`.
 * With `inputs` (autograd.grad), their gradients are returned instead and no `.grad` is touched.
 */
export function runBackward(
  roots: Tensor[],
  rootGrads: Tensor[],
  opts: BackwardOptions,
  inputs?: Tensor[],
): (Tensor | null)[] | undefined {
  const createGraph = opts.createGraph ?? false;
  const retainGraph = opts.retainGraph ?? createGraph;
  const grads = new Map<Node, Tensor>();
  // NOTE: a leaf's first gradient becomes its .grad without a copy when this pass made its buffer and
  // handed it to nothing else (PyTorch's AccumulateGrad steals an unshared gradient the same way);
  // `handouts` counts where each buffer went, and any leaf whose buffer went elsewhere too, or that
  // a hook saw, gets a copy after the pass.
  const start = lastStorageSerial();
  const handouts = new Map<Storage, number>();
  const note = (t: Tensor, n = 1) => {
    handouts.set(t.storage, (handouts.get(t.storage) ?? 0) + n);
  };
  const stolen: Tensor[] = [];
  const rootNodes: Node[] = [];
  roots.forEach((r, i) => {
    const node = r.gradFn ?? (r.requiresGrad ? r.accumulateNode() : null);
    if (node === null) {
      throw new Error(`backward: element ${i} of tensors does not require grad and does not have a grad_fn`);
    }
    rootNodes.push(node);
    const prev = grads.get(node);
    grads.set(node, prev ? add(prev, rootGrads[i]) : rootGrads[i]);
  });

  const captureIndex = new Map<Node, number>();
  inputs?.forEach((t, i) => {
    if (!t.requiresGrad) throw new Error(`autograd.grad: input ${i} does not require grad`);
    captureIndex.set(t.gradFn ?? t.accumulateNode(), i);
  });
  const captured: (Tensor | null)[] = inputs ? inputs.map(() => null) : [];

  // Count, for each reachable node, how many edges point to it.
  const deps = new Map<Node, number>();
  const seen = new Set<Node>(rootNodes);
  const stack = [...seen];
  while (stack.length) {
    const n = stack.pop()!;
    for (const m of n.next) {
      if (!m) continue;
      deps.set(m, (deps.get(m) ?? 0) + 1);
      if (!seen.has(m)) {
        seen.add(m);
        stack.push(m);
      }
    }
  }

  const run = () => {
    const ready = [...new Set(rootNodes)].filter((n) => !deps.get(n));
    while (ready.length) {
      const node = ready.pop()!;
      let g = grads.get(node);
      grads.delete(node);
      if (g !== undefined) {
        if (node.hooks.length) note(g, 2); /* a hook may keep what it sees */
        for (const h of node.hooks) {
          const r = h(g);
          if (r) {
            g = r;
            note(g, 2);
          }
        }
        if (node.retained) {
          const t = node.retained;
          t.grad = t.grad ? add(t.grad, g) : g.detach();
          note(g);
        }
        const ci = captureIndex.get(node);
        if (ci !== undefined) {
          const gi = g.dtype === inputs![ci].dtype ? g : g.to(inputs![ci].dtype);
          captured[ci] = captured[ci] ? add(captured[ci]!, gi) : gi;
        }
      }
      if (node instanceof AccumulateGrad) {
        if (g !== undefined && !inputs) {
          const v = node.variable;
          if (!createGraph && v.grad === null && g.dtype === v.dtype && g.storage.serial > start) {
            v.grad = g.detach();
            stolen.push(v);
          } else accumulate(v, g, createGraph);
          for (const h of node.postHooks) h(v);
        }
        continue;
      }
      const out = g !== undefined ? node.apply(g, retainGraph) : [];
      node.next.forEach((m, i) => {
        if (!m) return;
        const gi = out[i];
        if (gi) {
          note(gi);
          const prev = grads.get(m);
          grads.set(m, prev ? add(prev, gi) : gi);
        }
        const d = deps.get(m)! - 1;
        deps.set(m, d);
        if (d === 0) ready.push(m);
      });
    }
  };
  const outer = depth === 0;
  depth++;
  try {
    if (createGraph) enableGrad(run);
    else noGrad(run);
    for (const v of stolen) if ((handouts.get(v.grad!.storage) ?? 0) > 1) v.grad = noGrad(() => v.grad!.clone());
  } finally {
    depth--;
    if (outer) {
      const cbs = finalCallbacks;
      finalCallbacks = [];
      for (const cb of cbs) cb();
    }
  }
  return inputs ? captured : undefined;
}

function accumulate(v: Tensor, g: Tensor, createGraph: boolean): void {
  // a gradient always has its tensor's dtype (e.g. backward(float32 ones) on a float64 output)
  if (g.dtype !== v.dtype) g = g.to(v.dtype);
  if (!createGraph) g = g.detach();
  if (v.grad === null) {
    // NOTE: the first gradient may alias another tensor (add's backward passes g through to both
    // inputs); own a copy so that in-place updates of one .grad never change another.
    v.grad = createGraph ? g : g.clone();
  } else {
    v.grad = createGraph ? add(v.grad, g) : noGrad(() => add(v.grad!, g));
  }
}
