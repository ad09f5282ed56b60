// The benchmark rows (issue 3) and the timing loop shared by every library.
// Glossary: M,K,N gemm dims (A (M,K) @ B (K,N)); N,C,H,W,OC conv dims; R,C softmax/layernorm rows.

export type Kind = 'matmul' | 'conv' | 'convBackward' | 'softmax' | 'layerNorm' | 'add';

export interface Row {
  id: string;
  title: string;
  kind: Kind;
  args: Record<string, number>;
  /** Work per call: flops (for GFLOP/s) or bytes moved (for GB/s). */
  work: number;
  unit: 'GFLOP/s' | 'GB/s';
  /** The machine limit the row is held against. */
  limit: 'fma' | 'bw' | 'read';
  /** Native only (e.g. a thread-scaling row). */
  nativeOnly?: boolean;
  threads?: number;
}

const mm = (M: number, K: number, N: number, title: string, id = `mm${M}x${K}x${N}`): Row => ({
  id,
  title,
  kind: 'matmul',
  args: { M, K, N },
  work: 2 * M * K * N,
  unit: 'GFLOP/s',
  limit: 'fma',
});
const conv = { N: 8, C: 64, H: 56, W: 56, OC: 64 };
const convFlops = 2 * conv.N * conv.OC * conv.C * 9 * conv.H * conv.W;

export const ROWS: Row[] = [
  mm(1024, 1024, 1024, 'sgemm 1024³'),
  { ...mm(1024, 1024, 1024, 'sgemm 1024³, 1 thread', 'mm1024x1t'), nativeOnly: true, threads: 1 },
  mm(128, 768, 2304, 'gemm 128×768×2304'),
  mm(128, 768, 3072, 'gemm 128×768×3072'),
  { ...mm(1, 768, 50257, 'gemv 1×768×50257'), work: 4 * (768 * 50257 + 768 + 50257), unit: 'GB/s', limit: 'read' },
  {
    id: 'conv',
    title: 'conv3×3 64→64 56² b8 fwd',
    kind: 'conv',
    args: conv,
    work: convFlops,
    unit: 'GFLOP/s',
    limit: 'fma',
  },
  {
    id: 'convBwd',
    title: 'conv3×3 64→64 56² b8 bwd',
    kind: 'convBackward',
    args: conv,
    work: 2 * convFlops,
    unit: 'GFLOP/s',
    limit: 'fma',
  },
  {
    id: 'softmax',
    title: 'softmax 128×768',
    kind: 'softmax',
    args: { R: 128, C: 768 },
    work: 2 * 4 * 128 * 768,
    unit: 'GB/s',
    limit: 'bw',
  },
  {
    id: 'layerNorm',
    title: 'layernorm 128×768',
    kind: 'layerNorm',
    args: { R: 128, C: 768 },
    work: 2 * 4 * 128 * 768,
    unit: 'GB/s',
    limit: 'bw',
  },
  {
    id: 'add',
    title: 'add 16M floats',
    kind: 'add',
    args: { n: 16 << 20 },
    work: 3 * 4 * (16 << 20),
    unit: 'GB/s',
    limit: 'bw',
  },
  // the same kernel writing into an existing buffer: what is left once fresh pages are not faulted in
  {
    id: 'addInto',
    title: 'add 16M floats, into a buffer',
    kind: 'add',
    args: { n: 16 << 20, into: 1 },
    work: 3 * 4 * (16 << 20),
    unit: 'GB/s',
    limit: 'bw',
    nativeOnly: true,
  },
];

/** Best wall time in ms of fn over a time budget (fewer reps when one call is slow). */
export async function bestMs(fn: () => unknown, budgetS = 0.5): Promise<number> {
  let t = performance.now();
  await fn();
  const first = performance.now() - t;
  if (first > 2000) return first;
  let best = first,
    reps = 0;
  const t0 = performance.now();
  while (reps < 3 || performance.now() - t0 < budgetS * 1000) {
    t = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t);
    reps++;
    if (reps > 2000) break;
  }
  return best;
}

/** Seeded uniform values in [-1, 1). */
export function randomArray(n: number, seed = 1): Float32Array {
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2147483648 - 1;
  }
  return x;
}
