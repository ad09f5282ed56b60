// Recurrent layers: SimpleRNN, LSTM, GRU and the Bidirectional wrapper. Input (N, T, F) (batch
// first, as Keras); output (N, units), or (N, T, units) with returnSequences (Bidirectional with
// mergeMode 'concat': 2*units).
// The step is nn's (cellStep, PyTorch's gate order i,f,g,o / r,z,n) and the weights carry nn.RNN /
// nn.LSTM / nn.GRU's names and layouts: weight_ih_l0 (G*H, F), weight_hh_l0 (G*H, H), bias_ih_l0,
// bias_hh_l0, and *_reverse for Bidirectional's backward direction, so they load into and from a
// one-layer batchFirst nn module. Keras's GRU with resetAfter (its default) is this GRU.
// NOTE: PyTorch keeps two biases, so LSTM and SimpleRNN have G*H more parameters than in Keras.
// Initialisation is Keras's: glorotUniform kernels, orthogonal recurrent kernels, zero biases and,
// for LSTM, a forget-gate bias of 1 (unitForgetBias).
// Glossary: N batch, T time steps, F features, H units, G gates (1, 4 or 3).

import { noGrad } from '../../autograd/grad_mode.js';
import type { Parameter } from '../../nn/module.js';
import { cellStep, type RNNMode } from '../../nn/rnn.js';
import { cat, stack } from '../../ops/movement.js';
import { linear } from '../../ops/nn_ops.js';
import { zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { activationName, type ActivationIdentifier } from '../activations.js';
import { initializerName, type InitializerIdentifier } from '../initializers.js';
import { Layer, fmtSym, knownDim, type LayerArgs, type SymShape } from '../layer.js';
import { regularizerConfigs, type RegularizerIdentifier } from '../regularizers.js';

export interface RNNArgs extends LayerArgs {
  units: number;
  /** SimpleRNN: 'tanh' (default) or 'relu'. LSTM/GRU use tanh and sigmoid. */
  activation?: ActivationIdentifier;
  useBias?: boolean;
  returnSequences?: boolean;
  goBackwards?: boolean;
  kernelInitializer?: InitializerIdentifier;
  recurrentInitializer?: InitializerIdentifier;
  biasInitializer?: InitializerIdentifier;
  kernelRegularizer?: RegularizerIdentifier | null;
  recurrentRegularizer?: RegularizerIdentifier | null;
  /** On Keras's one bias, which is bias_ih + bias_hh in this (PyTorch) layout. */
  biasRegularizer?: RegularizerIdentifier | null;
  /** LSTM: forget-gate bias starts at 1 (default true). */
  unitForgetBias?: boolean;
}

/** The recurrent cell a Keras RNN layer runs. */
export type RNNKind = 'SimpleRNN' | 'LSTM' | 'GRU';
const GATES: Record<RNNKind, number> = { SimpleRNN: 1, LSTM: 4, GRU: 3 };
const BASE: Record<RNNKind, string> = { SimpleRNN: 'simple_rnn', LSTM: 'lstm', GRU: 'gru' };

/** The recurrent machinery; `directions` is 2 for Bidirectional. */
abstract class RecurrentBase extends Layer {
  readonly units: number;
  readonly useBias: boolean;
  readonly returnSequences: boolean;
  readonly goBackwards: boolean;
  protected readonly mode: RNNMode;

  constructor(
    readonly args: RNNArgs,
    readonly kind: RNNKind,
    readonly directions: 1 | 2,
    base: string,
  ) {
    super(args, base);
    if (!Number.isInteger(args?.units) || args.units <= 0)
      throw new Error(`${base}: units must be a positive integer, got ${JSON.stringify(args?.units)}`);
    this.units = args.units;
    this.useBias = args.useBias ?? true;
    this.returnSequences = args.returnSequences ?? false;
    this.goBackwards = args.goBackwards ?? false;
    const act = kind === 'SimpleRNN' ? activationName(args.activation ?? 'tanh') : 'tanh';
    if (act !== 'tanh' && act !== 'relu')
      throw new Error(`${base}: activation must be 'tanh' or 'relu', got ${JSON.stringify(args.activation)}`);
    this.mode = kind === 'LSTM' ? 'LSTM' : kind === 'GRU' ? 'GRU' : act === 'relu' ? 'RNN_RELU' : 'RNN_TANH';
  }

  override build(s: SymShape): void {
    if (s.length !== 3)
      throw new Error(
        `Layer '${this.name}' (${this.className}): expected an input (batch, timesteps, features), got ${fmtSym(s)}`,
      );
    const F = knownDim(s, 2, this),
      H = this.units,
      G = GATES[this.kind] * H;
    for (const sfx of this.directions === 2 ? ['', '_reverse'] : ['']) {
      const a = this.args;
      this.addWeight(`weight_ih_l0${sfx}`, [G, F], a.kernelInitializer ?? 'glorotUniform', true, a.kernelRegularizer);
      this.addWeight(
        `weight_hh_l0${sfx}`,
        [G, H],
        a.recurrentInitializer ?? 'orthogonal',
        true,
        a.recurrentRegularizer,
      );
      if (this.useBias) {
        const bih = this.addWeight(`bias_ih_l0${sfx}`, [G], a.biasInitializer ?? 'zeros');
        const bhh = this.addWeight(`bias_hh_l0${sfx}`, [G], a.biasInitializer ?? 'zeros');
        this.addPenalty(() => bih.add(bhh), a.biasRegularizer, 'biasRegularizer');
        if (this.kind === 'LSTM' && (this.args.unitForgetBias ?? true)) noGrad(() => bih.narrow(0, H, H).fill_(1));
      }
    }
  }

  protected stepOutShape(s: SymShape, width: number): SymShape {
    return this.returnSequences ? [s[0], s[1], width] : [s[0], width];
  }

  /** One direction over x (N, T, F): outputs (N, T, H) in input time order, and the final h (N, H). */
  protected run(x: Tensor, sfx: string, backwards: boolean): [Tensor | null, Tensor] {
    const p = (n: string) => (this as unknown as Record<string, Parameter | null>)[`${n}${sfx}`] ?? null;
    const [N, T] = x.shape;
    const xp = linear(x, p('weight_ih_l0')!, p('bias_ih_l0')); // (N, T, G)
    let h = zeros([N, this.units]);
    let c: Tensor | null = this.mode === 'LSTM' ? zeros([N, this.units]) : null;
    const outs: Tensor[] = new Array(T);
    for (let k = 0; k < T; k++) {
      const t = backwards ? T - 1 - k : k;
      [h, c] = cellStep(this.mode, xp.select(1, t), h, c, p('weight_hh_l0')!, p('bias_hh_l0'));
      if (this.returnSequences) outs[t] = h;
    }
    return [this.returnSequences ? stack(outs, 1) : null, h];
  }

  protected checkX(x: Tensor): void {
    if (x.ndim !== 3)
      throw new Error(
        `Layer '${this.name}' (${this.className}): expected an input (batch, timesteps, features), got ` +
          `[${x.shape.join(', ')}]`,
      );
    if (x.shape[1] === 0) throw new Error(`Layer '${this.name}' (${this.className}): the input has no time steps`);
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      units: this.units,
      useBias: this.useBias,
      returnSequences: this.returnSequences,
      goBackwards: this.goBackwards,
      ...(this.kind === 'SimpleRNN' ? { activation: this.mode === 'RNN_RELU' ? 'relu' : 'tanh' } : {}),
      ...(this.kind === 'LSTM' ? { unitForgetBias: this.args.unitForgetBias ?? true } : {}),
      kernelInitializer: initializerName(this.args.kernelInitializer, 'glorotUniform'),
      recurrentInitializer: initializerName(this.args.recurrentInitializer, 'orthogonal'),
      biasInitializer: initializerName(this.args.biasInitializer, 'zeros'),
      ...regularizerConfigs(this.args, ['kernelRegularizer', 'recurrentRegularizer', 'biasRegularizer']),
    };
  }
}

