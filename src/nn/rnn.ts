// Recurrent layers with PyTorch's gate order and parameter names: RNN (tanh | relu), LSTM (i, f, g, o)
// and GRU (r, z, n), multi-layer and bidirectional, plus RNNCell, LSTMCell and GRUCell.
// Glossary: T time steps, N batch, I input size, H hidden size, G gate size (H, 4H or 3H),
// D directions (1 or 2), NL layers. Sequences are (T, N, I), or (N, T, I) with batchFirst.

import { empty, zeros } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { stack, cat } from '../ops/movement.js';
import { dropout, linear } from '../ops/nn_ops.js';
import { fmtShape } from '../tensor/layout.js';
import { Module, Parameter } from './module.js';
import { uniform_ } from './init.js';
import { inputError, pyBool } from './util.js';

export type RNNMode = 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';

/**
 * Sees each projection a recurrent module makes, with its input: 'ih' x (T, N, I) -> x W_ih^T + b_ih (T, N, G)
 * once per layer and direction (a cell: x (N, I) -> (N, G)), and 'hh' h (N, H) -> h W_hh^T + b_hh (N, G) at every
 * step. sfx names the parameters ('_l0', '_l1_reverse'; '' for a cell). Per-sample gradient rules
 * (privacy.GradSampleModule) hook the outputs' gradients.
 */
export type ProjectionTap = (kind: 'ih' | 'hh', sfx: string, input: Tensor, output: Tensor) => void;

const taps = new WeakMap<Module, ProjectionTap>();

/** Installs a ProjectionTap on an RNN, LSTM, GRU or one of their cells; one at a time. */
export function registerProjectionTap(m: Module, tap: ProjectionTap): { remove(): void } {
  if (!(m instanceof RNNBase || m instanceof RNNCellBase))
    throw new Error(`registerProjectionTap: ${m.constructor.name} is not a recurrent layer or cell`);
  if (taps.has(m)) throw new Error(`registerProjectionTap: ${m.constructor.name} already has a projection tap`);
  taps.set(m, tap);
  return { remove: () => taps.delete(m) };
}

/** whh as a projection h -> h W_hh^T + b_hh that reports each step to the module's tap, if it has one. */
function tapped(m: Module, sfx: string, project: (h: Tensor) => Tensor): (h: Tensor) => Tensor {
  const tap = taps.get(m);
  if (!tap) return project;
  return (h) => {
    const y = project(h);
    tap('hh', sfx, h, y);
    return y;
  };
}

const GATES: Record<RNNMode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

/**
 * One time step. xp = x W_ih^T + b_ih (N, G) is precomputed; h, c (N, H) -> [h', c'].
 * LSTM: c' = f*c + i*g, h' = o*tanh(c'). GRU: n = tanh(x_n + r*(h W_hn^T + b_hn)), h' = (1-z)*n + z*h.
 */
export function cellStep(
  mode: RNNMode,
  xp: Tensor,
  h: Tensor,
  c: Tensor | null,
  whh: Tensor | ((h: Tensor) => Tensor),
  bhh: Tensor | null,
): [Tensor, Tensor | null] {
  // whh may be the whole projection h -> h W_hh^T + b_hh (a dynamic quantized RNN's)
  const hp = typeof whh === 'function' ? whh(h) : linear(h, whh, bhh);
  if (mode === 'RNN_TANH') return [xp.add(hp).tanh(), null];
  if (mode === 'RNN_RELU') return [xp.add(hp).relu(), null];
  if (mode === 'LSTM') {
    const [i, f, g, o] = xp.add(hp).chunk(4, 1);
    const c2 = f.sigmoid().mul(c!).add(i.sigmoid().mul(g.tanh()));
    return [o.sigmoid().mul(c2.tanh()), c2];
  }
  const [xr, xz, xn] = xp.chunk(3, 1),
    [hr, hz, hn] = hp.chunk(3, 1);
  const r = xr.add(hr).sigmoid(),
    z = xz.add(hz).sigmoid();
  const n = xn.add(r.mul(hn)).tanh();
  return [n.sub(z.mul(n)).add(z.mul(h)), null];
}

