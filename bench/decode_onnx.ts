// One GPT-2 decode step as an ONNX graph (bench:browser's decode row for onnxruntime-web): the new
// token's embedding h (1, 1, C) and each layer's past keys and values (1, H, P, D) in; the logits
// (1, 1, V) and the present keys and values (1, H, P+1, D) out. The same shapes and work as
// nabla's GPT2LMHeadModel step with its KV cache: per layer ln_1, q/k/v projections, attention over
// past + new, the output projection, ln_2, the MLP with GELU (erf form) and both residuals; then
// ln_f and the tied head (C x V). Random weights (timing does not depend on them).
// Glossary: C 768 width, H 12 heads, D 64 head size, P past length, V 50257 vocab, L layers.

import { onnxModel, type OnnxInit, type OnnxNode } from './onnx.js';

export interface DecodeShape {
  layers: number;
  past: number;
  C?: number;
  H?: number;
  V?: number;
}

/** The serialised graph; `rand(n, seed)` gives the weights (the bench's seeded uniforms). */
export function decodeModel(s: DecodeShape, rand: (n: number, seed: number) => Float32Array): Uint8Array {
  const C = s.C ?? 768,
    H = s.H ?? 12,
    V = s.V ?? 50257,
    D = C / H,
    P = s.past;
  const nodes: OnnxNode[] = [];
  const inits: OnnxInit[] = [];
  let seed = 100;
  const weight = (name: string, dims: number[], scale = 0.02): string => {
    const data = rand(
      dims.reduce((a, b) => a * b, 1),
      seed++,
    );
    for (let i = 0; i < data.length; i++) data[i] *= scale;
    inits.push({ name, dims, data });
    return name;
  };
  const constant = (name: string, v: number): string => {
    inits.push({ name, dims: [], data: Float32Array.of(v) });
    return name;
  };
  let tmp = 0;
  const op = (o: string, inputs: string[], attrs?: OnnxNode['attrs'], out = `t${tmp++}`): string => {
    nodes.push({ op: o, inputs, outputs: [out], attrs });
    return out;
  };
  inits.push({ name: 'headShape', dims: [4], data: BigInt64Array.of(1n, 1n, BigInt(H), BigInt(D)) });
  inits.push({ name: 'rowShape', dims: [3], data: BigInt64Array.of(1n, 1n, BigInt(C)) });
  constant('scale', 1 / Math.sqrt(D));
  constant('half', 0.5);
  constant('one', 1);
  constant('invSqrt2', Math.SQRT1_2);

  // x (1,1,C) -> LayerNorm over C
  const layerNorm = (x: string, p: string) =>
    op('LayerNormalization', [x, weight(`${p}.g`, [C], 1), weight(`${p}.b`, [C])], { axis: -1, epsilon: 1e-5 });
  // x (1,1,In) @ W (In,Out) + b
  const linear = (x: string, p: string, In: number, Out: number) =>
    op('Add', [op('MatMul', [x, weight(`${p}.w`, [In, Out])]), weight(`${p}.b`, [Out])]);
  // (1,1,C) -> (1,H,1,D)
  const heads = (x: string) => op('Transpose', [op('Reshape', [x, 'headShape'])], { perm: [0, 2, 1, 3] });

  const inputs = [{ name: 'h', dims: [1, 1, C] }];
  const outputs = [{ name: 'logits', dims: [1, 1, V] }];
  let h = 'h';
  for (let l = 0; l < s.layers; l++) {
    inputs.push({ name: `pastK${l}`, dims: [1, H, P, D] }, { name: `pastV${l}`, dims: [1, H, P, D] });
    outputs.push({ name: `presentK${l}`, dims: [1, H, P + 1, D] }, { name: `presentV${l}`, dims: [1, H, P + 1, D] });
    const x = layerNorm(h, `l${l}.ln1`);
    const q = heads(linear(x, `l${l}.q`, C, C));
    const k = op('Concat', [`pastK${l}`, heads(linear(x, `l${l}.k`, C, C))], { axis: 2 }, `presentK${l}`);
    const v = op('Concat', [`pastV${l}`, heads(linear(x, `l${l}.v`, C, C))], { axis: 2 }, `presentV${l}`);
    // (1,H,1,D) @ (1,H,D,P+1) -> softmax -> @ (1,H,P+1,D) -> (1,1,C)
    const scores = op('Mul', [op('MatMul', [q, op('Transpose', [k], { perm: [0, 1, 3, 2] })]), 'scale']);
    const att = op('MatMul', [op('Softmax', [scores], { axis: -1 }), v]);
    const merged = op('Reshape', [op('Transpose', [att], { perm: [0, 2, 1, 3] }), 'rowShape']);
    h = op('Add', [h, linear(merged, `l${l}.o`, C, C)]);
    // MLP: gelu(x W1 + b1) W2 + b2, gelu(f) = f/2 (1 + erf(f/sqrt 2))
    const f = linear(layerNorm(h, `l${l}.ln2`), `l${l}.fc`, C, 4 * C);
    const g = op('Mul', [op('Mul', [f, 'half']), op('Add', [op('Erf', [op('Mul', [f, 'invSqrt2'])]), 'one'])]);
    h = op('Add', [h, linear(g, `l${l}.proj`, 4 * C, C)]);
  }
  op('MatMul', [layerNorm(h, 'lnf'), weight('head', [C, V])], undefined, 'logits');
  return onnxModel({ nodes, inputs, outputs, inits });
}
