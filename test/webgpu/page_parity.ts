// Parity cases for the WebGPU op suite: each builds seeded inputs on the CPU, runs the same body on
// the CPU (the JS backend, the oracle) and on copies moved to the GPU, and compares every output
// (forward values and gradients). Bodies are strings run in the page with `nb` and the inputs `xs`.

export interface InputSpec {
  shape: number[];
  /** randn (default), pos (uniform in [0.5, 2)), int (0..9 int32), bool, idx:N (int32 in [0, N)) */
  kind?: string;
}

export interface ParityCase {
  name: string;
  inputs: InputSpec[];
  /** returns a Tensor or a list of Tensors (null entries skipped) */
  body: string;
  tol?: number;
  /** inputs (by position) that stay on the CPU (index tensors) */
  cpu?: number[];
}

export interface ParityResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** Runs in the page: every case, on the CPU and on the GPU, compared element by element. */
export async function runParity(cases: ParityCase[]): Promise<ParityResult[]> {
  const nb = (globalThis as any).nb;
  const out: ParityResult[] = [];
  for (const c of cases) {
    try {
      const g = new nb.Generator(7);
      const xs = c.inputs.map((s: InputSpec): any => {
        const k = s.kind ?? 'randn';
        if (k === 'randn') return nb.randn(s.shape, { generator: g });
        if (k === 'pos') return nb.rand(s.shape, { generator: g }).mul(1.5).add(0.5);
        if (k === 'int') return nb.randint(0, 10, s.shape, { generator: g });
        if (k === 'bool') return nb.rand(s.shape, { generator: g }).gt(0.5);
        if (k.startsWith('idx:')) return nb.randint(0, Number(k.slice(4)), s.shape, { generator: g });
        throw new Error(`unknown input kind ${k}`);
      });
      const f = new Function('nb', 'xs', c.body);
      const asList = (r: unknown) => (Array.isArray(r) ? r : [r]);
      const want = asList(f(nb, xs));
      const gx = xs.map((x: { to(d: string): unknown }, i: number) => (c.cpu?.includes(i) ? x : x.to('webgpu')));
      const got = asList(f(nb, gx));
      const tol = c.tol ?? 1e-4;
      let detail = '';
      for (let k = 0; k < want.length && !detail; k++) {
        if (want[k] === null || want[k] === undefined) continue;
        if (got[k]?.device !== 'webgpu') {
          detail = `output ${k} is on ${got[k]?.device}, not webgpu`;
          break;
        }
        if (want[k].shape.join() !== got[k].shape.join() || want[k].dtype !== got[k].dtype) {
          detail = `output ${k}: ${got[k].dtype} [${got[k].shape}] vs ${want[k].dtype} [${want[k].shape}]`;
          break;
        }
        const w = want[k].toTypedArray(),
          v = await got[k].dataAsync();
        for (let i = 0; i < w.length; i++) {
          const a = Number(v[i]),
            b = Number(w[i]);
          if (a === b || (a !== a && b !== b)) continue;
          if (!(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)))) {
            detail = `output ${k} differs at ${i}: gpu ${a} vs cpu ${b} (of ${w.length})`;
            break;
          }
        }
      }
      out.push({ name: c.name, ok: detail === '', detail });
    } catch (e) {
      out.push({ name: c.name, ok: false, detail: (e as Error).stack ?? String(e) });
    }
  }
  return out;
}