export interface RNNOptions {
  numLayers?: number;
  /** RNN only: 'tanh' (default) or 'relu'. */
  nonlinearity?: 'tanh' | 'relu';
  bias?: boolean;
  batchFirst?: boolean;
  /** Dropout on the outputs of each layer but the last, in training. */
  dropout?: number;
  bidirectional?: boolean;
  dtype?: DType;
}

/** An LSTM state: [h, c], each (D*NL, N, H). */
export type LSTMState = [Tensor, Tensor];

abstract class RNNBase extends Module {
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  /** Parameter names in PyTorch's order: per layer, per direction, weight_ih, weight_hh, bias_ih, bias_hh. */
  readonly flatWeightsNames: string[] = [];

  constructor(
    readonly mode: RNNMode,
    readonly inputSize: number,
    readonly hiddenSize: number,
    opts: RNNOptions,
  ) {
    super();
    this.numLayers = opts.numLayers ?? 1;
    this.bias = opts.bias ?? true;
    this.batchFirst = opts.batchFirst ?? false;
    this.dropout = opts.dropout ?? 0;
    this.bidirectional = opts.bidirectional ?? false;
    if (!(this.dropout >= 0 && this.dropout <= 1))
      throw new Error(`${this.constructor.name}: dropout should be a number in range [0, 1], got ${this.dropout}`);
    const D = this.bidirectional ? 2 : 1,
      G = GATES[mode] * hiddenSize,
      dtype = opts.dtype ?? 'float32';
    for (let l = 0; l < this.numLayers; l++) {
      for (let d = 0; d < D; d++) {
        const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
        const inp = l === 0 ? inputSize : hiddenSize * D;
        const add = (name: string, shape: number[]) => {
          this.registerParameter(name + sfx, new Parameter(empty(shape, { dtype })));
          this.flatWeightsNames.push(name + sfx);
        };
        add('weight_ih', [G, inp]);
        add('weight_hh', [G, hiddenSize]);
        if (this.bias) {
          add('bias_ih', [G]);
          add('bias_hh', [G]);
        }
      }
    }
    this.resetParameters();
  }
  resetParameters(): void {
    const k = 1 / Math.sqrt(this.hiddenSize);
    for (const p of this.parameters()) uniform_(p, -k, k);
  }
  private param(name: string): Parameter | null {
    return this._parameters.get(name) ?? null;
  }
  /** x W_ih^T + b_ih of one layer and direction (sfx '_l0', '_l0_reverse', ...); quantized RNNs replace it. */
  protected projectInput(x: Tensor, sfx: string): Tensor {
    return linear(x, this.param('weight_ih' + sfx)!, this.param('bias_ih' + sfx));
  }
  /** h -> h W_hh^T + b_hh of one layer and direction; quantized RNNs replace it. */
  protected projectHidden(sfx: string): (h: Tensor) => Tensor {
    const whh = this.param('weight_hh' + sfx)!,
      bhh = this.param('bias_hh' + sfx);
    return (h) => linear(h, whh, bhh);
  }

