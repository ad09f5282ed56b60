// Run by hostile_detach.test.ts in a child process, so that a crash (SIGSEGV from a use-after-free)
// fails that test instead of killing the runner. Each mode prints one JSON line: { calls, failures }.
//   repro    issue #24's reproducer through the public classes: a Layout whose shape getter detaches
//            the tensor's buffer on its third read, then exp().
//   walk     every export of kernels.def that takes a buffer, called once per argument that the addon
//            reads through JS (layouts, arrays of numbers) with that argument made hostile: a getter (or a
//            Proxy trap) that detaches every buffer of the call and churns the heap. Each call must throw
//            "nabla.<kernel>: <arg>: its buffer is detached". Numbers given as objects with valueOf must
//            be rejected without valueOf running.
//   resize   a resizable buffer shrunk by a layout getter, under a length-tracking and a fixed-length view:
//            the call sees the new length and says the layout no longer fits.
import { Tensor } from '../../src/index.js';
import { Layout, Storage } from '../../src/internals.js';
import { NATIVE_KERNELS, type NativeKernel } from '../../src/backend/native/contract.gen.js';
import { loadAddon } from '../../src/backend/native/load.js';

type Arg = { name: string; kind: string; nullable: boolean; param?: string };

function parse(sig: string): Arg[] {
  return sig
    .split(' ')
    .filter(Boolean)
    .map((tok) => {
      const m = /^(\w+):([\w|]+)(\?)?(?:\(([^)]*)\))?$/.exec(tok);
      if (!m) throw new Error(`bad signature token ${tok}`);
      return { name: m[1], kind: m[2], nullable: m[3] === '?', param: m[4] };
    });
}

function churn(): void {
  // NOTE: fresh allocations make reuse of the freed memory likely, so a stale pointer reads garbage.
  for (let i = 0; i < 4; i++) new ArrayBuffer(1 << 20).slice(0, 8);
}

function detachAll(bufs: ArrayBufferView[]): void {
  for (const b of bufs) if (b.buffer.byteLength > 0) structuredClone(b.buffer, { transfer: [b.buffer as ArrayBuffer] });
  churn();
}

function typed(kind: string): ArrayBufferView {
  const n = 64;
  if (kind.startsWith('u8')) return new Uint8Array(n);
  if (kind.startsWith('i32')) return new Int32Array(n);
  if (kind.startsWith('i8')) return new Int8Array(n);
  if (kind.startsWith('u16')) return new Uint16Array(n);
  return new Float32Array(n);
}

const GOOD = { shape: [4], strides: [1], offset: 0 };

/** Arguments for kernel k, argument `hostile` made to detach every buffer when the addon reads it. */
function build(args: Arg[], hostile: number, how: 'getter' | 'proxy', opsets: Record<string, number[]>): unknown[] {
  const bufs: ArrayBufferView[] = [];
  const values: unknown[] = args.map((a, i): unknown => {
    switch (a.kind) {
      case 'layout':
        if (i !== hostile) return { ...GOOD };
        if (how === 'getter') {
          return {
            get shape() {
              detachAll(bufs);
              return [4];
            },
            strides: [1],
            offset: 0,
          };
        }
        return new Proxy(
          { ...GOOD },
          {
            get(t, p) {
              if (p === 'offset') detachAll(bufs);
              return t[p as keyof typeof t];
            },
          },
        );
      case 'ints': {
        const arr = [1, 1, 1, 1, 1, 1, 1, 1, 1].slice(0, a.param === 'ConvArgs' ? 7 : a.param === 'PoolArgs' ? 9 : 4);
        if (i === hostile)
          Object.defineProperty(arr, 1, {
            get() {
              detachAll(bufs);
              return 1;
            },
          });
        return arr;
      }
      case 'int':
      case 'num':
        return 1;
      case 'bool':
        return false;
      case 'op':
        return a.nullable ? -1 : opsets[a.param!][0];
      case 'str':
        return a.param!.split('|')[0];
      default: {
        const b = typed(a.kind);
        bufs.push(b);
        return b;
      }
    }
  });
  return values;
}

