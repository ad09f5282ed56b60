// A restricted unpickler: the pickle virtual machine for protocols 0-5, minus everything that could
// run code. Globals resolve only through an allow-list (collections.OrderedDict plus whatever the
// caller adds, e.g. torch's tensor rebuild functions and storage classes); anything else is refused
// with an error naming it. Nothing is ever executed, imported or evaluated. Every opcode consumes
// at least one input byte and creates at most one object, so memory and time are linear in the
// pickle's size; every length is checked against the bytes that remain. A deflated pickle can still
// be 1000x its file, so the stack, the memo and the containers have budgets (UNPICKLE_LIMITS) that
// fail with an error naming the file and the limit long before V8's own array limits abort the process.
import { CheckpointError } from './source.js';

/** An allowed global: a pure function of its arguments building a JS value. */
export type PyCallable = (args: unknown[]) => unknown;

export interface UnpickleOptions {
  /** Name used in error messages. */
  file?: string;
  /** Extra allowed globals, keyed 'module.name'. */
  globals?: Readonly<Record<string, PyCallable>>;
  /** Resolves persistent ids (torch storages); without it a persistent id is an error. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Budgets; each missing field takes its UNPICKLE_LIMITS default. */
  limits?: Partial<UnpickleLimits>;
}

/** What one pickle may build. The defaults are far above what a checkpoint's pickle holds. */
export interface UnpickleLimits {
  /** Items on the stack, counting those under every MARK. */
  maxStack: number;
  /** Memo entries. */
  maxMemo: number;
  /** Tuples, lists, dicts and sets built. */
  maxContainers: number;
  /** Items put into containers, all containers together. */
  maxElements: number;
}

// NOTE: 10M keeps every array, Map and Set far below V8's hard limits (about 2^24 entries for a Map
// or Set, 2^27 for an array), whose overflow is a RangeError or an uncatchable process abort. Memo
// entries and containers cost a microsecond or more each, so 1M of them keeps a hostile pickle under
// about a second; a checkpoint's pickle builds about six containers and ten memo entries per tensor,
// so 1M still allows 100k tensors.
export const UNPICKLE_LIMITS: Readonly<UnpickleLimits> = {
  maxStack: 10_000_000,
  maxMemo: 1_000_000,
  maxContainers: 1_000_000,
  maxElements: 10_000_000,
};

/** Objects built by allowed globals may accept BUILD state through this method. */
export const SETSTATE = Symbol('setstate');
export interface HasSetState {
  [SETSTATE](state: unknown): void;
}

/** A reference to an allowed global on the VM stack. */
class GlobalRef {
  constructor(
    readonly qualname: string,
    readonly fn: PyCallable,
  ) {}
}

/**
 * A new dict: a plain object whose keys are set with defineProperty (so '__proto__' is just a key).
 * NOTE: a dict is recognised as a plain object (prototype Object.prototype): every other value an
 * allowed global builds is a class instance, an array or a primitive. (Tagging dicts and lists in
 * module-level WeakSets made every garbage collection slower with each load, quadratic past ~2M.)
 */
export function newDict(entries: Iterable<[unknown, unknown]> = [], file = '<pickle>'): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  for (const e of entries) {
    if (!Array.isArray(e) || e.length !== 2) {
      throw new CheckpointError(file, `pickle: dict item ${describe(e)} is not a (key, value) pair`);
    }
    setItem(d, e[0], e[1], file);
  }
  return d;
}

function isDict(d: unknown): d is Record<string, unknown> {
  return typeof d === 'object' && d !== null && Object.getPrototypeOf(d) === Object.prototype;
}

function setItem(d: Record<string, unknown>, k: unknown, v: unknown, file: string): void {
  const t = typeof k;
  if (!(t === 'string' || t === 'number' || t === 'bigint' || t === 'boolean' || k === null)) {
    throw new CheckpointError(
      file,
      `pickle: dict key of unsupported type ${describe(k)} (only str, int, float, bool and None keys are supported)`,
    );
  }
  const key = k === null ? 'None' : t === 'boolean' ? (k ? 'True' : 'False') : String(k);
  Object.defineProperty(d, key, { value: v, enumerable: true, writable: true, configurable: true });
}