  /** Runs every layer and direction. x (T, N, I), h0/c0 (D*NL, N, H) -> out (T, N, D*H), hn, cn. */
  protected run(input: Tensor, h0: Tensor | null, c0: Tensor | null): [Tensor, Tensor, Tensor | null] {
    const D = this.bidirectional ? 2 : 1,
      H = this.hiddenSize,
      NL = this.numLayers,
      lstm = this.mode === 'LSTM';
    const name = this.constructor.name;
    const batched = input.ndim === 3;
    if ((input.ndim !== 2 && input.ndim !== 3) || input.shape[input.ndim - 1] !== this.inputSize) {
      throw inputError(
        this,
        `${this.batchFirst ? '(N, T' : '(T, N'}, ${this.inputSize}) or (T, ${this.inputSize})`,
        input,
      );
    }
    // x (T, N, I)
    let x = !batched ? input.unsqueeze(1) : this.batchFirst ? input.transpose(0, 1) : input;
    const [T, N] = x.shape;
    const state = (s: Tensor | null, what: string): Tensor => {
      if (!s) return zeros([D * NL, N, H], { dtype: x.dtype });
      const want = batched ? [D * NL, N, H] : [D * NL, H];
      if (fmtShape(s.shape) !== fmtShape(want))
        throw new Error(`${name}(${this.extraRepr()}): expected ${what} ${fmtShape(want)}, got ${fmtShape(s.shape)}`);
      return batched ? s : s.unsqueeze(1);
    };
    const h0b = state(h0, 'hidden state'),
      c0b = lstm ? state(c0, 'cell state') : null;
    const hn: Tensor[] = [],
      cn: Tensor[] = [];
    for (let l = 0; l < NL; l++) {
      const outs: Tensor[] = [];
      for (let d = 0; d < D; d++) {
        const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
        // x W_ih^T + b_ih for all steps at once: (T, N, G), split into T steps (N, G) by one unbind, whose
        // backward assembles (T, N, G) once (selecting step by step would cost T² in backward)
        const xpAll = this.projectInput(x, sfx);
        taps.get(this)?.('ih', sfx, x, xpAll);
        const xp = xpAll.unbind(0),
          hh = tapped(this, sfx, this.projectHidden(sfx));
        let h = h0b.select(0, l * D + d),
          c = c0b ? c0b.select(0, l * D + d) : null;
        const ys: Tensor[] = new Array(T);
        for (let s = 0; s < T; s++) {
          const t = d === 1 ? T - 1 - s : s;
          [h, c] = cellStep(this.mode, xp[t], h, c, hh, null);
          ys[t] = h;
        }
        outs.push(stack(ys, 0));
        hn.push(h);
        if (c) cn.push(c);
      }
      x = D === 1 ? outs[0] : cat(outs, 2);
      if (this.dropout > 0 && this.training && l < NL - 1) x = dropout(x, this.dropout, true);
    }
    let out = x,
      h = stack(hn, 0),
      c = lstm ? stack(cn, 0) : null;
    if (!batched) {
      out = out.squeeze(1);
      h = h.squeeze(1);
      c = c ? c.squeeze(1) : null;
    } else if (this.batchFirst) out = out.transpose(0, 1);
    return [out, h, c];
  }

  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (this.numLayers !== 1) s += `, num_layers=${this.numLayers}`;
    if (!this.bias) s += ', bias=False';
    if (this.batchFirst) s += ', batch_first=True';
    if (this.dropout !== 0) s += `, dropout=${this.dropout}`;
    if (this.bidirectional) s += `, bidirectional=${pyBool(true)}`;
    return s;
  }
}

/** Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh). forward(x, h0?) -> [output, h_n]. */
export class RNN extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions = {}) {
    const nl = opts.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu')
      throw new Error(`RNN: unknown nonlinearity '${nl}' (expected 'tanh' or 'relu')`);
    super(nl === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', inputSize, hiddenSize, opts);
  }
  forward(x: Tensor, h0: Tensor | null = null): [Tensor, Tensor] {
    // x (T, N, I) -> output (T, N, D*H), h_n (D*NL, N, H)
    const [out, h] = this.run(x, h0, null);
    return [out, h];
  }
}

/** LSTM with gates i, f, g, o. forward(x, [h0, c0]?) -> [output, [h_n, c_n]]. */
export class LSTM extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, opts: Omit<RNNOptions, 'nonlinearity'> = {}) {
    super('LSTM', inputSize, hiddenSize, opts);
  }
  forward(x: Tensor, hx: LSTMState | null = null): [Tensor, LSTMState] {
    // x (T, N, I) -> output (T, N, D*H), (h_n, c_n) (D*NL, N, H)
    const [out, h, c] = this.run(x, hx ? hx[0] : null, hx ? hx[1] : null);
    return [out, [h, c!]];
  }
}

/** GRU with gates r, z, n. forward(x, h0?) -> [output, h_n]. */
export class GRU extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, opts: Omit<RNNOptions, 'nonlinearity'> = {}) {
    super('GRU', inputSize, hiddenSize, opts);
  }
  forward(x: Tensor, h0: Tensor | null = null): [Tensor, Tensor] {
    // x (T, N, I) -> output (T, N, D*H), h_n (D*NL, N, H)
    const [out, h] = this.run(x, h0, null);
    return [out, h];
  }
}

