// Runs a campaign: writes every input to a temporary directory, loads them in batches in child
// processes (worker.ts) under a watchdog that kills a child whose RSS passes the limit or whose
// current input runs past the time limit, restarts the rest of a batch after a kill or an abort
// (the "B <i>" line without its "R" names the culprit), and classifies every input.
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FORMATS, type FormatSpec, type SeedFile } from './formats.js';
import { Rng, mix } from './util.js';
import type { Input, Result } from './types.js';
import type { Job } from './worker.js';
import { addonCase } from './addon_cases.js';
import * as nb from '../../../src/index.js';

export const CATEGORIES = [
  'loaded',
  'cleanError',
  'badError',
  'crash',
  'hang',
  'overmem',
  'wrongData',
  'acceptsInvalid',
  'tempLeft',
] as const;
export type Category = (typeof CATEGORIES)[number];
/** The categories that fail a campaign. */
export const FAILING: readonly Category[] = CATEGORIES.filter((c) => c !== 'loaded' && c !== 'cleanError');

export interface CampaignOptions {
  seed: number;
  /** Random mutants per format (the fixed inputs come on top). */
  count: number;
  /** Addon cases. */
  addonCount: number;
  formats?: string[];
  /** Leave out the inputs marked long-only (the CI campaign). */
  bounded?: boolean;
  /** Run the fixed inputs (bombs, huge pickles, FIFOs); default true. */
  specials?: boolean;
  /** Inputs per child process. */
  batchSize?: number;
  /** Children running at once. */
  jobs?: number;
  timeLimitMs?: number;
  rssLimit?: number;
  /** Copy failing inputs here. */
  saveFailures?: string;
  /** Only write the inputs and a manifest.json into this directory (for tools/golden/fuzz_reference.py). */
  dumpTo?: string;
  log?: (s: string) => void;
}

export interface Classified {
  input: Input;
  result: Result;
  category: Category;
  /** The load was rejected although the reference loads it (reported, not a failure). */
  falseReject: boolean;
}

type Column = Category | 'inputs' | 'falseReject';
const emptyRow = () =>
  Object.fromEntries(['inputs', 'falseReject', ...CATEGORIES].map((k) => [k, 0])) as Record<Column, number>;

export interface CampaignReport {
  rows: Map<string, Record<Column, number>>;
  failures: Classified[];
  all: Classified[];
  seconds: number;
}

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'worker.js');

/** Current RSS of a process in bytes (Linux), or 0. */
function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

const tail = (s: string) => s.trim().split('\n').slice(-4).join(' | ');

