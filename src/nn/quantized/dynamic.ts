// Dynamic int8 quantization as torch.ao.quantization.quantize_dynamic(model, {Linear, LSTM, GRU},
// dtype=torch.qint8) on the QNNPACK engine: weights per-tensor symmetric int8 (util/quant.ts), each
// activation quantized per tensor to uint8 when it arrives (full 8 bits; onednn's reduce_range, 7
// bits, on request), int8 products with int32 sums, float bias and output. The RNNs quantize their
// input projection once for all time steps and the hidden one at each step, as ATen's quantized RNNs.
// Glossary: K inputs, N outputs, H hidden size.

import { noGrad } from '../../autograd/grad_mode.js';
import { tensor } from '../../tensor/creation.js';
import { contiguousValues, type Tensor } from '../../tensor/tensor.js';
import { linearInt8Dynamic } from '../../ops/quantized.js';
import { quantizeSymmetricInt8 } from '../../util/quant.js';
import { Linear } from '../linear.js';
import { Module, deepCopyModule } from '../module.js';
import type { ModuleClass } from '../utils/fuse.js';
import { GRU, LSTM, type LSTMState } from '../rnn.js';

/** An int8 weight (N, K) with its per-tensor scale (repeated per row for the kernel) and float bias. */
export class PackedLinearInt8 {
  readonly q: Int8Array;
  readonly scale: number;
  readonly scales: Float32Array;
  readonly bias: Tensor | null;
  constructor(
    weight: Tensor,
    bias: Tensor | null,
    readonly N: number,
    readonly K: number,
  ) {
    const w = quantizeSymmetricInt8(contiguousValues(weight.float()));
    this.q = w.q;
    this.scale = w.scale;
    this.scales = new Float32Array(N).fill(w.scale);
    this.bias = bias ? noGrad(() => bias.float().detach().contiguous()) : null;
  }
  // x (*, K) -> (*, N)
  apply(x: Tensor, reduceRange: boolean): Tensor {
    return linearInt8Dynamic(x, this.q, this.scales, this.bias, this.N, reduceRange);
  }
  /** The int8 codes (N, K) as an int32 tensor, as torch's weight().int_repr(). */
  intRepr(): Tensor {
    return tensor(Array.from(this.q), { dtype: 'int32' }).reshape([this.N, this.K]);
  }
}

export interface DynamicQuantOptions {
  /** onednn's 7-bit activations instead of QNNPACK's 8 (default false). */
  reduceRange?: boolean;
}

/** torch.ao.nn.quantized.dynamic.Linear: y = dequant(quant(x) @ quant(W)^T) + b. */
export class DynamicQuantizedLinear extends Module {
  readonly packed: PackedLinearInt8;
  readonly reduceRange: boolean;
  constructor(float: Linear, opts: DynamicQuantOptions = {}) {
    super();
    this.packed = new PackedLinearInt8(float.weight, float.bias, float.outFeatures, float.inFeatures);
    this.reduceRange = opts.reduceRange ?? false;
  }
  get inFeatures(): number {
    return this.packed.K;
  }
  get outFeatures(): number {
    return this.packed.N;
  }
  /** The int8 weight codes (out, in) and their scale. */
  weight(): { intRepr: Tensor; scale: number } {
    return { intRepr: this.packed.intRepr(), scale: this.packed.scale };
  }
  // x (*, in) -> (*, out)
  forward(x: Tensor): Tensor {
    return this.packed.apply(x, this.reduceRange);
  }
  override extraRepr(): string {
    return (
      `in_features=${this.inFeatures}, out_features=${this.outFeatures}, dtype=torch.qint8, ` +
      `qscheme=torch.per_tensor_symmetric`
    );
  }
}

/** The packed projections of a float RNN, one pair per layer and direction (sfx '_l0', '_l0_reverse', ...). */
function packRnn(m: LSTM | GRU): Map<string, PackedLinearInt8> {
  const packs = new Map<string, PackedLinearInt8>();
  const params = new Map(m.namedParameters());
  for (const name of m.flatWeightsNames) {
    const hit = /^weight_(ih|hh)(_l\d+(?:_reverse)?)$/.exec(name);
    if (!hit) continue;
    const w = params.get(name)!,
      b = params.get(`bias_${hit[1]}${hit[2]}`) ?? null;
    packs.set(`${hit[1]}${hit[2]}`, new PackedLinearInt8(w, b, w.shape[0], w.shape[1]));
  }
  return packs;
}

/** The float RNN's options, so that a quantized copy runs the same layers and directions. */
function rnnOptions(m: LSTM | GRU) {
  return {
    numLayers: m.numLayers,
    bias: m.bias,
    batchFirst: m.batchFirst,
    dropout: m.dropout,
    bidirectional: m.bidirectional,
  };
}

/** Removes the float parameters a quantized RNN was built with (its projections are int8). */
function dropFloat(m: Module): void {
  for (const k of [...m._parameters.keys()]) m._parameters.delete(k);
}