// ---- cells: one step, parameters weight_ih, weight_hh, bias_ih, bias_hh ----

abstract class RNNCellBase extends Module {
  declare weight_ih: Parameter;
  declare weight_hh: Parameter;
  declare bias_ih: Parameter | null;
  declare bias_hh: Parameter | null;
  constructor(
    readonly mode: RNNMode,
    readonly inputSize: number,
    readonly hiddenSize: number,
    opts: { bias?: boolean; dtype?: DType },
  ) {
    super();
    const G = GATES[mode] * hiddenSize,
      dtype = opts.dtype ?? 'float32',
      bias = opts.bias ?? true;
    this.weight_ih = new Parameter(empty([G, inputSize], { dtype }));
    this.weight_hh = new Parameter(empty([G, hiddenSize], { dtype }));
    this.registerParameter('bias_ih', bias ? new Parameter(empty([G], { dtype })) : null);
    this.registerParameter('bias_hh', bias ? new Parameter(empty([G], { dtype })) : null);
    const k = 1 / Math.sqrt(hiddenSize);
    for (const p of this.parameters()) uniform_(p, -k, k);
  }
  /** input (N, I) or (I); h, c (N, H) or (H) -> [h', c'] of the same rank. */
  protected step(input: Tensor, h: Tensor | null, c: Tensor | null): [Tensor, Tensor | null] {
    const batched = input.ndim === 2;
    if ((input.ndim !== 1 && input.ndim !== 2) || input.shape[input.ndim - 1] !== this.inputSize) {
      throw inputError(this, `(N, ${this.inputSize}) or (${this.inputSize})`, input);
    }
    const x = batched ? input : input.unsqueeze(0);
    const N = x.shape[0];
    const st = (s: Tensor | null): Tensor => {
      if (!s) return zeros([N, this.hiddenSize], { dtype: x.dtype });
      const want = batched ? [N, this.hiddenSize] : [this.hiddenSize];
      if (fmtShape(s.shape) !== fmtShape(want)) throw inputError(this, `state ${fmtShape(want)}`, s);
      return batched ? s : s.unsqueeze(0);
    };
    const lstm = this.mode === 'LSTM';
    const xp = linear(x, this.weight_ih, this.bias_ih);
    taps.get(this)?.('ih', '', x, xp);
    const hh = tapped(this, '', (hp) => linear(hp, this.weight_hh, this.bias_hh));
    const [h2, c2] = cellStep(this.mode, xp, st(h), lstm ? st(c) : null, hh, null);
    return batched ? [h2, c2] : [h2.squeeze(0), c2 ? c2.squeeze(0) : null];
  }
  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (!this.bias_ih) s += ', bias=False';
    if (this.mode === 'RNN_RELU') s += ', nonlinearity=relu';
    return s;
  }
}

export class RNNCell extends RNNCellBase {
  constructor(
    inputSize: number,
    hiddenSize: number,
    opts: { bias?: boolean; nonlinearity?: 'tanh' | 'relu'; dtype?: DType } = {},
  ) {
    super((opts.nonlinearity ?? 'tanh') === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', inputSize, hiddenSize, opts);
  }
  forward(x: Tensor, h: Tensor | null = null): Tensor {
    // x (N, I), h (N, H) -> h' (N, H)
    return this.step(x, h, null)[0];
  }
}

export class LSTMCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, opts: { bias?: boolean; dtype?: DType } = {}) {
    super('LSTM', inputSize, hiddenSize, opts);
  }
  forward(x: Tensor, hx: LSTMState | null = null): LSTMState {
    // x (N, I), (h, c) (N, H) -> (h', c') (N, H)
    const [h, c] = this.step(x, hx ? hx[0] : null, hx ? hx[1] : null);
    return [h, c!];
  }
}

export class GRUCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, opts: { bias?: boolean; dtype?: DType } = {}) {
    super('GRU', inputSize, hiddenSize, opts);
  }
  forward(x: Tensor, h: Tensor | null = null): Tensor {
    // x (N, I), h (N, H) -> h' (N, H)
    return this.step(x, h, null)[0];
  }
}
