// Bytes from wherever a model lives: a path (Node), a URL (fetched), a fetch Response, a Blob or
// bytes already in memory, the same in Node and the browser. Loaders (nb.load, LlamaForCausalLM.
// fromLlama2c, LlamaTokenizer.fromLlama2c, vision.readImage) take what this reads, so a web page
// loads checkpoints exactly as a script does. A download that fails says so with the HTTP status,
// and one that ends early is caught against its Content-Length, never parsed as a shorter file.

import { IS_NODE, fileURLToPath } from '../platform/node.js';
import { withFile } from './source.js';
import { asBytes, type Bytes } from '../util/bytes.js';

export { asBytes, type Bytes };

/** Anything fetchBytes reads: a path or URL string, a URL, a fetch Response, a Blob (File), or bytes. */
export type ByteInput = string | URL | Response | Blob | Bytes;

/** A download that failed: an HTTP error status, a network error, or a body shorter than announced. */
export class FetchError extends Error {
  constructor(
    readonly url: string,
    problem: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(`nabla: fetching ${url}: ${problem}`, options);
    this.name = 'FetchError';
  }
}

/** True for a string naming a URL with a scheme (https:, http:, blob:, data:, file:), not a path. */
export function isUrlString(s: string): boolean {
  // NOTE: two or more letters before ':', so a Windows drive path (C:\x) is not a URL.
  return /^[a-z][a-z0-9+.-]+:/i.test(s);
}

/** A short name of an input for error messages: the path or URL, or what kind of object it is. */
export function inputName(x: ByteInput): string {
  if (typeof x === 'string') return x;
  if (x instanceof URL) return x.href;
  if (typeof Response !== 'undefined' && x instanceof Response) return x.url || '<Response>';
  if (typeof Blob !== 'undefined' && x instanceof Blob) {
    const name = (x as Blob & { name?: unknown }).name;
    return typeof name === 'string' && name ? name : '<Blob>';
  }
  return '<bytes>';
}

/**
 * The bytes of `input`. Strings: in Node a path is read from disk and a URL with a scheme fetched; in
 * the browser any string is a URL, resolved against the page. Throws FetchError for an HTTP error
 * status (404 ...), a failed connection, or a body shorter than its Content-Length.
 * @example const bytes = await nb.io.fetchBytes('https://example.com/stories260K.bin')
 */
export async function fetchBytes(input: ByteInput): Promise<Uint8Array> {
  const bytes = asBytes(input);
  if (bytes) return bytes;
  if (typeof Blob !== 'undefined' && input instanceof Blob) return new Uint8Array(await input.arrayBuffer());
  if (typeof Response !== 'undefined' && input instanceof Response) return readResponse(input, inputName(input));
  let url: URL;
  if (input instanceof URL) url = input;
  else if (typeof input !== 'string') {
    throw new TypeError(`nabla: fetchBytes: expected a path, URL, Response, Blob or bytes, got ${describe(input)}`);
  } else if (IS_NODE && !isUrlString(input)) return readWhole(input);
  else {
    const base = (globalThis as { location?: { href: string } }).location?.href;
    try {
      url = new URL(input, base);
    } catch {
      throw new TypeError(
        `nabla: fetchBytes: '${input}' is not a URL${base ? '' : ' (and there is no page to resolve it)'}`,
      );
    }
  }
  if (IS_NODE && url.protocol === 'file:') return readWhole(fileURLToPath(url));
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new FetchError(url.href, `the request failed (${(e as Error).message})`, undefined, { cause: e });
  }
  return readResponse(res, url.href);
}

/** A regular file's bytes (a FIFO or a device is refused, never waited on). */
function readWhole(path: string): Uint8Array {
  return withFile(path, (src) => src.read(0, src.size, 'fetchBytes'));
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  return typeof x === 'object' ? ((x as object).constructor?.name ?? 'an object') : typeof x;
}

/** The whole body of `res`, checked: an ok status, and as many bytes as Content-Length announces. */
async function readResponse(res: Response, url: string): Promise<Uint8Array> {
  if (!res.ok) {
    const hint = res.status === 404 ? ' (no file at that URL: check the path and that the server serves it)' : '';
    throw new FetchError(url, `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${hint}`, res.status);
  }
  if (res.bodyUsed) throw new FetchError(url, 'the Response body was already read');
  // NOTE: with a Content-Encoding, Content-Length counts the compressed bytes, not what we receive.
  const header = res.headers.get('content-length');
  const expected = header !== null && !res.headers.get('content-encoding') ? Number(header) : undefined;
  const chunks: Uint8Array[] = [];
  let got = 0;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        const of = expected !== undefined ? ` of ${expected}` : '';
        throw new FetchError(url, `the download broke off after ${got}${of} bytes (truncated)`, res.status, {
          cause: e,
        });
      }
      if (r.done) break;
      chunks.push(r.value);
      got += r.value.byteLength;
    }
  }
  if (expected !== undefined && Number.isFinite(expected) && got !== expected) {
    throw new FetchError(url, `truncated download: received ${got} bytes, Content-Length announced ${expected}`);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(got);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
