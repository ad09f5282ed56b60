// ResNet-18 benchmark (issue 8): inference at batch 1 and 8 and one SGD-momentum training step at
// batch 8, 224x224 fp32, next to PyTorch (Debian, 2 threads) and onnxruntime-node in the same run; and
// (issue 18) the static int8 model (vision.models.quantizeResNet) in the same rounds, against both fp32s.
// Validates (nabla's logits equal PyTorch's exported model's, through onnxruntime) before reporting.
// nabla and onnxruntime alternate, in rounds, so that both meet the same load on a shared machine.
//
//   npm run build && node dist/bench/resnet18.js [--repeats R] [--rounds N]   (BENCH_TURNS=1 prints every turn's
// median)
//
// Peers are optional: onnxruntime-node from bench/node_modules (cd bench && ONNXRUNTIME_NODE_INSTALL=skip
// npm install) and torch from /usr/bin/python3; the ONNX file is exported by tools/bench/resnet18_torch.py.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as nb from '../src/index.js';

const { values } = parseArgs({ options: { repeats: { type: 'string' }, rounds: { type: 'string' } } });
const reps = Number(values.repeats ?? 5),
  rounds = Number(values.rounds ?? 5);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const benchDir = join(root, 'bench');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
// Three untimed runs first, for every library alike: the first runs after loading also pay for
// one-time work (nabla's transformed-weight cache, onnxruntime's arena) and the collector's catch-up.
async function timeMs(fn: () => unknown | Promise<unknown>): Promise<number> {
  return median(await samplesMs(fn));
}
async function samplesMs(fn: () => unknown | Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 3; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    ts.push(performance.now() - t);
  }
  return ts;
}
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

// PyTorch (and the ONNX export it writes)
const onnxPath = join(benchDir, 'models', 'resnet18.onnx');
mkdirSync(dirname(onnxPath), { recursive: true });
let torch: Record<string, number> | null = null,
  torchNote = '';
const torchEnv: Record<string, string | undefined> = {
  ...process.env,
  OMP_NUM_THREADS: '2',
  OPENBLAS_NUM_THREADS: '2',
  GOMP_SPINCOUNT: '0',
};
delete torchEnv.OPENBLAS_CORETYPE;
delete torchEnv.OPENBLAS_L2_SIZE; // they slow OpenBLAS where set
const py = spawnSync(
  '/usr/bin/python3',
  [
    join(root, 'tools', 'bench', 'resnet18_torch.py'),
    '--repeats',
    String(reps),
    ...(existsSync(onnxPath.replace('.onnx', '.safetensors')) ? [] : ['--export', onnxPath]),
  ],
  { env: torchEnv, encoding: 'utf8' },
);
if (py.status === 0) torch = JSON.parse(py.stdout.trim().split('\n').pop()!);
else torchNote = `PyTorch unavailable: ${(py.stderr || py.error?.message || '').trim().split('\n').pop()}`;

// nabla, with PyTorch's initial weights when the ONNX export wrote them (for the validation), else its own.
const weightsPath = onnxPath.replace('.onnx', '.safetensors');
const model = nb.vision.models.resnet18();
nb.nn.utils.fuse(model.eval()); // conv + BatchNorm (+ residual) (+ ReLU) as one pass
console.log(`nabla backend ${JSON.stringify(nb.backend())}`);
const x1 = nb.randn([1, 3, 224, 224]),
  x8 = nb.randn([8, 3, 224, 224]);
const validating = existsSync(onnxPath) && existsSync(weightsPath);
if (validating) model.loadStateDict(await nb.io.loadSafetensors(weightsPath), { strict: false });
const got = nb.noGrad(() => model.call(x1)).toTypedArray();

// nabla int8 (issue 18): static post-training quantization of the same (unfused) weights, calibrated on 4
// random inputs; every layer runs on uint8 NHWC codes in the native int8 kernels.
const unfused = nb.vision.models.resnet18().eval();
if (validating) unfused.loadStateDict(await nb.io.loadSafetensors(weightsPath), { strict: false });
const qmodel = nb.vision.models.quantizeResNet(unfused, [nb.randn([4, 3, 224, 224])]);
{
  const q = nb.noGrad(() => qmodel.call(x1)).toTypedArray();
  let err = 0,
    scale = 0;
  for (let i = 0; i < q.length; i++) {
    err = Math.max(err, Math.abs(q[i] - got[i]));
    scale = Math.max(scale, Math.abs(got[i]));
  }
  const top = (v: ArrayLike<number>) => Array.prototype.indexOf.call(v, Math.max(...Array.from(v)));
  console.log(
    `int8 vs fp32 (batch 1): max |error| / max |logit| ${(err / scale).toExponential(2)}, ` +
      `top-1 ${top(q) === top(got) ? 'agrees' : 'differs'}`,
  );
}

// onnxruntime-node: validates nabla's logits (same weights, same input)
let ort: any = null,
  ortNote = '';
try {
  ort = createRequire(join(benchDir, 'package.json'))('onnxruntime-node');
} catch (e) {
  ortNote = `onnxruntime-node unavailable: ${(e as Error).message.split('\n')[0]}`;
}
const session =
  ort && validating
    ? await ort.InferenceSession.create(onnxPath, {
        intraOpNumThreads: 2,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      })
    : null;
