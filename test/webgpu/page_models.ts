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