abstract class Recurrent extends RecurrentBase {
  constructor(args: RNNArgs, kind: RNNKind) {
    super(args, kind, 1, BASE[kind]);
  }
  computeOutputShape(s: SymShape): SymShape {
    return this.stepOutShape(s, this.units);
  }
  forward(x: Tensor): Tensor {
    this.checkX(x);
    const [seq, h] = this.run(x, '', this.goBackwards);
    return seq ?? h;
  }
}

export class SimpleRNN extends Recurrent {
  readonly className = 'SimpleRNN';
  constructor(args: RNNArgs) {
    super(args, 'SimpleRNN');
  }
}
export class LSTM extends Recurrent {
  readonly className = 'LSTM';
  constructor(args: RNNArgs) {
    super(args, 'LSTM');
  }
}
export class GRU extends Recurrent {
  readonly className = 'GRU';
  constructor(args: RNNArgs) {
    super(args, 'GRU');
  }
}

export type MergeMode = 'concat' | 'sum' | 'mul' | 'ave';

export interface BidirectionalArgs extends LayerArgs {
  /** The recurrent layer to run both ways (its configuration is used; it is not itself trained). */
  layer: SimpleRNN | LSTM | GRU;
  mergeMode?: MergeMode;
}

/**
 * Runs a recurrent layer forwards and backwards and merges the two (concat by default).
 * Weights: weight_ih_l0 ... and weight_ih_l0_reverse ..., as a bidirectional nn.LSTM.
 */