if (session) {
  const want = (await session.run({ x: new ort.Tensor('float32', x1.toTypedArray(), [1, 3, 224, 224]) })).y
    .data as Float32Array;
  // normwise (near-zero logits make a pointwise relative error meaningless): max |error| / max |logit|
  let maxErr = 0,
    scale = 0;
  for (let i = 0; i < want.length; i++) {
    maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  maxErr /= scale;
  console.log(`validation vs onnxruntime: max |error| / max |logit| ${maxErr.toExponential(2)}`);
  if (!(maxErr <= 1e-4)) throw new Error('nabla and onnxruntime disagree; not reporting');
}

// Inference: nabla and onnxruntime take turns, `rounds` times, and each reports the median of all its
// timings. The machine is shared and its load drifts over seconds; one library timed wholly before
// the other met different loads (nabla's batch-1 median moved 16-22 ms between runs), taking turns
// shares the drift out. NOTE: a pause after each turn lets the other library's threads go idle:
// onnxruntime's intra-op threads spin for a while after each run, and on two cores they slow
// whatever runs next (nabla's spin too, for a few ms).
const inference = [
  ['inference batch 1', x1],
  ['inference batch 8', x8],
] as const;
const feeds = session
  ? inference.map(([, x]) => ({ x: new ort.Tensor('float32', x.toTypedArray(), [...x.shape]) }))
  : [];
const ours: Record<string, number[]> = {},
  theirs: Record<string, number[]> = {};
const int8: Record<string, number[]> = {};
for (let r = 0; r < rounds; r++) {
  for (const [i, [name, x]] of inference.entries()) {
    const mine = await samplesMs(() => nb.noGrad(() => model.call(x)));
    if (process.env.BENCH_TURNS) console.log(`round ${r} ${name}: nabla ${median(mine).toFixed(1)}`);
    ours[name] ??= [];
    ours[name].push(...mine);
    await pause(300);
    const q = await samplesMs(() => nb.noGrad(() => qmodel.call(x)));
    if (process.env.BENCH_TURNS) console.log(`round ${r} ${name}: nabla int8 ${median(q).toFixed(1)}`);
    int8[name] ??= [];
    int8[name].push(...q);
    await pause(300);
    if (!session) continue;
    const peer = await samplesMs(() => session.run(feeds[i]));
    if (process.env.BENCH_TURNS) console.log(`round ${r} ${name}: onnxruntime ${median(peer).toFixed(1)}`);
    theirs[name] ??= [];
    theirs[name].push(...peer);
    await pause(300);
  }
}
model.train();
const opt = new nb.optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
const y8 = nb.randint(0, 1000, [8]);
const trainMs = await timeMs(() => {
  opt.zeroGrad();
  nb.nn.functional.crossEntropy(model.call(x8), y8).backward();
  opt.step();
});

const rows: [string, number, number | null, number | null][] = [];
for (const [name] of inference) {
  rows.push([
    name,
    median(ours[name]),
    torch ? torch[name === 'inference batch 1' ? 'infer_b1' : 'infer_b8'] : null,
    session ? median(theirs[name]) : null,
  ]);
}
rows.push(['train step batch 8 (SGD momentum)', trainMs, torch ? torch.train_b8 : null, null]);

const f = (v: number | null) => (v === null ? '-' : v.toFixed(1)).padStart(10);
console.log(
  `\nResNet-18 224x224, ms: inference the median of ${rounds} rounds x ${reps} (nabla and onnxruntime in turn), ` +
    `training of ${reps}`,
);
console.log(
  `${'row'.padEnd(36)}${'nabla'.padStart(10)}${'pytorch'.padStart(10)}${'ort-node'.padStart(10)}   best peer / nabla`,
);
for (const [name, ours, t, o] of rows) {
  const peers = [t, o].filter((v): v is number => v !== null);
  const ratio = peers.length ? (Math.min(...peers) / ours).toFixed(2) + 'x' : '-';
  console.log(`${name.padEnd(36)}${f(ours)}${f(t)}${f(o)}   ${ratio}`);
}
console.log(
  `\nint8 (static, per-channel weights, uint8 activations), ms, in the same rounds:\n` +
    `${'row'.padEnd(36)}${'int8'.padStart(10)}${'fp32'.padStart(10)}${'ort fp32'.padStart(10)}` +
    '   fp32 / int8, ort / int8',
);
for (const [name] of inference) {
  const q = median(int8[name]),
    fp = median(ours[name]),
    o = session ? median(theirs[name]) : null;
  const ratios = `${(fp / q).toFixed(2)}x, ${o === null ? '-' : (o / q).toFixed(2) + 'x'}`;
  console.log(`${(name + ' int8').padEnd(36)}${f(q)}${f(fp)}${f(o)}   ${ratios}`);
}
for (const note of [torchNote, ortNote]) if (note) console.log(note);
if (torch) console.log(`PyTorch ${torch.version}, 2 threads`);
