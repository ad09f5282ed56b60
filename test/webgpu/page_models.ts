// End-to-end runs in the page (with `globalThis.nb`): the same seeded models trained or run on the
// CPU (JS backend) and on the GPU. Plain data in, plain numbers out; the test file asserts.

export interface DigitsData {
  /** n*64 pixel values 0..16 and n labels, split into train and test */
  trainX: number[];
  trainY: number[];
  testX: number[];
  testY: number[];
}

export interface TrainResult {
  device: string;
  kind: string;
  firstLoss: number;
  lastLoss: number;
  accuracy: number;
  ms: number;
}

/** One epoch of a digits MLP and of a digits CNN (batch 100, Adam), on each device from one init. */
export async function trainDigits(d: DigitsData): Promise<TrainResult[]> {
  const nb = (globalThis as any).nb;
  const nn = nb.nn;
  const BATCH = 100;
  const nTrain = d.trainY.length,
    nTest = d.testY.length;
  const X = nb.tensor(Float32Array.from(d.trainX), { shape: [nTrain, 1, 8, 8] }).div(16);
  const Y = nb.tensor(Int32Array.from(d.trainY), { dtype: 'int32' });
  const Xt = nb.tensor(Float32Array.from(d.testX), { shape: [nTest, 1, 8, 8] }).div(16);
  const make = (kind: string) => {
    nb.manualSeed(0);
    return kind === 'mlp'
      ? new nn.Sequential(new nn.Flatten(), new nn.Linear(64, 64), new nn.ReLU(), new nn.Linear(64, 10))
      : new nn.Sequential(
          new nn.Conv2d(1, 8, 3, { padding: 1 }),
          new nn.ReLU(),
          new nn.MaxPool2d(2),
          new nn.Flatten(),
          new nn.Linear(8 * 4 * 4, 10),
        );
  };
  const out: TrainResult[] = [];
  for (const kind of ['mlp', 'cnn']) {
    for (const device of ['cpu', 'webgpu']) {
      const t0 = performance.now();
      const model = make(kind);
      if (device === 'webgpu') model.to('webgpu');
      const opt = new nb.optim.Adam(model.parameters(), { lr: 1e-2 });
      const lossFn = new nn.CrossEntropyLoss();
      const put = (t: { to(d: string): unknown }) => (device === 'webgpu' ? t.to('webgpu') : t);
      let firstLoss = Number.NaN,
        lastLoss = Number.NaN;
      for (let s = 0; s + BATCH <= nTrain; s += BATCH) {
        const xb = put(X.narrow(0, s, BATCH).contiguous()),
          yb = Y.narrow(0, s, BATCH).contiguous();
        opt.zeroGrad();
        const loss = lossFn.forward(model.forward(xb), yb);
        loss.backward();
        opt.step();
        if (s === 0) firstLoss = (await loss.dataAsync())[0];
        if (s + 2 * BATCH > nTrain) lastLoss = (await loss.dataAsync())[0];
      }
      const pred = nb.noGrad(() => model.forward(put(Xt)).argmax(1));
      const p = await pred.dataAsync();
      let right = 0;
      for (let i = 0; i < nTest; i++) if (p[i] === d.testY[i]) right++;
      out.push({ device, kind, firstLoss, lastLoss, accuracy: right / nTest, ms: Math.round(performance.now() - t0) });
    }
  }
  return out;
}

export interface PlainTensor {
  shape: number[];
  data: number[];
}

/** GPT-2 logits of a prompt on each device from one state dict: the largest difference, and the CPU's scale. */
export async function gpt2Logits(a: {
  config: Record<string, unknown>;
  sd: Record<string, PlainTensor>;
  prompt: number[];
}): Promise<{ maxDiff: number; maxAbs: number; device: string }> {
  const nb = (globalThis as any).nb;
  const model = new nb.models.GPT2LMHeadModel(new nb.models.GPT2Config(a.config), { seed: 1 });
  const sd: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a.sd)) sd[k] = nb.tensor(Float32Array.from(v.data), { shape: v.shape });
  model.loadStateDict(sd);
  model.eval();
  const cpu = nb.noGrad(() => model.forward([a.prompt])).toTypedArray();
  model.to('webgpu');
  const g = nb.noGrad(() => model.forward([a.prompt]));
  const gpu = await g.dataAsync();
  let maxDiff = 0,
    maxAbs = 0;
  for (let i = 0; i < cpu.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(cpu[i] - gpu[i]));
    maxAbs = Math.max(maxAbs, Math.abs(cpu[i]));
  }
  return { maxDiff, maxAbs, device: g.device };
}

/** Greedy tokens of a Llama from a state dict, on each device (the full sequence each step, no cache). */
export async function llamaGreedy(a: {
  config: Record<string, unknown>;
  sd: Record<string, PlainTensor>;
  prompt: number[];
  steps: number;
}): Promise<{ cpu: number[]; gpu: number[]; ms: number[] }> {
  const nb = (globalThis as any).nb;
  const model = new nb.models.LlamaForCausalLM(new nb.models.LlamaConfig(a.config));
  const sd: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a.sd)) sd[k] = nb.tensor(Float32Array.from(v.data), { shape: v.shape });
  model.loadStateDict(sd, { strict: false });
  model.tieWeights();
  model.eval();
  const times: number[] = [];
  const run = async (): Promise<number[]> => {
    const t0 = performance.now();
    const ids = [...a.prompt];
    for (let s = 0; s < a.steps; s++) {
      const logits = nb.noGrad(() => model.forward(nb.tensor([ids], { dtype: 'int32' })));
      const last = logits.select(1, ids.length - 1).argmax(-1);
      ids.push((await last.dataAsync())[0]);
    }
    times.push(performance.now() - t0);
    return ids;
  };
  const cpu = await run();
  model.to('webgpu');
  const gpu = await run();
  return { cpu, gpu, ms: times };
}