function describe(x: unknown): string {
  if (x === null) return 'None';
  if (Array.isArray(x)) return 'tuple/list';
  if (x instanceof GlobalRef) return `global '${x.qualname}'`;
  return typeof x;
}

const BASE_GLOBALS: Record<string, PyCallable> = {
  'collections.OrderedDict': (args) =>
    newDict(args.length && Array.isArray(args[0]) ? (args[0] as [unknown, unknown][]) : []),
  'builtins.set': (args) => new Set(Array.isArray(args[0]) ? args[0] : []),
  'builtins.frozenset': (args) => new Set(Array.isArray(args[0]) ? args[0] : []),
  // Protocol 2 pickles bytes from Python 3 as _codecs.encode(latin1-str, 'latin1').
  '_codecs.encode': (args) => {
    const [s, enc] = args;
    if (typeof s !== 'string' || (enc !== 'latin1' && enc !== 'latin-1'))
      throw new Error('_codecs.encode: only (str, "latin1") is supported');
    const b = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
    return b;
  },
};

/** Unpickles one pickle from the start of `data`. */
export function unpickle(data: Uint8Array, opts: UnpickleOptions = {}): unknown {
  return unpickleAt(data, 0, opts).value;
}

/** Unpickles the pickle starting at byte `start`; `end` is the byte after its STOP opcode. */
export function unpickleAt(
  data: Uint8Array,
  start: number,
  opts: UnpickleOptions = {},
): { value: unknown; end: number } {
  try {
    return run(data, start, opts);
  } catch (e) {
    // NOTE: the budgets keep V8's limits out of reach; a string past V8's maximum length (a 600 MB
    // BINUNICODE) is the one left, and it must still name the file.
    if (e instanceof RangeError || (e as NodeJS.ErrnoException).code === 'ERR_STRING_TOO_LONG') {
      throw new CheckpointError(opts.file ?? '<pickle>', `pickle: ${(e as Error).message}`, { cause: e });
    }
    throw e;
  }
}

