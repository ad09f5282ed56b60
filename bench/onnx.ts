// A minimal ONNX ModelProto writer, so the benchmark can build onnxruntime-node graphs (MatMul with
// a prepacked weight initializer, Conv, Softmax, LayerNormalization, Add) without the onnx package.
// Field numbers follow onnx/onnx.proto; repeated scalars are written unpacked (proto2 default).

type Part = Uint8Array;

class Writer {
  private parts: Part[] = [];
  private n = 0;

  private push(p: Part): void {
    this.parts.push(p);
    this.n += p.length;
  }

  varint(v: number): this {
    const out: number[] = [];
    let x = BigInt(v);
    if (x < 0n) x += 1n << 64n;
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x > 0n) b |= 0x80;
      out.push(b);
    } while (x > 0n);
    this.push(Uint8Array.from(out));
    return this;
  }

  int(field: number, v: number): this {
    return this.varint(field << 3).varint(v);
  }

  bytes(field: number, b: Uint8Array): this {
    this.varint((field << 3) | 2).varint(b.length);
    this.push(b);
    return this;
  }

  str(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  msg(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }

  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.varint((field << 3) | 5);
    this.push(b);
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.n);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, number | number[]>;
}
export interface OnnxValue {
  name: string;
  dims: number[];
}
export interface OnnxInit extends OnnxValue {
  /** float32, or int64 (shapes for Reshape). */
  data: Float32Array | BigInt64Array;
}

// An attribute: ints (type 7), float when not an integer (type 1), else int (type 2).
function attribute(name: string, v: number | number[]): Writer {
  const w = new Writer().str(1, name);
  if (Array.isArray(v)) {
    for (const x of v) w.int(8, x);
    return w.int(20, 7);
  }
  if (!Number.isInteger(v)) return w.float(2, v).int(20, 1);
  return w.int(3, v).int(20, 2);
}

function valueInfo(v: OnnxValue): Writer {
  const shape = new Writer();
  for (const d of v.dims) shape.msg(1, new Writer().int(1, d));
  const tensor = new Writer().int(1, 1).msg(2, shape); // elem_type FLOAT
  return new Writer().str(1, v.name).msg(2, new Writer().msg(1, tensor));
}

function initializer(t: OnnxInit): Writer {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  return w
    .int(2, t.data instanceof BigInt64Array ? 7 : 1)
    .str(8, t.name)
    .bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

/** Serialises a single-graph float32 model (opset 17 by default). */
export function onnxModel(g: {
  nodes: OnnxNode[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  inits?: OnnxInit[];
  opset?: number;
}): Uint8Array {
  const graph = new Writer();
  g.nodes.forEach((n, i) => {
    const w = new Writer();
    for (const x of n.inputs) w.str(1, x);
    for (const x of n.outputs) w.str(2, x);
    w.str(3, `n${i}`).str(4, n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {})) w.msg(5, attribute(k, v));
    graph.msg(1, w);
  });
  graph.str(2, 'bench');
  for (const t of g.inits ?? []) graph.msg(5, initializer(t));
  for (const v of g.inputs) graph.msg(11, valueInfo(v));
  for (const v of g.outputs) graph.msg(12, valueInfo(v));
  return new Writer()
    .int(1, 8)
    .str(2, 'nabla-bench')
    .msg(7, graph)
    .msg(8, new Writer().str(1, '').int(2, g.opset ?? 17))
    .finish();
}
