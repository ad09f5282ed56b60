// The peers, each optional: onnxruntime-node, @tensorflow/tfjs (cpu) and @tensorflow/tfjs-backend-wasm
// from bench/node_modules (see bench/package.json), and PyTorch through Debian's /usr/bin/python3.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { onnxModel, type OnnxNode, type OnnxValue } from './onnx.js';
import { randomArray, type Row } from './rows.js';

type Any = any;

export interface Peer {
  name: string;
  /** A closure timing one call of the row, or null when this peer has no such kernel. */
  prepare(row: Row): Promise<(() => unknown) | null>;
  version: string;
}

export async function loadPeers(benchDir: string, threads: number): Promise<{ peers: Peer[]; missing: string[] }> {
  const req = createRequire(join(benchDir, 'package.json'));
  const peers: Peer[] = [],
    missing: string[] = [];
  try {
    peers.push(ortPeer(req(`onnxruntime-node`), threads));
  } catch (e) {
    missing.push(`onnxruntime-node (${short(e)})`);
  }
  let tf: Any = null;
  try {
    tf = req('@tensorflow/tfjs');
    peers.push(tfPeer(tf, 'tfjs-cpu', 'cpu'));
  } catch (e) {
    missing.push(`@tensorflow/tfjs (${short(e)})`);
  }
  try {
    if (!tf) throw new Error('needs @tensorflow/tfjs');
    const wasm = req('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(dirname(req.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
    peers.push(tfPeer(tf, 'tfjs-wasm', 'wasm'));
  } catch (e) {
    missing.push(`@tensorflow/tfjs-backend-wasm (${short(e)})`);
  }
  return { peers, missing };
}

function short(e: unknown): string {
  return String((e as Error).message ?? e)
    .split('\n')[0]
    .slice(0, 80);
}

// ---- onnxruntime-node: one session per row; weights are initializers (prepacked by ORT) ----
function ortPeer(ort: Any, threads: number): Peer {
  const opts = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };
  const T = (d: Float32Array, dims: number[]) => new ort.Tensor('float32', d, dims);
  const v = (name: string, dims: number[]): OnnxValue => ({ name, dims });
  return {
    name: 'onnxruntime',
    version: ort.env?.versions?.common ?? '',
    async prepare(row) {
      const a = row.args;
      let nodes: OnnxNode[],
        inputs: OnnxValue[],
        outputs: OnnxValue[],
        inits: { name: string; dims: number[]; data: Float32Array }[] = [];
      let feeds: Record<string, Any>;
      switch (row.kind) {
        case 'matmul':
          nodes = [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }];
          inputs = [v('x', [a.M, a.K])];
          outputs = [v('y', [a.M, a.N])];
          inits = [{ name: 'w', dims: [a.K, a.N], data: randomArray(a.K * a.N, 2) }];
          feeds = { x: T(randomArray(a.M * a.K, 1), [a.M, a.K]) };
          break;
        case 'conv':
          nodes = [
            { op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
          ];
          inputs = [v('x', [a.N, a.C, a.H, a.W])];
          outputs = [v('y', [a.N, a.OC, a.H, a.W])];
          inits = [{ name: 'w', dims: [a.OC, a.C, 3, 3], data: randomArray(a.OC * a.C * 9, 4) }];
          feeds = { x: T(randomArray(a.N * a.C * a.H * a.W, 3), [a.N, a.C, a.H, a.W]) };
          break;
        case 'softmax':
          nodes = [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: -1 } }];
          inputs = [v('x', [a.R, a.C])];
          outputs = [v('y', [a.R, a.C])];
          feeds = { x: T(randomArray(a.R * a.C, 6), [a.R, a.C]) };
          break;
        case 'layerNorm':
          nodes = [
            {
              op: 'LayerNormalization',
              inputs: ['x', 'g', 'b'],
              outputs: ['y'],
              attrs: { axis: -1, epsilon: 1e-5 + 1e-12 },
            },
          ];
          inputs = [v('x', [a.R, a.C])];
          outputs = [v('y', [a.R, a.C])];
          inits = [
            { name: 'g', dims: [a.C], data: randomArray(a.C, 8) },
            { name: 'b', dims: [a.C], data: randomArray(a.C, 9) },
          ];
          feeds = { x: T(randomArray(a.R * a.C, 7), [a.R, a.C]) };
          break;
        case 'add':
          nodes = [{ op: 'Add', inputs: ['x', 'z'], outputs: ['y'] }];
          inputs = [v('x', [a.n]), v('z', [a.n])];
          outputs = [v('y', [a.n])];
          feeds = { x: T(randomArray(a.n, 10), [a.n]), z: T(randomArray(a.n, 11), [a.n]) };
          break;
        default:
          return null; // inference runtime: no conv backward
      }
      const session = await ort.InferenceSession.create(onnxModel({ nodes, inputs, outputs, inits }), opts);
      return () => session.run(feeds);
    },
  };
}