function walk(): { calls: number; failures: string[] } {
  const { addon, reason } = loadAddon();
  if (!addon) throw new Error(`no addon: ${reason}`);
  const A = addon as unknown as Record<string, (...a: unknown[]) => unknown>;
  const opsets = addon.contract().opsets;
  const failures: string[] = [];
  let calls = 0;
  for (const k of Object.keys(NATIVE_KERNELS) as NativeKernel[]) {
    const args = parse(NATIVE_KERNELS[k].signature);
    const hasBuffer = args.some((a) => !['layout', 'ints', 'int', 'num', 'bool', 'op', 'str'].includes(a.kind));
    if (!hasBuffer) continue;
    args.forEach((a, i) => {
      if (a.kind !== 'layout' && a.kind !== 'ints') return;
      for (const how of ['getter', 'proxy'] as const) {
        if (how === 'proxy' && a.kind !== 'layout') continue;
        const values = build(args, i, how, opsets);
        calls++;
        try {
          A[k](...values);
          failures.push(`${k} (${a.name} ${how}): returned instead of rejecting a detached buffer`);
        } catch (e) {
          const msg = (e as Error).message;
          const want = new RegExp(`^nabla\\.${k}: \\w+: its buffer is detached$`);
          if (!want.test(msg)) failures.push(`${k} (${a.name} ${how}): ${msg}`);
        }
      }
    });
    // A number argument given as an object: rejected by type, its valueOf never called.
    args.forEach((a, i) => {
      if (a.kind !== 'int' && a.kind !== 'num') return;
      const values = build(args, -1, 'getter', opsets);
      let ran = false;
      values[i] = {
        valueOf: () => {
          ran = true;
          return 1;
        },
      };
      calls++;
      try {
        A[k](...values);
        failures.push(`${k} (${a.name} valueOf): accepted an object as a number`);
      } catch (e) {
        const msg = (e as Error).message;
        if (ran || !msg.includes(`${a.name} must be a number`)) failures.push(`${k} (${a.name} valueOf): ${msg}`);
      }
    });
  }
  return { calls, failures };
}

function repro(): { calls: number; failures: string[] } {
  const buf = new Float32Array(1 << 22).fill(1);
  let n = 0;
  const layout = Object.create(Layout.prototype, {
    shape: {
      get() {
        if (++n === 3) {
          structuredClone(buf.buffer, { transfer: [buf.buffer] });
          for (let i = 0; i < 64; i++) new ArrayBuffer(8 << 20);
        }
        return [1 << 22];
      },
    },
    strides: { value: [1] },
    offset: { value: 0 },
  }) as Layout;
  try {
    const y = new Tensor(new Storage(buf), layout, 'float32').exp();
    return { calls: 1, failures: [`exp() returned (shape ${y.shape}) from a detached buffer`] };
  } catch (e) {
    const msg = (e as Error).message;
    return { calls: 1, failures: /detached/.test(msg) ? [] : [`unexpected error: ${msg}`] };
  }
}

function resize(): { calls: number; failures: string[] } {
  const { addon } = loadAddon();
  if (!addon) throw new Error('no addon');
  const failures: string[] = [];
  const views = [
    (b: ArrayBuffer) => new Float32Array(b), // tracks the buffer's length
    (b: ArrayBuffer) => new Float32Array(b, 0, 16), // fixed: out of bounds once the buffer shrinks
  ];
  for (const view of views) {
    const rab = new (
      ArrayBuffer as unknown as new (
        n: number,
        o: { maxByteLength: number },
      ) => ArrayBuffer & {
        resize(n: number): void;
      }
    )(64, { maxByteLength: 128 });
    const x = view(rab);
    const lx = {
      get shape() {
        rab.resize(16);
        churn();
        return [16];
      },
      strides: [1],
      offset: 0,
    };
    try {
      addon.unary(2, new Float32Array(16), x, lx, 0, 0);
      failures.push(`a ${x.length === 0 ? 'fixed' : 'tracking'} view of a shrunk buffer was read past its end`);
    } catch (e) {
      const msg = (e as Error).message;
      if (!/^nabla\.unary: x: layout reaches element 15 but the buffer has [04]$/.test(msg)) failures.push(msg);
    }
  }
  return { calls: views.length, failures };
}

const mode = process.argv[2];
const result =
  mode === 'repro'
    ? repro()
    : mode === 'walk'
      ? walk()
      : mode === 'resize'
        ? resize()
        : { calls: 0, failures: [`unknown mode ${mode}`] };
console.log(JSON.stringify(result));