function run(data: Uint8Array, start: number, opts: UnpickleOptions): { value: unknown; end: number } {
  const file = opts.file ?? '<pickle>';
  const globals = { ...BASE_GLOBALS, ...opts.globals };
  const n = data.length;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const utf8 = new TextDecoder('utf-8');
  let pos = start;
  let op = 0,
    opAt = 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  const limits = { ...UNPICKLE_LIMITS, ...opts.limits };
  // Lists of this pickle (tuples are arrays too, and only lists take APPEND): local, so it dies with the call.
  const lists = new Set<unknown[]>();
  let metaItems = 0; // items under the MARKs, i.e. in the arrays on the metastack
  let containers = 0,
    elements = 0;

  const fail = (msg: string, truncated = false): never => {
    const e = new CheckpointError(
      file,
      `pickle: ${msg} (opcode 0x${op.toString(16).padStart(2, '0')} at byte ${opAt})`,
    );
    e.truncated = truncated;
    throw e;
  };
  const need = (k: number): number => {
    if (!(k >= 0 && pos + k <= n)) fail(`truncated data: needs ${k} bytes, ${n - pos} left`, true);
    const at = pos;
    pos += k;
    return at;
  };
  const readLine = (): string => {
    const start = pos;
    while (pos < n && data[pos] !== 0x0a) pos++;
    if (pos >= n) fail('truncated data: unterminated text argument', true);
    const s = new TextDecoder('latin1').decode(data.subarray(start, pos));
    pos++;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) fail('stack underflow: no MARK');
    stack = prev as unknown[];
    metaItems -= stack.length;
    return items;
  };
  const overLimit = (what: string, name: keyof UnpickleLimits): never =>
    fail(`${what} exceeds the limit of ${limits[name]} (limits.${name}; raise it only for a file you trust)`);
  /** Counts `k` new containers holding `items` elements in all. */
  const grow = (k: number, items: number): void => {
    containers += k;
    elements += items;
    if (containers > limits.maxContainers) overLimit('the number of tuples, lists, dicts and sets', 'maxContainers');
    if (elements > limits.maxElements) overLimit('the number of items in tuples, lists, dicts and sets', 'maxElements');
  };
  const tuple = <T extends unknown[]>(t: T): T => {
    grow(1, t.length);
    return t;
  };
  const memoSet = (i: number, v: unknown): void => {
    memo.set(i, v);
    if (memo.size > limits.maxMemo) overLimit('the memo', 'maxMemo');
  };
  const findGlobal = (mod: string, name: string): GlobalRef => {
    const q = `${mod}.${name}`;
    const fn = Object.hasOwn(globals, q) ? globals[q] : undefined;
    if (!fn)
      throw new CheckpointError(
        file,
        `refusing to load global '${q}' (not on the allow-list of tensor-checkpoint types)`,
      );
    return new GlobalRef(q, fn);
  };
  const call = (f: unknown, args: unknown): unknown => {
    if (!(f instanceof GlobalRef)) fail(`cannot call ${describe(f)}`);
    if (!Array.isArray(args)) fail(`arguments of '${(f as GlobalRef).qualname}' are not a tuple`);
    try {
      const r = (f as GlobalRef).fn(args as unknown[]);
      if (typeof r === 'object' && r !== null) grow(1, 0);
      return r;
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      return fail(`${(f as GlobalRef).qualname}: ${(e as Error).message}`);
    }
  };
  const memoGet = (i: number): unknown => {
    if (!memo.has(i)) fail(`memo key ${i} is not defined`);
    return memo.get(i);
  };
  const asDict = (d: unknown): Record<string, unknown> => {
    if (!isDict(d)) fail(`SETITEM on ${describe(d)}, not a dict`);
    return d as Record<string, unknown>;
  };
  const asList = (l: unknown): unknown[] => {
    if (!Array.isArray(l) || !lists.has(l)) fail(`APPEND on ${describe(l)}, not a list`);
    return l as unknown[];
  };
  const newList = (items: unknown[]): unknown[] => {
    grow(1, items.length);
    lists.add(items);
    return items;
  };
  const str = (at: number, len: number): string => utf8.decode(data.subarray(at, at + len));
  const bytes = (at: number, len: number): Uint8Array => data.slice(at, at + len);
  const len8 = (): number => {
    const at = need(8);
    const hi = dv.getUint32(at + 4, true);
    return hi >= 0x200000 ? Infinity : hi * 2 ** 32 + dv.getUint32(at, true);
  };
  const persid = (pid: unknown): unknown => {
    if (!opts.persistentLoad) fail('persistent id found, but this file type has no persistent storage');
    return opts.persistentLoad!(pid);
  };
  const parseLong = (s: string): number | bigint => {
    const t = s.endsWith('L') ? s.slice(0, -1) : s;
    if (t.length > 4300) fail('integer literal longer than 4300 digits');
    if (!/^[+-]?\d+$/.test(t)) fail(`bad integer literal '${s.slice(0, 40)}'`);
    const b = BigInt(t);
    return b >= -(2n ** 53n) + 1n && b <= 2n ** 53n - 1n ? Number(b) : b;
  };
  const decodeLong = (at: number, len: number): number | bigint => {
    if (len === 0) return 0;
    if (len > 2048) fail(`integer of ${len} bytes is too large`);
    let v = 0n;
    for (let i = len - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[at + i]);
    if (data[at + len - 1] & 0x80) v -= 1n << BigInt(8 * len);
    return v >= -(2n ** 53n) + 1n && v <= 2n ** 53n - 1n ? Number(v) : v;
  };

  while (true) {
    if (pos >= n) fail('truncated data: no STOP opcode', true);
    // NOTE: every opcode pushes at most one item, so checking before each one bounds the stack exactly.
    if (stack.length + metaItems + metastack.length >= limits.maxStack) overLimit('the pickle stack', 'maxStack');
    opAt = pos;
    op = data[pos++];
    switch (op) {
      case 0x80:
        need(1);
        break; // PROTO
      case 0x95:
        need(8);
        break; // FRAME (framing is only a buffering hint)
      case 0x2e: {
        // STOP
        return { value: pop(), end: pos };
      }
      case 0x28:
        metaItems += stack.length;
        metastack.push(stack);
        stack = [];
        break; // MARK
      case 0x30:
        pop();
        break; // POP
      case 0x31:
        popMark();
        break; // POP_MARK
      case 0x32:
        stack.push(top());
        break; // DUP
      case 0x4e:
        stack.push(null);
        break; // NONE
      case 0x88:
        stack.push(true);
        break; // NEWTRUE
      case 0x89:
        stack.push(false);
        break; // NEWFALSE
      case 0x4a:
        stack.push(dv.getInt32(need(4), true));
        break; // BININT
      case 0x4b:
        stack.push(data[need(1)]);
        break; // BININT1
      case 0x4d:
        stack.push(dv.getUint16(need(2), true));
        break; // BININT2
      case 0x8a: {
        const l = data[need(1)];
        stack.push(decodeLong(need(l), l));
        break;
      } // LONG1
      case 0x8b: {
        const l = dv.getInt32(need(4), true);
        if (l < 0) fail('negative LONG4 length');
        stack.push(decodeLong(need(l), l));
        break;
      }
      case 0x49: {
        // INT (text; 00/01 are False/True)
        const s = readLine();
        stack.push(s === '00' ? false : s === '01' ? true : parseLong(s));
        break;
      }
      case 0x4c:
        stack.push(parseLong(readLine()));
        break; // LONG (text)
      case 0x46:
        stack.push(parseFloatLiteral(readLine(), fail));
        break; // FLOAT (text)
      case 0x47:
        stack.push(dv.getFloat64(need(8), false));
        break; // BINFLOAT (big-endian)
      case 0x58: {
        const l = dv.getUint32(need(4), true);
        stack.push(str(need(l), l));
        break;
      } // BINUNICODE
      case 0x8c: {
        const l = data[need(1)];
        stack.push(str(need(l), l));
        break;
      } // SHORT_BINUNICODE
      case 0x8d: {
        const l = len8();
        stack.push(str(need(l), l));
        break;
      } // BINUNICODE8
      case 0x56:
        stack.push(readLine());
        break; // UNICODE (raw-unicode-escape; plain ASCII is what appears)
      case 0x53: {
        // STRING (text, quoted)
        const s = readLine();
        const q = s[0];
        if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) fail('bad STRING literal');
        stack.push(s.slice(1, -1));
        break;
      }
      case 0x54: {
        const l = dv.getInt32(need(4), true);
        if (l < 0) fail('negative BINSTRING length');
        stack.push(new TextDecoder('latin1').decode(data.subarray(need(l), pos)));
        break;
      }
      case 0x55: {
        const l = data[need(1)];
        stack.push(new TextDecoder('latin1').decode(data.subarray(need(l), pos)));
        break;
      }
      case 0x42: {
        const l = dv.getUint32(need(4), true);
        stack.push(bytes(need(l), l));
        break;
      } // BINBYTES
      case 0x43: {
        const l = data[need(1)];
        stack.push(bytes(need(l), l));
        break;
      } // SHORT_BINBYTES
      case 0x8e:
      case 0x96: {
        const l = len8();
        stack.push(bytes(need(l), l));
        break;
      } // BINBYTES8, BYTEARRAY8
      case 0x29:
        stack.push(tuple([]));
        break; // EMPTY_TUPLE
      case 0x74: {
        const t = tuple(popMark());
        stack.push(t);
        break;
      } // TUPLE (NOTE: popMark swaps `stack`)
      case 0x85:
        stack.push(tuple([pop()]));
        break; // TUPLE1
      case 0x86: {
        const b = pop(),
          a = pop();
        stack.push(tuple([a, b]));
        break;
      }
      case 0x87: {
        const c = pop(),
          b = pop(),
          a = pop();
        stack.push(tuple([a, b, c]));
        break;
      }
      case 0x5d:
        stack.push(newList([]));
        break; // EMPTY_LIST
      case 0x6c: {
        const l = newList(popMark());
        stack.push(l);
        break;
      } // LIST
      case 0x61: {
        const v = pop();
        asList(top()).push(v);
        grow(0, 1);
        break;
      } // APPEND
      case 0x65: {
        // APPENDS
        const items = popMark();
        const l = asList(top());
        grow(0, items.length);
        for (const x of items) l.push(x);
        break;
      }
      case 0x7d:
        grow(1, 0);
        stack.push(newDict([], file));
        break; // EMPTY_DICT
      case 0x64: {
        // DICT
        const items = popMark();
        if (items.length % 2) fail('DICT with an odd number of items');
        grow(1, items.length / 2);
        const d = newDict([], file);
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1], file);
        stack.push(d);
        break;
      }
      case 0x73: {
        const v = pop(),
          k = pop();
        setItem(asDict(top()), k, v, file);
        grow(0, 1);
        break;
      } // SETITEM
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2) fail('SETITEMS with an odd number of items');
        const d = asDict(top());
        grow(0, items.length / 2);
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1], file);
        break;
      }
      case 0x8f:
        grow(1, 0);
        stack.push(new Set());
        break; // EMPTY_SET
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail('ADDITEMS on a non-set');
        grow(0, items.length);
        for (const x of items) (s as Set<unknown>).add(x);
        break;
      }
      case 0x91: {
        const items = popMark();
        grow(1, items.length);
        stack.push(new Set(items));
        break;
      } // FROZENSET
      case 0x70:
        memoSet(parseIndex(readLine(), fail), top());
        break; // PUT
      case 0x71:
        memoSet(data[need(1)], top());
        break; // BINPUT
      case 0x72:
        memoSet(dv.getUint32(need(4), true), top());
        break; // LONG_BINPUT
      case 0x94:
        memoSet(memo.size, top());
        break; // MEMOIZE
      case 0x67:
        stack.push(memoGet(parseIndex(readLine(), fail)));
        break; // GET
      case 0x68:
        stack.push(memoGet(data[need(1)]));
        break; // BINGET
      case 0x6a:
        stack.push(memoGet(dv.getUint32(need(4), true)));
        break; // LONG_BINGET
      case 0x63: {
        const mod = readLine();
        const name = readLine();
        stack.push(findGlobal(mod, name));
        break;
      } // GLOBAL
      case 0x93: {
        // STACK_GLOBAL
        const name = pop(),
          mod = pop();
        if (typeof mod !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(findGlobal(mod as string, name as string));
        break;
      }
      case 0x52: {
        const args = pop();
        const f = pop();
        stack.push(call(f, args));
        break;
      } // REDUCE
      case 0x81: {
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args));
        break;
      } // NEWOBJ
      case 0x92: {
        const kw = pop();
        const args = pop();
        const cls = pop(); // NEWOBJ_EX
        if (kw && typeof kw === 'object' && Object.keys(kw).length)
          fail('NEWOBJ_EX with keyword arguments is not supported');
        stack.push(call(cls, args));
        break;
      }
      case 0x62: {
        // BUILD: dicts drop their state (an OrderedDict's _metadata); allowed objects take theirs
        const state = pop();
        const obj = top();
        if (isDict(obj)) break;
        if (typeof obj !== 'object' || obj === null || typeof (obj as Partial<HasSetState>)[SETSTATE] !== 'function')
          fail(`BUILD on ${describe(obj)} is not supported`);
        try {
          (obj as HasSetState)[SETSTATE](state);
        } catch (e) {
          if (e instanceof CheckpointError) throw e;
          fail(`BUILD: ${(e as Error).message}`);
        }
        break;
      }
      case 0x51:
        stack.push(persid(pop()));
        break; // BINPERSID
      case 0x50:
        stack.push(persid(readLine()));
        break; // PERSID
      case 0x69:
      case 0x6f: // INST, OBJ: instantiate arbitrary classes
        fail('INST/OBJ opcodes (arbitrary instantiation) are refused');
        break;
      case 0x82:
      case 0x83:
      case 0x84:
        fail('extension registry opcodes (EXT1/2/4) are refused');
        break;
      case 0x97:
      case 0x98:
        fail('out-of-band buffers are not supported');
        break;
      default:
        fail('unknown opcode');
    }
  }
}

function parseFloatLiteral(s: string, fail: (m: string) => never): number {
  const t = s.trim().toLowerCase();
  if (t === 'inf' || t === '+inf') return Infinity;
  if (t === '-inf') return -Infinity;
  if (t === 'nan' || t === '-nan') return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) fail(`bad float literal '${s.slice(0, 40)}'`);
  return Number(t);
}

function parseIndex(s: string, fail: (m: string) => never): number {
  if (!/^\d{1,15}$/.test(s)) fail(`bad memo index '${s.slice(0, 40)}'`);
  return Number(s);
}