// ---- tfjs: NHWC conv (its native layout), composite layer norm; dataSync forces completion ----
function tfPeer(tf: Any, name: string, backend: string): Peer {
  let ready: Promise<boolean> | null = null;
  const use = async () => {
    ready ??= tf.setBackend(backend);
    if (!(await ready)) throw new Error(`tfjs backend ${backend} did not initialise`);
    await tf.setBackend(backend);
  };
  return {
    name,
    version: tf.version?.tfjs ?? '',
    async prepare(row) {
      await use();
      const a = row.args;
      const t = (n: number, shape: number[], seed: number) => tf.tensor(randomArray(n, seed), shape);
      const run = (f: () => Any) => async () => {
        await use();
        const y = tf.tidy(f);
        y.dataSync();
        y.dispose();
      };
      switch (row.kind) {
        case 'matmul': {
          const x = t(a.M * a.K, [a.M, a.K], 1),
            w = t(a.K * a.N, [a.K, a.N], 2);
          return run(() => tf.matMul(x, w));
        }
        case 'conv': {
          const x = t(a.N * a.H * a.W * a.C, [a.N, a.H, a.W, a.C], 3),
            w = t(9 * a.C * a.OC, [3, 3, a.C, a.OC], 4);
          return run(() => tf.conv2d(x, w, 1, 'same'));
        }
        case 'softmax': {
          const x = t(a.R * a.C, [a.R, a.C], 6);
          return run(() => tf.softmax(x));
        }
        case 'layerNorm': {
          const x = t(a.R * a.C, [a.R, a.C], 7),
            g = t(a.C, [a.C], 8),
            b = t(a.C, [a.C], 9);
          return run(() => {
            const m = tf.moments(x, -1, true);
            return x
              .sub(m.mean)
              .mul(tf.rsqrt(m.variance.add(1e-5)))
              .mul(g)
              .add(b);
          });
        }
        case 'add': {
          const x = t(a.n, [a.n], 10),
            y = t(a.n, [a.n], 11);
          return run(() => tf.add(x, y));
        }
        default:
          return null; // no public conv weight-gradient kernel to time in isolation
      }
    },
  };
}

// ---- PyTorch: one python3 process times every row (bench/torch_bench.py) ----
export function runTorch(
  benchDir: string,
  rows: Row[],
  threads: number,
  seconds: number,
): { ms: Record<string, number>; version: string } | { error: string } {
  const py = '/usr/bin/python3';
  if (!existsSync(py)) return { error: `${py} not found` };
  const spec = JSON.stringify({ rows: rows.map((r) => ({ id: r.id, kind: r.kind, args: r.args })), threads, seconds });
  const env: Record<string, string | undefined> = {
    ...process.env,
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
    GOMP_SPINCOUNT: '0',
  };
  // NOTE: where the workplace sets these for old OpenBLAS builds, they slow a current one down
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(py, [join(benchDir, 'torch_bench.py'), spec], { env, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0)
    return { error: (r.stderr || r.error?.message || 'failed').trim().split('\n').pop()!.slice(0, 120) };
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  } catch {
    return { error: 'unreadable output' };
  }
}