/** torch.ao.nn.quantized.dynamic.LSTM. forward(x, [h0, c0]?) -> [output, [h_n, c_n]]. */
export class DynamicQuantizedLSTM extends LSTM {
  private readonly packs: Map<string, PackedLinearInt8>;
  readonly reduceRange: boolean;
  constructor(float: LSTM, opts: DynamicQuantOptions = {}) {
    super(float.inputSize, float.hiddenSize, rnnOptions(float));
    dropFloat(this);
    this.packs = packRnn(float);
    this.reduceRange = opts.reduceRange ?? false;
    this.train(false);
  }
  protected override projectInput(x: Tensor, sfx: string): Tensor {
    return this.packs.get('ih' + sfx)!.apply(x, this.reduceRange);
  }
  protected override projectHidden(sfx: string): (h: Tensor) => Tensor {
    const p = this.packs.get('hh' + sfx)!;
    return (h) => p.apply(h, this.reduceRange);
  }
  override forward(x: Tensor, hx: LSTMState | null = null): [Tensor, LSTMState] {
    return noGrad(() => super.forward(x, hx));
  }
  override extraRepr(): string {
    return `${super.extraRepr()}, dtype=torch.qint8`;
  }
}

/** torch.ao.nn.quantized.dynamic.GRU. forward(x, h0?) -> [output, h_n]. */
export class DynamicQuantizedGRU extends GRU {
  private readonly packs: Map<string, PackedLinearInt8>;
  readonly reduceRange: boolean;
  constructor(float: GRU, opts: DynamicQuantOptions = {}) {
    super(float.inputSize, float.hiddenSize, rnnOptions(float));
    dropFloat(this);
    this.packs = packRnn(float);
    this.reduceRange = opts.reduceRange ?? false;
    this.train(false);
  }
  protected override projectInput(x: Tensor, sfx: string): Tensor {
    return this.packs.get('ih' + sfx)!.apply(x, this.reduceRange);
  }
  protected override projectHidden(sfx: string): (h: Tensor) => Tensor {
    const p = this.packs.get('hh' + sfx)!;
    return (h) => p.apply(h, this.reduceRange);
  }
  override forward(x: Tensor, h0: Tensor | null = null): [Tensor, Tensor] {
    return noGrad(() => super.forward(x, h0));
  }
  override extraRepr(): string {
    return `${super.extraRepr()}, dtype=torch.qint8`;
  }
}

/** The module types with a dynamic quantized version, and how to make it. */
const DYNAMIC: [ModuleClass, string, (m: Module, o: DynamicQuantOptions) => Module][] = [
  [Linear, 'Linear', (m, o) => new DynamicQuantizedLinear(m as Linear, o)],
  [LSTM, 'LSTM', (m, o) => new DynamicQuantizedLSTM(m as LSTM, o)],
  [GRU, 'GRU', (m, o) => new DynamicQuantizedGRU(m as GRU, o)],
];

export interface QuantizeDynamicOptions extends DynamicQuantOptions {
  /** Only 'qint8' (torch's default); float16 dynamic quantization is not implemented. */
  dtype?: 'qint8';
  /** The module types to quantize (torch's qconfig_spec as a set of types); default Linear, LSTM and GRU. */
  modules?: ModuleClass[];
  /** A type in `modules` that has no dynamic quantized version is an error naming it; true keeps such modules float. */
  keepUnsupported?: boolean;
  /** Quantize `model` itself instead of a copy (default false, as torch's inplace). */
  inplace?: boolean;
}

/**
 * Replaces every Linear, LSTM and GRU (or the types in `modules`) with its dynamic int8 version, as
 * torch.ao.quantization.quantize_dynamic(model, dtype=torch.qint8) on the QNNPACK engine. Inference only.
 * @example const q = nb.quantization.quantizeDynamic(model, { dtype: 'qint8' }); q.call(x)
 */
export function quantizeDynamic<M extends Module>(model: M, opts: QuantizeDynamicOptions = {}): M {
  const dtype = opts.dtype ?? 'qint8';
  if (dtype !== 'qint8') {
    throw new Error(`quantizeDynamic: dtype '${String(dtype)}' is not supported (only 'qint8')`);
  }
  const wanted = opts.modules ?? DYNAMIC.map(([c]) => c);
  const rules: typeof DYNAMIC = [];
  const unsupported: ModuleClass[] = [];
  for (const cls of wanted) {
    const rule = DYNAMIC.find(([c]) => c === cls);
    if (rule) rules.push(rule);
    else unsupported.push(cls);
  }
  if (unsupported.length && !opts.keepUnsupported) {
    const names = unsupported.map((c) => c.name).join(', ');
    throw new Error(
      `quantizeDynamic: ${names} ${unsupported.length > 1 ? 'have' : 'has'} no dynamic quantized version ` +
        `(supported: ${DYNAMIC.map(([, n]) => n).join(', ')}); pass keepUnsupported: true to keep ` +
        `${unsupported.length > 1 ? 'them' : 'it'} in float`,
    );
  }
  const root = opts.inplace ? model : deepCopyModule(model);
  if (rules.some(([c]) => root instanceof c)) {
    throw new Error('quantizeDynamic: the model itself is a Linear/LSTM/GRU; wrap it in a Sequential to quantize it');
  }
  const visit = (parent: Module): void => {
    for (const [name, child] of [...parent._modules]) {
      if (!child) continue;
      // NOTE: the exact class, as torch's mapping: a subclass (a fused LinearAct, a quantized module) is not swapped
      const rule = rules.find(([c]) => child.constructor === c);
      if (rule) parent.registerModule(name, rule[2](child, opts));
      else visit(child);
    }
  };
  visit(root);
  return root.eval() as M;
}
