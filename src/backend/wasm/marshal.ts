// The addon's API (NablaAddon, from native/src/napi/kernels.def) over an instance of native/wasm/*.wasm.
// Each call writes its arguments into linear memory as a tree of 32-byte value records (the layout
// struct nbw_val in native/src/wasm/napi.c reads) with every TypedArray copied in, and calls
// nbw_call: the same register.c then reads and checks them by the kernel's signature, with the same
// error messages, and runs the same wrapper. The arrays a kernel writes (WRITES) are copied back.
// Resident arrays (heap.ts: views of linear memory) are neither copied in nor back: their address goes in.

import { NATIVE_KERNELS, type NablaAddon, type NativeKernel } from '../native/contract.gen.js';
import type { WasmHeap } from './heap.js';

/** The exports of native/wasm/nabla.wasm and nabla-st.wasm that JS calls. */
export interface WasmExports {
  nbw_init(): number;
  nbw_kernel_count(): number;
  nbw_kernel_name(k: number): number;
  nbw_call(k: number, args: number): number;
  nbw_error(): number;
  nbw_number(): number;
  nbw_json(): number;
  nbw_alloc(n: number): number;
  nbw_free(p: number): void;
  nbw_setenv(): number;
  nbw_main_init(hardwareThreads: number): number;
  nbw_start_pool?(): void;
}

/**
 * The TypedArray arguments each kernel writes (the rest are read only): copied back after the call.
 * test/wasm/marshal.test.ts checks every name against the kernel's signature.
 */
export const WRITES: { readonly [K in NativeKernel]: readonly string[] } = {
  contract: [],
  cpuInfo: [],
  setNumThreads: [],
  setIsa: [],
  setWinograd: [],
  nextStamp: [],
  adviseHugePages: [],
  matmul: ['c'],
  linear: ['c'],
  unary: ['y'],
  binary: ['y'],
  reduce: ['y'],
  copy: ['y'],
  softmax: ['y'],
  compare: ['y'],
  where: ['y'],
  castToF32: ['y'],
  conv2d: ['y'],
  conv2dFused: ['y'],
  conv2dBackwardInput: ['dx'],
  conv2dBackwardWeight: ['dw'],
  maxPool2d: ['y', 'indices'],
  maxPool2dBackward: ['dx'],
  avgPool2d: ['y'],
  avgPool2dBackward: ['dx'],
  layerNorm: ['y', 'mean', 'rstd'],
  layerNormBackward: ['dx', 'dw', 'db'],
  batchNorm: ['y', 'mean', 'variance'],
  batchNormBackward: ['dx', 'dw', 'db', 'dr'],
  indexSelect: ['y'],
  indexAdd: ['dst'],
  adamStep: ['p', 'm', 'v'],
  sgdStep: ['p', 'buf'],
  attention: ['out', 'lse'],
  attentionKv: ['out', 'lse'],
  attentionBackward: ['dq', 'dk', 'dv'],
  quantInfo: [],
  setQuantPath: [],
  q8Pack: ['bp', 'colsum'],
  bf16Pack: ['bp'],
  q8LinearDynamic: ['y'],
  q8Gemm: ['y', 'yq'],
  bf16Linear: ['y'],
  woqLinear: ['y'],
  q8Conv2d: ['y'],
  q8QuantizeNhwc: ['y'],
  q8Add: ['y'],
  q8Pool2d: ['y'],
};

/** The argument names of a kernels.def signature, in order ("c:f32 a:f32 la:layout(a)" -> c, a, la). */
export function argNames(signature: string): string[] {
  return signature
    .split(' ')
    .filter((t) => t)
    .map((t) => t.slice(0, t.indexOf(':')));
}

type Typed = Exclude<ArrayBufferView, DataView>;

/** Node-API's napi_typedarray_type codes (native/src/wasm/include/node_api.h). */
function typeCode(a: Typed): number {
  if (a instanceof Float32Array) return 7;
  if (a instanceof Int32Array) return 5;
  if (a instanceof Uint8Array) return 1;
  if (a instanceof Float64Array) return 8;
  if (a instanceof Int8Array) return 0;
  if (a instanceof Uint8ClampedArray) return 2;
  if (a instanceof Int16Array) return 3;
  if (a instanceof Uint16Array) return 4;
  if (a instanceof Uint32Array) return 6;
  if (a instanceof BigInt64Array) return 9;
  return 10;
}

