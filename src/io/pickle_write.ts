// A minimal pickle writer (protocol 2, plus BINBYTES from protocol 3) for torch.save-compatible
// checkpoints: None, bools, ints, floats, strings, bytes, lists, dicts (OrderedDict when every value
// is a tensor, as state dicts are), and tensors via torch._utils._rebuild_tensor_v2 with a
// persistent id per storage.

import { Buffer } from '../platform/node.js';

const enc = new TextEncoder();

export class PickleWriter {
  private parts: number[] = [];
  private chunks: Uint8Array[] = [];
  private visiting = new Set<object>();

  /** `isTensor` recognises tensor leaves; `writeTensor` writes one (usually through `tensor`). */
  constructor(
    private isTensor: (x: unknown) => boolean = () => false,
    private writeTensor: (w: PickleWriter, x: unknown) => void = () => {},
  ) {
    this.op(0x80, 2); // PROTO 2
  }

  private op(...bytes: number[]): void {
    for (const b of bytes) this.parts.push(b);
  }
  private raw(b: Uint8Array): void {
    this.flush();
    this.chunks.push(b);
  }
  private flush(): void {
    if (this.parts.length) {
      this.chunks.push(Uint8Array.from(this.parts));
      this.parts = [];
    }
  }
  private u32(v: number): void {
    this.op(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }

  global(mod: string, name: string): void {
    this.op(0x63);
    this.raw(enc.encode(`${mod}\n${name}\n`));
  }

  str(s: string): void {
    const b = enc.encode(s);
    this.op(0x58);
    this.u32(b.length);
    this.raw(b);
  }

  int(v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && v < 256) {
      this.op(0x4b, v);
      return;
    }
    if (typeof v === 'number' && v >= 0 && v < 65536) {
      this.op(0x4d, v & 0xff, v >> 8);
      return;
    }
    if (typeof v === 'number' && v >= -0x80000000 && v <= 0x7fffffff) {
      this.op(0x4a);
      this.u32(v >>> 0);
      return;
    }
    // LONG1: little-endian two's complement
    let b = BigInt(v);
    const out: number[] = [];
    for (let i = 0; i < 9; i++) {
      out.push(Number(b & 0xffn));
      b >>= 8n;
    }
    while (
      out.length > 1 &&
      ((out[out.length - 1] === 0 && !(out[out.length - 2] & 0x80)) ||
        (out[out.length - 1] === 0xff && out[out.length - 2] & 0x80))
    )
      out.pop();
    this.op(0x8a, out.length, ...out);
  }

  float(v: number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, false);
    this.op(0x47, ...b);
  }

  tuple(items: readonly unknown[]): void {
    this.op(0x28);
    for (const x of items) this.value(x);
    this.op(0x74);
  }

  /** A tensor: _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict()). */
  tensor(
    key: string,
    storageClass: string,
    numel: number,
    offset: number,
    shape: readonly number[],
    strides: readonly number[],
  ): void {
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.op(0x28); // MARK: args tuple
    this.op(0x28); // persistent id tuple
    this.str('storage');
    this.global('torch', storageClass);
    this.str(key);
    this.str('cpu');
    this.int(numel);
    this.op(0x74, 0x51); // TUPLE, BINPERSID
    this.int(offset);
    this.tuple(shape);
    this.tuple(strides);
    this.op(0x89); // requires_grad False
    this.global('collections', 'OrderedDict');
    this.op(0x29, 0x52); // EMPTY_TUPLE, REDUCE
    this.op(0x74, 0x52); // TUPLE, REDUCE
  }

  /** Writes any supported value. */
  value(x: unknown): void {
    if (x === null || x === undefined) {
      this.op(0x4e);
      return;
    }
    if (typeof x === 'boolean') {
      this.op(x ? 0x88 : 0x89);
      return;
    }
    if (typeof x === 'bigint') {
      this.int(x);
      return;
    }
    if (typeof x === 'number') {
      if (Number.isSafeInteger(x) && !Object.is(x, -0)) this.int(x);
      else this.float(x);
      return;
    }
    if (typeof x === 'string') {
      this.str(x);
      return;
    }
    if (typeof x !== 'object') throw new Error(`save: cannot pickle a ${typeof x}`);
    if (this.isTensor(x)) {
      this.writeTensor(this, x);
      return;
    }
    if (this.visiting.has(x)) throw new Error('save: the object contains a cycle');
    this.visiting.add(x);
    if (x instanceof Uint8Array && !ArrayBuffer.isView(Object.getPrototypeOf(x)) && x.constructor === Uint8Array) {
      this.op(0x42);
      this.u32(x.length);
      this.raw(x.slice());
    } else if (Array.isArray(x)) {
      this.op(0x5d, 0x28);
      for (const v of x) this.value(v);
      this.op(0x65); // APPENDS
    } else if (x instanceof Map || Object.getPrototypeOf(x) === Object.prototype || Object.getPrototypeOf(x) === null) {
      const entries: [unknown, unknown][] = x instanceof Map ? [...x] : Object.entries(x);
      const stateDict = entries.length > 0 && entries.every(([, v]) => this.isTensor(v));
      if (stateDict) {
        this.global('collections', 'OrderedDict');
        this.op(0x29, 0x52);
      } else this.op(0x7d);
      this.op(0x28);
      for (const [k, v] of entries) {
        this.value(k);
        this.value(v);
      }
      this.op(0x75); // SETITEMS
    } else {
      throw new Error(`save: cannot pickle an object of class ${(x as object).constructor?.name ?? 'unknown'}`);
    }
    this.visiting.delete(x);
  }

  dump(x: unknown): void {
    this.value(x);
    this.op(0x2e); // STOP
  }

  bytes(): Uint8Array {
    this.flush();
    return Buffer.concat(this.chunks);
  }
}
