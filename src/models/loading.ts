// Loading checkpoint folders into models one tensor at a time: each tensor is read, checked
// against the model's parameter of the same (mapped) name and adopted as that parameter (no copy;
// the model's own zero-filled buffers were never touched, so they never became resident). Memory
// thus holds one copy of the weights: safetensors are read tensor by tensor, and a
// pytorch_model.bin, unpickled whole, hands its tensors over one by one.

import { existsSync, mkdirSync, readFileSync, statSync, join } from '../platform/node.js';
import { writeTextAtomic } from '../io/atomic.js';
import { saveSafetensors } from '../io/tensors.js';
import { noGrad } from '../autograd/grad_mode.js';
import { Tensor } from '../tensor/tensor.js';
import { Parameter, type Module } from '../nn/module.js';
import { FileSource } from '../io/source.js';
import { parseSafetensorsHeader, readSafetensors } from '../io/safetensors.js';
import { loadTorch } from '../io/tensors.js';
import type { RawRecord } from '../io/raw.js';
import { Storage } from '../tensor/tensor.js';
import { Layout } from '../tensor/layout.js';
import type { TypedArray } from '../tensor/dtype.js';

/** Names of a checkpoint's tensors and a way to read each one by itself. */
export interface WeightSource {
  readonly names: string[];
  /** The tensor's shape, known before reading it. */
  shape(name: string): readonly number[];
  read(name: string): Tensor;
  close(): void;
  readonly description: string;
}