/** Runs inputs in one child; returns when the child exits, with the index it stopped at. */
function runChild(dir: string, job: Job, timeLimitMs: number): Promise<{ results: Result[]; next: number }> {
  const jobPath = join(dir, `job-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(jobPath, JSON.stringify(job));
  return new Promise((resolve) => {
    const args = ['--expose-gc', '--max-old-space-size=3072', WORKER, jobPath];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    const results: Result[] = [];
    let current = -1,
      started = 0,
      killedFor: 'hang' | 'overmem' | null = null,
      peak = 0,
      buf = '',
      stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('B ')) {
          current = Number(line.slice(2));
          started = Date.now();
          peak = 0;
        } else if (line.startsWith('R ')) {
          results.push(JSON.parse(line.slice(2)));
          current = -1;
        }
      }
    });
    const watch = setInterval(() => {
      if (current < 0 || killedFor) return;
      const rss = rssOf(child.pid!);
      peak = Math.max(peak, rss);
      if (rss > job.rssLimit) {
        killedFor = 'overmem';
        child.kill('SIGKILL');
      } else if (Date.now() - started > timeLimitMs + 1000) {
        killedFor = 'hang';
        child.kill('SIGKILL');
      }
    }, 20);
    child.on('close', (code, signal) => {
      clearInterval(watch);
      rmSync(jobPath, { force: true });
      if (current >= 0) {
        const inp = job.inputs[current];
        const ms = Date.now() - started;
        const outcome = killedFor ?? 'crash';
        const detail = killedFor
          ? `killed by the watchdog (${killedFor}, rss ${(peak / 2 ** 20).toFixed(0)} MiB)`
          : `exit ${code ?? ''}${signal ?? ''}: ${tail(stderr)}`;
        results.push({ id: inp.id, outcome, ms, rss: peak, detail });
        resolve({ results, next: current + 1 });
      } else {
        const last = results[results.length - 1];
        if (results.length < job.inputs.length && !(last && last.rss > job.rssLimit)) {
          // It died between inputs (or before the first): blame the next one, so the campaign moves on.
          const inp = job.inputs[results.length];
          const detail = `exit ${code ?? ''}${signal ?? ''} between inputs: ${tail(stderr)}`;
          results.push({ id: inp.id, outcome: 'crash', ms: 0, rss: 0, detail });
        }
        resolve({ results, next: results.length });
      }
    });
  });
}

/** Runs every input, restarting after each child that stops early. */
type RunOptions = Required<Pick<CampaignOptions, 'seed' | 'batchSize' | 'jobs' | 'timeLimitMs' | 'rssLimit'>>;

async function runInputs(dir: string, inputs: Input[], opts: RunOptions): Promise<Map<number, Result>> {
  const out = new Map<number, Result>();
  const queue: Input[][] = [];
  for (let i = 0; i < inputs.length; i += opts.batchSize) queue.push(inputs.slice(i, i + opts.batchSize));
  const lane = async () => {
    for (let batch = queue.shift(); batch; batch = queue.shift()) {
      let rest = batch;
      while (rest.length) {
        const job = { inputs: rest, seed: opts.seed, rssLimit: opts.rssLimit };
        const { results, next } = await runChild(dir, job, opts.timeLimitMs);
        for (const r of results) out.set(r.id, r);
        rest = rest.slice(next);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.jobs }, lane));
  return out;
}

function classify(
  inp: Input,
  res: Result,
  seedDigest: string | undefined,
  timeLimitMs: number,
  rssLimit: number,
): Classified {
  let category: Category;
  let falseReject = false;
  if (res.outcome === 'crash') category = 'crash';
  else if (res.outcome === 'overmem') category = 'overmem';
  else if (res.outcome === 'hang' || res.ms > timeLimitMs) category = 'hang';
  else if (res.rss > rssLimit) category = 'overmem';
  else if (res.outcome === 'error') {
    // A clean error is an Error whose message names the file (for addon calls: any Error).
    const isError = res.errName !== undefined && !['string', 'object', 'undefined', 'number'].includes(res.errName);
    const clean = isError && (inp.loader === 'addon' || (res.errMsg ?? '').includes(inp.path));
    category = clean ? 'cleanError' : 'badError';
    falseReject = inp.expect === 'same';
  } else if (inp.loader === 'addon') category = res.detached ? 'acceptsInvalid' : 'loaded';
  else if (inp.expect === 'reject') category = 'acceptsInvalid';
  else if ((inp.expect === 'same' || inp.expect === 'sameOrReject') && res.digest !== seedDigest) {
    category = 'wrongData';
  } else category = 'loaded';
  return { input: inp, result: res, category, falseReject };
}

function makeFsSpecials(dir: string, bounded: boolean): Input[] {
  const out: Input[] = [];
  const add = (name: string, op: string, make: (p: string) => void) => {
    const path = join(dir, 'fs', name);
    make(path);
    out.push({ id: 0, format: 'fs', op, expect: 'reject', loader: 'fs', path, seed: '' });
  };
  mkdirSync(join(dir, 'fs'));
  const fifos = bounded ? ['npy', 'png'] : ['pth', 'npy', 'npz', 'safetensors', 'bin', 'png'];
  for (const f of fifos) add(`fifo.${f}`, 'fs:fifo', (p) => spawnSync('mkfifo', [p]));
  add('dir.pth', 'fs:directory', (p) => mkdirSync(p));
  add('missing.npy', 'fs:missing', () => undefined);
  for (const e of ['pth', 'npy', 'npz', 'safetensors', 'png']) {
    add(`empty.${e}`, 'fs:empty', (p) => writeFileSync(p, ''));
  }
  add('zero.npy', 'fs:dev-zero', (p) => symlinkSync('/dev/zero', p));
  add('loop.pth', 'fs:symlink-loop', (p) => symlinkSync(p, p));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exited(child: ReturnType<typeof spawn>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(false);
    }, ms);
    child.on('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/**
 * A save killed while it writes, then a save to the same path that completes: afterwards the
 * directory must hold the target alone (no temporary file of the killed save left behind).
 */
async function killedSave(dir: string, id: number, signal: NodeJS.Signals, ext: string): Promise<Classified> {
  const d = join(dir, `save-${signal}-${ext}`);
  mkdirSync(d);
  const target = join(d, `model.${ext}`);
  const input: Input = {
    id,
    format: 'save',
    op: `save:killed-${signal}`,
    expect: 'any',
    loader: 'fs',
    path: target,
    seed: '',
  };
  const t0 = Date.now();
  const run = (mode: string) => spawn(process.execPath, [WORKER, '--save', target, mode], { stdio: 'ignore' });
  const looping = run('loop');
  // Kill it once a temporary file exists, i.e. in the middle of a save.
  const midWrite = () =>
    readdirSync(d).some((n) => n !== `model.${ext}` && statSync(join(d, n), { throwIfNoEntry: false })?.size);
  while (Date.now() - t0 < 10_000 && !midWrite()) await sleep(2);
  looping.kill(signal);
  await exited(looping, 5000);
  const ok = await exited(run('once'), 20_000);
  const left = readdirSync(d).filter((n) => n !== `model.${ext}`);
  const detail = left.length ? `left ${left.join(', ')}` : undefined;
  const result: Result = { id, outcome: ok ? 'ok' : 'hang', ms: Date.now() - t0, rss: 0, detail };
  return { input, result, category: !ok ? 'hang' : left.length ? 'tempLeft' : 'loaded', falseReject: false };
}

/** Builds, runs and classifies a campaign. */
export async function runCampaign(o: CampaignOptions): Promise<CampaignReport> {
  const t0 = Date.now();
  const log = o.log ?? (() => undefined);
  const opts: RunOptions = {
    seed: o.seed,
    batchSize: o.batchSize ?? 60,
    jobs: o.jobs ?? 2,
    timeLimitMs: o.timeLimitMs ?? 5000,
    rssLimit: o.rssLimit ?? 2 ** 30,
  };
  const dir = o.dumpTo ?? mkdtempSync(join(tmpdir(), 'nabla-fuzz-'));
  if (o.dumpTo) mkdirSync(dir, { recursive: true });
  try {
    const inputs: Input[] = [],
      seedInputs: Input[] = [];
    const names = o.formats ?? [...Object.keys(FORMATS), 'fs', 'addon'];
    const nextId = () => seedInputs.length + inputs.length + 1;
    const write = (inp: Omit<Input, 'id' | 'path'>, bytes: Uint8Array, ext: string, list = inputs) => {
      const id = nextId();
      const path = join(dir, `${inp.format}-${id}.${ext}`);
      writeFileSync(path, bytes);
      list.push({ ...inp, id, path });
    };
    for (const [fi, name] of names.entries()) {
      if (name === 'fs') {
        if (o.specials === false) continue;
        for (const x of makeFsSpecials(dir, o.bounded ?? false)) inputs.push({ ...x, id: nextId() });
        continue;
      }
      if (name === 'addon') {
        for (let i = 0; i < o.addonCount; i++) {
          // NOTE: the case is built here only for its name; the worker builds it again and runs it.
          const c = addonCase(o.seed, i, nb, {});
          const op = `${c.kernel}/${c.variant}`;
          inputs.push({
            id: nextId(),
            format: 'addon',
            op,
            expect: 'any',
            loader: 'addon',
            path: '',
            seed: '',
            addonCase: i,
          });
        }
        continue;
      }
      const spec: FormatSpec = FORMATS[name]();
      const seeds: SeedFile[] = spec.seeds();
      for (const s of seeds) {
        for (const l of s.loaders) {
          const seed = `${s.key}|${l}`;
          write({ format: name, op: 'seed', expect: 'same', loader: l, seed }, s.bytes, spec.ext, seedInputs);
        }
      }
      for (const sp of spec.specials(seeds)) {
        if ((o.bounded && sp.longOnly) || o.specials === false) continue;
        const seed = `${sp.seed}|${sp.loader}`;
        write({ format: name, op: sp.op, expect: sp.expect, loader: sp.loader, seed }, sp.make(), spec.ext);
      }
      for (let i = 0; i < o.count; i++) {
        const r = new Rng(mix(o.seed, fi, i));
        const s = r.pick(seeds);
        const loader = r.pick(s.loaders);
        const m = spec.mutate(r, s);
        write({ format: name, op: m.op, expect: m.expect, loader, seed: `${s.key}|${loader}` }, m.bytes, spec.ext);
      }
      log(`${name}: ${seeds.length} seeds, ${inputs.filter((x) => x.format === name).length} inputs written`);
    }
    if (o.dumpTo) {
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify([...seedInputs, ...inputs].filter((x) => x.path)));
      return { rows: new Map(), failures: [], all: [], seconds: (Date.now() - t0) / 1000 };
    }
    const seedRes = await runInputs(dir, seedInputs, { ...opts, batchSize: seedInputs.length || 1, jobs: 1 });
    const digests = new Map<string, string>();
    const all: Classified[] = [];
    for (const inp of seedInputs) {
      const r = seedRes.get(inp.id)!;
      if (r?.outcome === 'ok' && r.digest) digests.set(inp.seed, r.digest);
      all.push(classify(inp, r, r?.digest, opts.timeLimitMs, opts.rssLimit));
    }
    log(`running ${inputs.length} inputs in batches of ${opts.batchSize}, ${opts.jobs} at a time`);
    const res = await runInputs(dir, inputs, opts);
    for (const inp of inputs) {
      all.push(classify(inp, res.get(inp.id)!, digests.get(inp.seed), opts.timeLimitMs, opts.rssLimit));
    }
    if (names.includes('fs') && o.specials !== false) {
      const kills: [NodeJS.Signals, string][] = o.bounded
        ? [
            ['SIGKILL', 'safetensors'],
            ['SIGTERM', 'pth'],
          ]
        : [
            ['SIGKILL', 'safetensors'],
            ['SIGTERM', 'pth'],
            ['SIGINT', 'npy'],
            ['SIGKILL', 'npz'],
          ];
      for (const [sig, ext] of kills) all.push(await killedSave(dir, all.length + 1, sig, ext));
    }
    const rows = new Map<string, Record<Column, number>>();
    for (const c of all) {
      const row = rows.get(c.input.format) ?? emptyRow();
      row.inputs++;
      row[c.category]++;
      if (c.falseReject) row.falseReject++;
      rows.set(c.input.format, row);
    }
    const failures = all.filter((c) => FAILING.includes(c.category));
    if (o.saveFailures) {
      mkdirSync(o.saveFailures, { recursive: true });
      for (const f of failures) {
        if (f.input.path && f.input.format !== 'fs' && f.input.format !== 'save') {
          copyFileSync(f.input.path, join(o.saveFailures, f.input.path.split('/').pop()!));
        }
      }
    }
    return { rows, failures, all, seconds: (Date.now() - t0) / 1000 };
  } finally {
    if (!o.dumpTo) rmSync(dir, { recursive: true, force: true });
  }
}

/** The per-format table, as text. */
export function formatTable(rep: CampaignReport): string {
  const cols: [string, Column][] = [
    ['inputs', 'inputs'],
    ['loaded', 'loaded'],
    ['clean err', 'cleanError'],
    ['bad err', 'badError'],
    ['crash', 'crash'],
    ['hang', 'hang'],
    ['over-mem', 'overmem'],
    ['wrong data', 'wrongData'],
    ['accepts invalid', 'acceptsInvalid'],
    ['temp left', 'tempLeft'],
    ['(false reject)', 'falseReject'],
  ];
  const lines = [['format', ...cols.map((c) => c[0])]];
  const total: Record<string, number> = {};
  for (const [fmt, row] of rep.rows) {
    lines.push([fmt, ...cols.map(([, k]) => String(row[k]))]);
    for (const [, k] of cols) total[k] = (total[k] ?? 0) + row[k];
  }
  lines.push(['total', ...cols.map(([, k]) => String(total[k] ?? 0))]);
  const w = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) => l.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ')).join('\n');
}

/** Failures grouped by format, category and mutation, with one example each. */
export function formatFailures(rep: CampaignReport, max = 60): string {
  const groups = new Map<string, Classified[]>();
  for (const f of rep.failures) {
    const k = `${f.input.format} ${f.category} ${f.input.op} (expect ${f.input.expect})`;
    groups.set(k, [...(groups.get(k) ?? []), f]);
  }
  const lines = [...groups]
    .sort((a, b) => b[1].length - a[1].length)
    .slice(0, max)
    .map(([k, fs]) => {
      const e = fs[0].result;
      const why = e.detail ?? e.errMsg ?? (e.digest ? `loaded (digest ${e.digest})` : '');
      const cost = `${(e.ms / 1000).toFixed(1)} s, ${(e.rss / 2 ** 20).toFixed(0)} MiB`;
      return `${String(fs.length).padStart(4)} x ${k}: ${why.slice(0, 200)} [${cost}]`;
    });
  if (groups.size > max) lines.push(`... and ${groups.size - max} more groups`);
  return lines.join('\n');
}
