// Graph nodes. Each differentiable op's output holds a Node (its gradFn): the edges to the nodes of
// its inputs, the tensors it saved for backward (with their storage versions, so an in-place change
// after saving is caught), and the backward closure, written with differentiable Tensor ops.
// Leaves that require grad get an AccumulateGrad node, where their hooks live.

import type { Tensor } from '../tensor/tensor.js';

export type GradHook = (grad: Tensor) => Tensor | void;

/** Returns one gradient per input (null where the input needs none). */
export type BackwardFn = (grad: Tensor, saved: Tensor[]) => (Tensor | null)[];

let seq = 0;

export class Node {
  readonly seq = seq++;
  /** Pre-hooks on this node's output gradient (Tensor.registerHook on a non-leaf). */
  hooks: GradHook[] = [];
  /** Set by retainGrad(): the non-leaf tensor whose .grad receives this node's gradient. */
  retained: Tensor | null = null;
  private saved: Tensor[] | null;
  private versions: number[];
  private fn: BackwardFn | null;

  constructor(
    readonly name: string,
    /** For each input: the node its gradient flows to, or null if it needs none. */
    readonly next: (Node | null)[],
    fn: BackwardFn | null,
    saved: Tensor[] = [],
  ) {
    this.fn = fn;
    this.saved = saved;
    this.versions = saved.map((t) => t.version);
  }

  /** Calls the backward closure; throws if the graph was freed or a saved tensor changed in place. */
  apply(grad: Tensor, retainGraph: boolean): (Tensor | null)[] {
    if (this.fn === null || this.saved === null) {
      throw new Error(
        `${this.name}: trying to backward through the graph a second time (or directly access saved ` +
          `tensors after they have already been freed). Saved intermediate values of the graph are freed ` +
          `when you call backward(); specify retainGraph: true if you need to backward a second time.`,
      );
    }
    for (let i = 0; i < this.saved.length; i++) {
      const t = this.saved[i];
      if (t.version !== this.versions[i]) {
        throw new Error(
          `${this.name}: one of the variables needed for gradient computation has been modified by an ` +
            `inplace operation: tensor of shape [${t.shape.join(', ')}] (${t.dtype}) is at version ${t.version}; ` +
            `expected version ${this.versions[i]} instead.`,
        );
      }
    }
    const saved = this.saved;
    const fn = this.fn;
    if (!retainGraph) this.release();
    return fn(grad, saved);
  }

  release(): void {
    this.saved = null;
    this.fn = null;
  }
}

/** Called with the leaf once its .grad holds this pass's gradient (Tensor.registerPostAccumulateGradHook). */
export type PostAccumulateGradHook = (param: Tensor) => void;

/** The sink for a leaf tensor's gradient. */
export class AccumulateGrad extends Node {
  postHooks: PostAccumulateGradHook[] = [];
  constructor(readonly variable: Tensor) {
    super('AccumulateGrad', [], null);
  }
}