export class Bidirectional extends RecurrentBase {
  readonly className = 'Bidirectional';
  readonly mergeMode: MergeMode;
  readonly inner: { className: string; config: Record<string, unknown> };
  constructor(args: BidirectionalArgs) {
    const l = args?.layer;
    if (!(l instanceof Recurrent))
      throw new Error(
        `bidirectional: layer must be a simpleRNN, lstm or gru layer, got ` +
          `${l === undefined ? 'nothing' : (l as object).constructor?.name}`,
      );
    super(
      {
        ...l.args,
        name: args.name,
        inputShape: args.inputShape ?? l.args.inputShape,
        batchInputShape: args.batchInputShape ?? l.args.batchInputShape,
      },
      l.kind,
      2,
      'bidirectional',
    );
    this.mergeMode = args.mergeMode ?? 'concat';
    if (!['concat', 'sum', 'mul', 'ave'].includes(this.mergeMode))
      throw new Error(
        `bidirectional: mergeMode must be concat, sum, mul or ave, got ${JSON.stringify(args.mergeMode)}`,
      );
    const { name: _n, trainable: _t, batchInputShape: _b, ...config } = l.getConfig();
    this.inner = { className: l.className, config: { ...config, name: l.name } };
  }
  computeOutputShape(s: SymShape): SymShape {
    return this.stepOutShape(s, this.mergeMode === 'concat' ? 2 * this.units : this.units);
  }
  forward(x: Tensor): Tensor {
    this.checkX(x);
    const [fs, fh] = this.run(x, '', false);
    const [bs, bh] = this.run(x, '_reverse', true);
    const a = fs ?? fh,
      b = bs ?? bh;
    switch (this.mergeMode) {
      case 'concat':
        return cat([a, b], -1);
      case 'sum':
        return a.add(b);
      case 'mul':
        return a.mul(b);
      default:
        return a.add(b).mul(0.5);
    }
  }
  override getConfig(): Record<string, unknown> {
    const base = Layer.prototype.getConfig.call(this);
    return { ...base, layer: this.inner, mergeMode: this.mergeMode };
  }
}
