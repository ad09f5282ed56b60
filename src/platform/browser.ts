// The browser stand-in for ./node.ts, swapped in by bundlers through package.json's "browser" field:
// the same names, with no Node module and no Node global behind them. Paths are POSIX strings;
// everything that needs a file system, zlib, hashing or require() throws one error that says what to
// pass instead, when it is called (never at import, so the rest of the library loads and runs).
// test/platform/browser_bundle.test.ts checks that this file exports every name ./node.ts does.

/** The error of a Node-only call made in the browser. */
export class NodeOnlyError extends Error {
  constructor(what: string, arg?: unknown) {
    const on = typeof arg === 'string' ? `('${arg}')` : '';
    super(
      `nabla: ${what}${on} needs Node.js, and this is the browser build. Pass the bytes instead of a path: an ` +
        'ArrayBuffer or Uint8Array, a Blob, a URL or a fetch Response (nb.io.fetchBytes reads any of them)',
    );
    this.name = 'NodeOnlyError';
  }
}

function nodeOnly(what: string): (...args: unknown[]) => never {
  return (...args: unknown[]) => {
    throw new NodeOnlyError(what, args[0]);
  };
}

export const closeSync = nodeOnly('fs.closeSync');
export const constants: Record<string, number | undefined> = {};
export const copyFileSync = nodeOnly('fs.copyFileSync');
export const createReadStream = nodeOnly('fs.createReadStream');
export const existsSync = nodeOnly('fs.existsSync');
export const fstatSync = nodeOnly('fs.fstatSync');
export const fsyncSync = nodeOnly('fs.fsyncSync');
export const mkdirSync = nodeOnly('fs.mkdirSync');
export const mkdtempSync = nodeOnly('fs.mkdtempSync');
export const openSync = nodeOnly('reading a file');
export const read = nodeOnly('fs.read');
export const readdirSync = nodeOnly('fs.readdirSync');
export const readFileSync = nodeOnly('reading a file');
export const readSync = nodeOnly('fs.readSync');
export const renameSync = nodeOnly('fs.renameSync');
export const rmSync = nodeOnly('fs.rmSync');
export const statSync = nodeOnly('fs.statSync');
export const symlinkSync = nodeOnly('fs.symlinkSync');
export const unlinkSync = nodeOnly('fs.unlinkSync');
export const writeFileSync = nodeOnly('writing a file');
export const writeSync = nodeOnly('writing a file');

export const deflateRawSync = nodeOnly('deflate compression (zlib)');
export const gunzipSync = nodeOnly('gzip decompression (zlib)');
export const inflateRawSync = nodeOnly('a deflated zip member (zlib); save it uncompressed, as torch.save does,');
export const inflateSync = nodeOnly('PNG decoding (zlib)');
export const createHash = nodeOnly('crypto.createHash');
export const randomBytes = nodeOnly('crypto.randomBytes');
export type Hash = never;
export const homedir = nodeOnly('os.homedir');
export const hostname = (): string => 'browser';
export const tmpdir = nodeOnly('os.tmpdir');
export const spawnSync = nodeOnly('running a program (child_process.spawnSync)');
export const createRequire = (_url: string | URL) => nodeOnly('require');
export const fileURLToPath = (u: string | URL): string => decodeURIComponent(new URL(String(u)).pathname);

/** promisify for the fs.read stand-in: the promise rejects with the call's error. */
export function promisify(f: (...args: unknown[]) => unknown): (...args: unknown[]) => Promise<unknown> {
  return (...args) =>
    new Promise((res, rej) => {
      try {
        f(...args, (e: unknown, v: unknown) => (e ? rej(e) : res(v)));
      } catch (e) {
        rej(e);
      }
    });
}

/** POSIX path.normalize on segments: '.' dropped, '..' pops (kept at the front of a relative path). */
function normalize(p: string): string {
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const s of p.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..' && out.length && out[out.length - 1] !== '..') out.pop();
    else if (s !== '..' || !abs) out.push(s);
  }
  const r = (abs ? '/' : '') + out.join('/');
  return r || (abs ? '/' : '.');
}

export function join(...parts: string[]): string {
  return normalize(parts.filter((p) => p !== '').join('/'));
}

export function resolve(...parts: string[]): string {
  let p = '';
  for (const s of parts) p = s.startsWith('/') ? s : p ? `${p}/${s}` : s;
  return normalize(p.startsWith('/') ? p : `/${p}`);
}

export function dirname(p: string): string {
  const s = p.replace(/\/+$/, '');
  if (s === '' && p.startsWith('/')) return '/';
  const i = s.lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : s.slice(0, i);
}

export function basename(p: string, ext?: string): string {
  const b = p.replace(/\/+$/, '').split('/').pop() ?? '';
  return ext && b.endsWith(ext) && b !== ext ? b.slice(0, -ext.length) : b;
}

export function extname(p: string): string {
  const b = basename(p);
  const i = b.lastIndexOf('.');
  return i <= 0 ? '' : b.slice(i);
}

export function relative(from: string, to: string): string {
  const a = resolve(from).split('/').filter(Boolean),
    b = resolve(to).split('/').filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => '..'), ...b.slice(i)].join('/');
}

/** Writes to the console a line at a time; a '\r' redraw keeps only the text after it (a progress bar). */
class ConsoleStream {
  private line = '';
  readonly isTTY = false;
  constructor(private readonly out: (s: string) => void) {}
  write(s: string): boolean {
    const parts = (this.line + s).split('\n');
    this.line = parts.pop() ?? '';
    for (const p of parts) this.out(p.slice(p.lastIndexOf('\r') + 1));
    return true;
  }
}

/** The few members of Node's process the library reads, with browser meanings. */
export const process = {
  env: {} as Record<string, string | undefined>,
  versions: {} as Record<string, string | undefined>,
  platform: 'browser',
  pid: 0,
  stdout: new ConsoleStream((s) => console.log(s)),
  stderr: new ConsoleStream((s) => console.warn(s)),
  emitWarning: (msg: string, type = 'Warning'): void => console.warn(`${type}: ${msg}`),
  cpuUsage: nodeOnly('process.cpuUsage'),
  kill: nodeOnly('process.kill'),
};

/** Node's Buffer does not exist here: any use of it (writers that build Node Buffers) throws NodeOnlyError. */
export const Buffer = new Proxy(
  {},
  {
    get(_t, k) {
      throw new NodeOnlyError(`Buffer.${String(k)}`);
    },
  },
);

/**
 * Runs `f` after pending events, as Node's setImmediate: a MessageChannel message, since a browser's
 * setTimeout(0) waits at least 4 ms once nested (a DataLoader yielding per batch would crawl).
 */
export function setImmediate(f: () => void): void {
  const ch = new MessageChannel();
  ch.port1.onmessage = () => {
    ch.port1.close();
    f();
  };
  ch.port2.postMessage(null);
}

export const IS_NODE = false;
export const zlibCrc32: ((d: Uint8Array, v?: number) => number) | undefined = undefined;