export interface StepSpec {
  /** resnet18 | cifar-resnet20 | gpt2 | llama */
  kind: string;
  /** the model's config (gpt2, llama) */
  config?: Record<string, unknown>;
  /** weights to load (else the seeded init) */
  sd?: Record<string, PlainTensor>;
  /** float inputs: shape (images); or int32 token ids (B, T) */
  inputShape?: number[];
  ids?: number[][];
  /** class targets (B) or next tokens (B, T) */
  targets: number[] | number[][];
}

export interface StepResult {
  device: string;
  loss: [number, number];
  /** the second step's loss (after one SGD-with-momentum step), on each device */
  loss2: [number, number];
  /** the worst tensor: max |gpu - cpu| / max(max |cpu|, 1e-6), over every gradient, updated parameter and buffer */
  worst: { name: string; err: number };
  /** how many gradients were compared (every parameter must get one on both devices) */
  grads: number;
  missing: string[];
  ms: [number, number];
}

/**
 * One training step of a model on each device from the same seeded init (or weights): forward in train
 * mode (dropout masks drawn from the same seed; batch norm on batch statistics), cross entropy,
 * backward, one SGD step with momentum, and a second forward. Compares the losses, every gradient,
 * every updated parameter and buffer (batch norm running statistics).
 */
export async function trainStepParity(a: StepSpec): Promise<StepResult> {
  const nb = (globalThis as any).nb;
  const make = () => {
    nb.manualSeed(0);
    let m: any;
    if (a.kind === 'resnet18') m = nb.vision.models.resnet18({ numClasses: 10 });
    else if (a.kind === 'cifar-resnet20') m = nb.vision.models.cifarResnet20();
    else if (a.kind === 'gpt2') m = new nb.models.GPT2LMHeadModel(new nb.models.GPT2Config(a.config));
    else if (a.kind === 'llama') m = new nb.models.LlamaForCausalLM(new nb.models.LlamaConfig(a.config));
    else throw new Error(`unknown model ${a.kind}`);
    if (a.sd) {
      const sd: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(a.sd)) sd[k] = nb.tensor(Float32Array.from(v.data), { shape: v.shape });
      m.loadStateDict(sd, { strict: false });
      if (a.kind === 'llama' && m.config.tieWordEmbeddings) m.tieWeights();
    }
    m.train();
    return m;
  };
  const lm = !!a.ids;
  nb.manualSeed(5);
  // token ids and targets stay on the CPU (the models check ids on the host); images go to the device
  const x = lm ? nb.tensor(a.ids, { dtype: 'int32' }) : nb.randn(a.inputShape);
  const y = nb.tensor(a.targets, { dtype: 'int32' }).reshape([-1]);
  const step = async (device: string) => {
    const t0 = performance.now();
    const m = make();
    if (device === 'webgpu') m.to('webgpu');
    const input = lm || device === 'cpu' ? x : x.to('webgpu');
    const opt = new nb.optim.SGD(m.parameters(), { lr: 0.05, momentum: 0.9 });
    const lossOf = () => {
      nb.manualSeed(9); // the dropout masks
      const out = m.forward(input);
      return nb.nn.functional.crossEntropy(out.reshape([-1, out.shape[out.ndim - 1]]), y);
    };
    const loss = lossOf();
    loss.backward();
    const grads = new Map<string, Float32Array>();
    for (const [k, p] of m.namedParameters()) if (p.grad) grads.set(k, Float32Array.from(await p.grad.dataAsync()));
    opt.step();
    const after = new Map<string, Float32Array>();
    for (const [k, t] of [...m.namedParameters(), ...m.namedBuffers()])
      if (t.dtype === 'float32') after.set(k, Float32Array.from(await t.dataAsync()));
    const loss2 = nb.noGrad(lossOf);
    const l = [(await loss.dataAsync())[0], (await loss2.dataAsync())[0]];
    return { l, grads, after, names: [...m.namedParameters()].map(([k]: [string]) => k), ms: performance.now() - t0 };
  };
  const cpu = await step('cpu');
  const gpu = await step('webgpu');
  let worst = { name: '', err: 0 };
  const missing: string[] = [];
  const compare = (what: string, c: Map<string, Float32Array>, g: Map<string, Float32Array>) => {
    for (const [k, cv] of c) {
      const gv = g.get(k);
      if (!gv || gv.length !== cv.length) {
        missing.push(`${what} ${k}`);
        continue;
      }
      let scale = 1e-6,
        diff = 0;
      for (let i = 0; i < cv.length; i++) {
        scale = Math.max(scale, Math.abs(cv[i]));
        const d = Math.abs(cv[i] - gv[i]);
        diff = d === d ? Math.max(diff, d) : Number.POSITIVE_INFINITY;
      }
      if (diff / scale > worst.err || !worst.name) worst = { name: `${what} ${k}`, err: diff / scale };
    }
  };
  compare('grad', cpu.grads, gpu.grads);
  compare('after step', cpu.after, gpu.after);
  for (const k of cpu.names) if (!cpu.grads.has(k)) missing.push(`no cpu grad ${k}`);
  return {
    device: 'webgpu',
    loss: [cpu.l[0], gpu.l[0]],
    loss2: [cpu.l[1], gpu.l[1]],
    worst,
    grads: gpu.grads.size,
    missing,
    ms: [Math.round(cpu.ms), Math.round(gpu.ms)],
  };
}
