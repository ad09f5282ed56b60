// The child process of the campaign: loads each input of its batch through nabla's public API and
// reports, on file descriptor 3 and synchronously (so an abort loses nothing already reported),
// "B <index>" before an input and "R <json>" after it: outcome, milliseconds, peak RSS, a digest of
// what was loaded, or the error. It exits as soon as its peak RSS passes the limit, so the runner
// can blame that input and restart the rest of the batch in a fresh process.
// Usage: node --expose-gc worker.js <job.json>, or worker.js --save <path> <loop|once> (see saver).
import { readFileSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as nb from '../../../src/index.js';
import { loadNativeBackend } from '../../../src/backend/native/index.js';
import { addonCase } from './addon_cases.js';
import type { Input, Result } from './types.js';

declare const gc: undefined | (() => void);

export interface Job {
  inputs: Input[];
  /** Campaign seed (addon cases are rebuilt from it). */
  seed: number;
  rssLimit: number;
}

function report(line: string): void {
  writeSync(3, line + '\n');
}

/** A stable digest of a loaded value: tensors by dtype, shape and bytes; keys sorted; iterative. */
export function digest(v: unknown): string {
  const h = createHash('sha1');
  const seen = new Map<object, number>();
  const work: unknown[] = [v];
  let nodes = 0;
  while (work.length) {
    const x = work.pop();
    if (++nodes > 5_000_000) {
      h.update('|too-many-nodes');
      break;
    }
    if (x === null || typeof x !== 'object') {
      h.update(`|${typeof x}:${String(x)}`);
      continue;
    }
    if (seen.has(x)) {
      h.update(`|ref${seen.get(x)}`);
      continue;
    }
    seen.set(x, seen.size);
    if (x instanceof nb.Tensor) {
      const d = x.toTypedArray();
      h.update(`|T:${x.dtype}:${x.shape.join('x')}:`);
      h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    } else if (x instanceof nb.vision.Image) {
      h.update(`|I:${x.width}x${x.height}:${x.mode}:`);
      h.update(x.data);
    } else if (ArrayBuffer.isView(x)) {
      h.update(`|A:${x.constructor.name}:`);
      h.update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
    } else if (Array.isArray(x)) {
      h.update(`|[${x.length}`);
      for (let i = x.length - 1; i >= 0; i--) work.push(x[i]);
    } else if (x instanceof Set || x instanceof Map) {
      h.update(`|S${x.size}`);
    } else {
      const keys = Object.keys(x).sort();
      h.update(`|{${keys.join(',')}`);
      for (let i = keys.length - 1; i >= 0; i--) work.push((x as Record<string, unknown>)[keys[i]]);
    }
  }
  return h.digest('hex').slice(0, 16);
}

type AddonFn = (...a: unknown[]) => unknown;

/** Loads one file input through the public API. */
async function loadFile(inp: Input): Promise<unknown> {
  switch (inp.loader) {
    case 'keepHalf':
      return inp.path.endsWith('.safetensors')
        ? nb.io.loadSafetensors(inp.path, { keepHalf: true })
        : nb.io.loadTorch(inp.path, { keepHalf: true });
    case 'image':
      return nb.vision.readImage(inp.path);
    case 'audio':
      return nb.audio.load(inp.path);
    case 'fs':
      return inp.path.endsWith('.png') ? nb.vision.readImage(inp.path) : nb.load(inp.path);
    default:
      return nb.load(inp.path);
  }
}

async function runOne(inp: Input, seed: number, addon: Record<string, AddonFn> | null): Promise<Result> {
  const res: Result = { id: inp.id, outcome: 'ok', ms: 0, rss: 0 };
  const c = inp.loader === 'addon' && addon ? addonCase(seed, inp.addonCase!, nb, addon) : undefined;
  const t0 = performance.now();
  try {
    if (inp.loader === 'addon' && !c) throw new Error('native addon not built');
    const value = c ? c.run() : await loadFile(inp);
    res.ms = performance.now() - t0;
    if (!c) res.digest = digest(value);
  } catch (e) {
    res.ms = performance.now() - t0;
    res.outcome = 'error';
    res.errName = e instanceof Error ? e.constructor.name : typeof e;
    res.errMsg = (e instanceof Error ? e.message : String(e)).slice(0, 400);
  }
  // NOTE: asked after the call: the getters that detach run inside it.
  if (c?.hostileBuffer()) res.detached = true;
  if (c) res.detail = `${c.kernel}/${c.variant}`;
  return res;
}

async function main(): Promise<void> {
  const job = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Job;
  const addon = loadNativeBackend().backend?.addon as unknown as Record<string, AddonFn> | null;
  for (let i = 0; i < job.inputs.length; i++) {
    report(`B ${i}`);
    const res = await runOne(job.inputs[i], job.seed, addon);
    if (typeof gc === 'function') gc();
    res.rss = process.resourceUsage().maxRSS * 1024;
    report(`R ${JSON.stringify(res)}`);
    if (res.rss > job.rssLimit) process.exit(0);
  }
}

/** `worker.js --save <path> <loop|once>`: saves a 128 MB tensor to path, forever or once (the killed-save check). */
async function saver(path: string, mode: string): Promise<void> {
  const t = nb.zeros([32 << 20]);
  do await nb.save({ w: t }, path);
  while (mode === 'loop');
}

if (process.argv[2] === '--save') await saver(process.argv[3], process.argv[4]);
else await main();