/** Reads config.json of a Hugging Face folder; the error says which folder and what is missing. */
export function readConfigJson(dir: string, who: string): Record<string, unknown> {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new Error(`${who}.fromPretrained: ${dir} is not a folder`);
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new Error(`${who}.fromPretrained: ${dir} has no config.json`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${who}.fromPretrained: ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

function toTensor(r: RawRecord): Tensor {
  return new Tensor(new Storage(r.data as TypedArray), Layout.contiguous(r.shape), r.dtype as Tensor['dtype']);
}

/** One or more safetensors files (a sharded checkpoint lists them in model.safetensors.index.json). */
class SafetensorsSource implements WeightSource {
  readonly names: string[] = [];
  private readonly fileOf = new Map<string, FileSource>();
  private readonly shapes = new Map<string, number[]>();
  private readonly files: FileSource[] = [];

  constructor(
    paths: string[],
    readonly description: string,
  ) {
    for (const p of paths) {
      const src = new FileSource(p);
      this.files.push(src);
      for (const e of parseSafetensorsHeader(src).entries) {
        this.names.push(e.name);
        this.fileOf.set(e.name, src);
        this.shapes.set(e.name, e.shape);
      }
    }
  }
  shape(name: string): readonly number[] {
    return this.shapes.get(name)!;
  }
  read(name: string): Tensor {
    const r = readSafetensors(this.fileOf.get(name)!, { names: [name] }).tensors[name];
    return toTensor(r);
  }
  close(): void {
    for (const f of this.files) f.close();
  }
}

/** Tensors already in memory (an unpickled pytorch_model.bin, a llama2.c file): each handed over once. */
export class MemorySource implements WeightSource {
  readonly names: string[];
  constructor(
    private sd: Record<string, Tensor | undefined>,
    readonly description: string,
  ) {
    this.names = Object.keys(sd).filter((k) => sd[k] instanceof Tensor);
  }
  shape(name: string): readonly number[] {
    return this.sd[name]!.shape;
  }
  read(name: string): Tensor {
    const t = this.sd[name]!;
    this.sd[name] = undefined;
    return t;
  }
  close(): void {
    this.sd = {};
  }
}

/**
 * Opens the weights of a Hugging Face folder: model.safetensors, a sharded
 * model.safetensors.index.json, or pytorch_model.bin (in that order of preference).
 */
export async function openWeights(dir: string, who: string): Promise<WeightSource> {
  const st = join(dir, 'model.safetensors');
  if (existsSync(st)) return new SafetensorsSource([st], st);
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map;
    if (!map) throw new Error(`${who}.fromPretrained: ${index} has no weight_map`);
    const files = [...new Set(Object.values(map))].map((f) => join(dir, f));
    for (const f of files)
      if (!existsSync(f)) throw new Error(`${who}.fromPretrained: ${index} lists ${f}, which is missing`);
    return new SafetensorsSource(files, index);
  }
  const bin = join(dir, 'pytorch_model.bin');
  if (existsSync(bin)) {
    // NOTE: models compute in float32: half weights widen here, as the safetensors reader does
    const sd = await loadTorch(bin, { widen: true });
    const stateDict = (sd && typeof sd === 'object' && 'state_dict' in sd ? sd.state_dict : sd) as Record<
      string,
      Tensor
    >;
    return new MemorySource(stateDict, bin);
  }
  throw new Error(
    `${who}.fromPretrained: ${dir} has no weights; looked for model.safetensors, model.safetensors.index.json, ` +
      `pytorch_model.bin`,
  );
}

/** A tensor that can become the parameter itself: same dtype, dense, owning its whole storage. */
function adoptable(t: Tensor, p: Tensor): boolean {
  return (
    p instanceof Parameter &&
    t.dtype === p.dtype &&
    t.isContiguous() &&
    t.layout.offset === 0 &&
    t.storage.data.length === t.numel()
  );
}

export interface LoadWeightsOptions {
  /** Checkpoint name -> model parameter name; null skips the tensor (buffers such as attn.bias). */
  rename: (name: string) => string | null;
  /** Model parameters that may stay unloaded (a tied lm_head). */
  optional?: (param: string) => boolean;
  who: string;
}

/**
 * Puts every tensor of `src` in place of the model's parameter of the mapped name, one at a time
 * (a copy only when the tensor is a view or of another dtype). Tied parameters must be re-tied after.
 * Throws on a shape disagreement (naming the tensor and both shapes), on a checkpoint tensor with
 * no parameter to go to, and on parameters the checkpoint does not provide.
 */
export function loadWeights(model: Module, src: WeightSource, opts: LoadWeightsOptions): void {
  const params = new Map<string, Tensor>(Object.entries(model.stateDict({ keepVars: true })));
  const loaded = new Set<string>();
  const unexpected: string[] = [];
  try {
    noGrad(() => {
      for (const name of src.names) {
        const target = opts.rename(name);
        if (target === null) continue;
        const p = params.get(target);
        if (!p) {
          unexpected.push(name);
          continue;
        }
        const shape = src.shape(name);
        if (shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])) {
          throw new Error(
            `${opts.who}: checkpoint tensor '${name}' has shape [${shape.join(', ')}] but the model (from its ` +
              `config) expects [${p.shape.join(', ')}] for '${target}'; config.json and the weights disagree ` +
              `(${src.description})`,
          );
        }
        const t = src.read(name);
        if (adoptable(t, p)) {
          const dot = target.lastIndexOf('.');
          const owner = model.getSubmodule(target.slice(0, dot)) as unknown as Record<string, unknown>;
          owner[target.slice(dot + 1)] = new Parameter(t, p.requiresGrad);
        } else {
          p.copy_(t);
        }
        loaded.add(target);
      }
    });
  } finally {
    src.close();
  }
  if (unexpected.length) {
    throw new Error(
      `${opts.who}: ${src.description} has tensors the model does not know: ` +
        `${unexpected.slice(0, 10).join(', ')}${unexpected.length > 10 ? ` and ${unexpected.length - 10} more` : ''}`,
    );
  }
  const missing = [...params.keys()].filter((k) => !loaded.has(k) && !(opts.optional?.(k) ?? false));
  if (missing.length) {
    throw new Error(
      `${opts.who}: ${src.description} lacks weights for ` +
        `${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`,
    );
  }
}

/** Writes `value` as indented JSON, atomically (the file is whole or untouched). */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeTextAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * A Hugging Face model folder: config.json, generation_config.json and model.safetensors (a tied
 * lm_head.weight left out, as transformers leaves it out; metadata format 'pt', which
 * transformers requires). Each file is written atomically.
 */
export async function saveModelFolder(
  dir: string,
  model: Module,
  config: Record<string, unknown>,
  tied: boolean,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const sd = model.stateDict();
  if (tied) delete sd['lm_head.weight'];
  await saveSafetensors(sd, join(dir, 'model.safetensors'), { format: 'pt' });
  writeJsonAtomic(join(dir, 'config.json'), config);
  const gen: Record<string, unknown> = { _from_model_config: true };
  for (const k of ['bos_token_id', 'eos_token_id', 'pad_token_id']) if (config[k] !== undefined) gen[k] = config[k];
  writeJsonAtomic(join(dir, 'generation_config.json'), gen);
}