enum Tag {
  Undefined,
  Null,
  Bool,
  Number,
  String,
  Array,
  Object,
  Typed,
}

const REC = 32;
/** Room for one call's value records and strings: kernels.def's largest call needs a few KB. */
const ARGS_BYTES = 1 << 16;

/**
 * A NablaAddon whose every method runs the kernel of that name in `exports` (an initialised
 * instance over `memory`). Not re-entrant: the module serves one JS thread.
 */
export function wasmAddon(exports: WasmExports, memory: WebAssembly.Memory, heap?: WasmHeap): NablaAddon {
  const index = new Map<string, number>();
  for (let k = 0; k < exports.nbw_kernel_count(); k++) index.set(cString(memory, exports.nbw_kernel_name(k)), k);
  const args = exports.nbw_alloc(ARGS_BYTES);
  if (!args) throw new Error('nabla wasm: out of memory for the argument area');
  let data = 0,
    dataCap = 0;
  const enc = new TextEncoder();
  // NOTE: kernel calls pass few distinct strings (layout keys, mode names): their UTF-8 is kept
  const utf8 = new Map<string, Uint8Array>();
  const encode = (v: string): Uint8Array => {
    let b = utf8.get(v);
    if (!b) {
      b = enc.encode(v);
      if (utf8.size < 256) utf8.set(v, b);
    }
    return b;
  };
  const written = new Map<NativeKernel, number[]>();
  const writtenArgs = (kernel: NativeKernel): number[] => {
    let w = written.get(kernel);
    if (!w) {
      const names = argNames(NATIVE_KERNELS[kernel].signature);
      w = WRITES[kernel].map((name) => names.indexOf(name));
      written.set(kernel, w);
    }
    return w;
  };

  function call(kernel: NativeKernel, argv: unknown[]): unknown {
    const k = index.get(kernel);
    if (k === undefined) throw new Error(`nabla.${kernel}: not in this WebAssembly module`);
    // 1. the TypedArrays, each once (an array passed twice stays one buffer), into one data block;
    // resident ones stay where they are
    const arrays = new Map<Typed, number>();
    const resident = new Set<Typed>();
    let bytes = 0;
    const detached = new Set<Typed>();
    const collect = (v: unknown): void => {
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
        if (heap?.owns(v)) resident.add(v as Typed);
        else if (isDetached(v as Typed)) detached.add(v as Typed);
        else if (!arrays.has(v as Typed)) {
          arrays.set(v as Typed, bytes);
          bytes += (v.byteLength + 63) & ~63;
        }
      } else if (Array.isArray(v)) v.forEach(collect);
    };
    argv.forEach(collect);
    if (bytes > dataCap) {
      if (data) exports.nbw_free(data);
      dataCap = Math.max(bytes, dataCap * 2);
      data = exports.nbw_alloc(dataCap);
      if (!data) {
        dataCap = 0;
        throw new Error(`nabla.${kernel}: out of WebAssembly memory for ${bytes} bytes of arguments`);
      }
    }
    let u8 = new Uint8Array(memory.buffer);
    for (const [a, off] of arrays) u8.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), data + off);
    // a detached array is passed as such: register.c refuses it by name, as in the addon
    // 2. the value records: the argument array first, children contiguous after their parent
    const i32 = new Int32Array(memory.buffer),
      f64 = new Float64Array(memory.buffer);
    let top = args;
    const end = args + ARGS_BYTES;
    const take = (n: number): number => {
      const p = top;
      top += (n + 7) & ~7;
      if (top > end) throw new Error(`nabla.${kernel}: arguments too large to pass to WebAssembly`);
      return p;
    };
    const write = (r: number, v: unknown): void => {
      const w = r >> 2;
      i32.fill(0, w, w + REC / 4);
      if (v === undefined) i32[w] = Tag.Undefined;
      else if (v === null) i32[w] = Tag.Null;
      else if (typeof v === 'boolean') {
        i32[w] = Tag.Bool;
        f64[(r >> 3) + 1] = v ? 1 : 0;
      } else if (typeof v === 'number') {
        i32[w] = Tag.Number;
        f64[(r >> 3) + 1] = v;
      } else if (typeof v === 'string') {
        const b = encode(v);
        const p = take(b.length + 1);
        u8.set(b, p);
        u8[p + b.length] = 0;
        i32[w] = Tag.String;
        i32[w + 1] = b.length;
        i32[w + 4] = p;
      } else if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
        const a = v as Typed;
        i32[w] = Tag.Typed;
        i32[w + 5] = typeCode(a);
        if (detached.has(a)) f64[(r >> 3) + 1] = 1;
        else {
          i32[w + 1] = a.byteLength / (a as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
          i32[w + 4] = resident.has(a) ? a.byteOffset : data + arrays.get(a)!;
        }
      } else if (Array.isArray(v)) {
        i32[w] = Tag.Array;
        writeChildren(w, v, null);
      } else if (typeof v === 'object') {
        // NOTE: the only objects in kernels.def are layouts: register.c reads these three properties
        const o = v as Record<string, unknown>;
        const keys = ['shape', 'strides', 'offset'];
        i32[w] = Tag.Object;
        writeChildren(
          w,
          keys.map((key) => o[key]),
          keys,
        );
      } else i32[w] = Tag.Undefined; // functions, symbols, bigints: register.c names the argument
    };
    const keyPtr = new Map<string, number>();
    const writeChildren = (w: number, items: readonly unknown[], keys: readonly string[] | null): void => {
      const first = take(items.length * REC);
      i32[w + 1] = items.length;
      i32[w + 4] = items.length ? first : 0;
      for (let i = 0; i < items.length; i++) {
        const r = first + i * REC;
        write(r, items[i]);
        i32[(r >> 2) + 6] = i + 1 < items.length ? r + REC : 0;
        if (keys) {
          let kp = keyPtr.get(keys[i]);
          if (kp === undefined) {
            const b = encode(keys[i]);
            kp = take(b.length + 1);
            u8.set(b, kp);
            u8[kp + b.length] = 0;
            keyPtr.set(keys[i], kp);
          }
          i32[(r >> 2) + 7] = kp;
        }
      }
    };
    const root = take(REC);
    write(root, argv);
    // 3. the call; linear memory may grow inside it, so views are taken anew afterwards
    const rc = exports.nbw_call(k, root);
    heap?.sync();
    if (rc < 0) throw new Error(cString(memory, exports.nbw_error()));
    if (arrays.size === 0) return result(rc);
    u8 = new Uint8Array(memory.buffer);
    for (const i of writtenArgs(kernel)) {
      const a = argv[i];
      if (!ArrayBuffer.isView(a) || !arrays.has(a as Typed)) continue;
      const off = data + arrays.get(a as Typed)!;
      new Uint8Array(a.buffer, a.byteOffset, a.byteLength).set(u8.subarray(off, off + a.byteLength));
    }
    return result(rc);
  }

  function result(rc: number): unknown {
    if (rc === 0) return undefined;
    if (rc === 1) return exports.nbw_number();
    return JSON.parse(cString(memory, exports.nbw_json()));
  }

  const addon: Record<string, unknown> = {};
  for (const name of Object.keys(NATIVE_KERNELS) as NativeKernel[]) {
    addon[name] = (...a: unknown[]) => call(name, a);
  }
  return addon as unknown as NablaAddon;
}

/** Whether a's buffer is detached (transferred away): before Node 22 only a failing view says so. */
function isDetached(a: Typed): boolean {
  const d = (a.buffer as { detached?: boolean }).detached;
  if (d !== undefined) return d;
  try {
    new Uint8Array(a.buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/** The NUL-terminated UTF-8 string at p in linear memory. */
export function cString(memory: WebAssembly.Memory, p: number): string {
  const u8 = new Uint8Array(memory.buffer);
  let e = p;
  while (u8[e] !== 0) e++;
  // NOTE: TextDecoder refuses views of a SharedArrayBuffer: decode a copy
  return new TextDecoder().decode(u8.slice(p, e));
}
