// `npm run bench`: nabla-native and nabla-js against PyTorch, onnxruntime-node, tfjs (cpu) and
// tfjs-wasm in one invocation, plus the machine's own limits (fp32 FMA peak, triad bandwidth).
// Prints one table: throughput per library, native / best peer, and native as % of the limit.
// Options: --threads=N (default: all cores), --seconds=S timing budget per cell, --only=id,id.
// Peers are optional (bench/package.json; PyTorch via /usr/bin/python3): missing ones are listed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsBackend } from '../src/backend/js/index.js';
import { loadNativeBackend } from '../src/backend/native/index.js';
import { nablaRunner } from './nabla.js';
import { loadPeers, runTorch } from './peers.js';
import { ROWS, bestMs, type Row } from './rows.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist/bench/run.js -> repo root; also works from bench/ itself
const root =
  existsSync(join(here, '..', 'package.json')) && !here.includes(join('dist', 'bench'))
    ? join(here, '..')
    : join(here, '..', '..');
const benchDir = join(root, 'bench');

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const threads = Number(arg('threads') ?? availableParallelism());
const seconds = Number(arg('seconds') ?? 0.5);
const only = arg('only')?.split(',');
const rows = ROWS.filter((r) => !only || only.includes(r.id));

interface Limits {
  fmaGflops?: number;
  fmaGflops1?: number;
  triadGBs?: number;
  readGBs?: number;
  note?: string;
}

// Compiles native/bench/peak.c with the system C compiler and runs it.
function machineLimits(): Limits {
  const src = join(root, 'native', 'bench', 'peak.c');
  const exe = join(mkdtempSync(join(tmpdir(), 'nabla-peak-')), 'peak');
  const cc = spawnSync('cc', ['-O3', '-pthread', src, '-o', exe], { encoding: 'utf8' });
  if (cc.status !== 0)
    return { note: `peak.c did not build: ${(cc.stderr || cc.error?.message || '').split('\n')[0]}` };
  const r = spawnSync(exe, [String(threads)], { encoding: 'utf8' });
  try {
    return JSON.parse(r.stdout);
  } catch {
    return { note: 'peak did not run' };
  }
}

const COLS = ['nabla-native', 'nabla-js', 'pytorch', 'onnxruntime', 'tfjs-cpu', 'tfjs-wasm'] as const;
type Col = (typeof COLS)[number];

async function main(): Promise<void> {
  const nat = loadNativeBackend();
  if (nat.backend) nat.backend.setNumThreads(threads);
  console.log(
    `nabla bench: ${threads} thread(s); native ` +
      `${nat.backend ? JSON.stringify(nat.backend.info) : `unavailable: ${nat.reason}`}`,
  );
  const limits = machineLimits();
  console.log(
    `machine: fp32 FMA peak ${limits.fmaGflops ?? '?'} GFLOP/s (${limits.fmaGflops1 ?? '?'} on 1 thread), ` +
      `triad ${limits.triadGBs ?? '?'} GB/s, read ${limits.readGBs ?? '?'} ` +
      `GB/s${limits.note ? ` (${limits.note})` : ''}`,
  );

  const ms = new Map<string, Partial<Record<Col, number>>>();
  const cell = (r: Row, c: Col, v: number) => ms.set(r.id, { ...ms.get(r.id), [c]: v });

  for (const r of rows) {
    if (nat.backend) {
      nat.backend.setNumThreads(r.threads ?? threads);
      const f = nablaRunner(nat.backend as never, r, nat.backend);
      if (f) cell(r, 'nabla-native', await bestMs(f, seconds));
      nat.backend.setNumThreads(threads);
    }
    if (!r.nativeOnly) {
      const f = nablaRunner(jsBackend, r);
      if (f) cell(r, 'nabla-js', await bestMs(f, seconds));
    }
    process.stdout.write('.');
  }

  const peerRows = rows.filter((r) => !r.nativeOnly);
  const torch = runTorch(benchDir, peerRows, threads, seconds);
  const versions: string[] = [];
  if ('ms' in torch) {
    for (const r of peerRows) if (torch.ms[r.id] !== undefined) cell(r, 'pytorch', torch.ms[r.id]);
    versions.push(`torch ${torch.version}`);
  }
  const { peers, missing } = await loadPeers(benchDir, threads);
  if ('error' in torch) missing.push(`pytorch (${torch.error})`);
  for (const p of peers) {
    versions.push(`${p.name} ${p.version}`);
    for (const r of peerRows) {
      try {
        const f = await p.prepare(r);
        if (f) cell(r, p.name as Col, await bestMs(f, seconds));
      } catch (e) {
        missing.push(
          `${p.name} ${r.id}: ${String((e as Error).message)
            .split('\n')[0]
            .slice(0, 80)}`,
        );
      }
      process.stdout.write('.');
    }
  }
  console.log('\n' + (versions.length ? `peers: ${versions.join(', ')}` : 'peers: none'));
  if (missing.length) console.log(`missing or failed: ${missing.join('; ')}`);
  printTable(limits, ms);
}

function printTable(limits: Limits, ms: Map<string, Partial<Record<Col, number>>>): void {
  const head = ['row', 'unit', ...COLS, 'native/best peer', '% of limit', 'native ms'];
  const out: string[][] = [head];
  for (const r of rows) {
    const m = ms.get(r.id) ?? {};
    const thr = (c: Col) => (m[c] === undefined ? undefined : r.work / (m[c]! * 1e-3) / 1e9);
    const peerBest = Math.max(
      ...(['pytorch', 'onnxruntime', 'tfjs-cpu', 'tfjs-wasm'] as Col[]).map((c) => thr(c) ?? 0),
    );
    const nat = thr('nabla-native');
    const lim =
      r.limit === 'fma'
        ? r.threads === 1
          ? limits.fmaGflops1
          : limits.fmaGflops
        : r.limit === 'read'
          ? limits.readGBs
          : limits.triadGBs;
    out.push([
      r.title,
      r.unit,
      ...COLS.map((c) => fmt(thr(c))),
      nat !== undefined && peerBest > 0 ? `${(nat / peerBest).toFixed(2)}x` : '-',
      nat !== undefined && lim ? `${((100 * nat) / lim).toFixed(0)}%` : '-',
      m['nabla-native'] !== undefined ? m['nabla-native']!.toFixed(3) : '-',
    ]);
  }
  const w = head.map((_, i) => Math.max(...out.map((row) => row[i].length)));
  const line = (row: string[]) => `| ${row.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ')} |`;
  console.log(line(out[0]));
  console.log(`|${w.map((x, i) => (i < 2 ? ':' : '-') + '-'.repeat(x) + (i < 2 ? '-' : ':')).join('|')}|`);
  for (const row of out.slice(1)) console.log(line(row));
  console.log(
    'limits: GFLOP/s rows vs the FMA peak; gemv vs read bandwidth; other GB/s rows vs triad bandwidth ' +
      "(softmax/layernorm fit in cache, so >100% is possible). Conv rows count the direct convolution's FLOPs " +
      '(2·N·OC·C·9·H·W); nabla runs these by Winograd F(4x4,3x3), about 4x fewer multiplies, so it can pass 100%.',
  );
}

function fmt(v: number | undefined): string {
  return v === undefined ? '-' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
