// SummaryWriter, as torch.utils.tensorboard: TensorBoard event files (one TFRecord per Event proto) in a
// log directory. Each add* call appends one record and flushes it, so a crash loses at most the current
// call and TensorBoard can read the file while training runs.
import { closeSync, fsyncSync, hostname, join, mkdirSync, openSync, process, writeSync } from '../platform/node.js';
import type { Tensor } from '../tensor/tensor.js';
import { Image, encodePng } from '../vision/image.js';
import { ProtoWriter, tfRecord } from './proto.js';

const DT_STRING = 7;

function checkTag(op: string, tag: string): void {
  if (typeof tag !== 'string' || tag.length === 0)
    throw new Error(`SummaryWriter.${op}: tag must be a non-empty string`);
}

function checkStep(op: string, step: number): void {
  if (!Number.isSafeInteger(step)) throw new Error(`SummaryWriter.${op}: step must be an integer, got ${step}`);
}

function pluginMeta(name: string, content: Uint8Array = new Uint8Array(0)): ProtoWriter {
  // SummaryMetadata { plugin_data = 1: PluginData { plugin_name = 1, content = 2 } }
  return new ProtoWriter().message(1, new ProtoWriter().string(1, name).bytes(2, content));
}

let counter = 0;

export class SummaryWriter {
  readonly logDir: string;
  readonly fileName: string;
  private fd: number | null;
  private children = new Map<string, SummaryWriter>();

  /** logDir defaults to runs/<date>_<host>, as torch. */
  constructor(logDir?: string, opts: { filenameSuffix?: string } = {}) {
    this.logDir = logDir ?? join('runs', `${new Date().toISOString().replace(/[:.]/g, '-')}_${hostname()}`);
    mkdirSync(this.logDir, { recursive: true });
    const t = Math.floor(Date.now() / 1000);
    this.fileName = join(
      this.logDir,
      `events.out.tfevents.${t}.${hostname()}.${process.pid}.${counter++}${opts.filenameSuffix ?? ''}`,
    );
    this.fd = openSync(this.fileName, 'a');
    this.writeEvent(new ProtoWriter().string(3, 'brain.Event:2'), 0);
  }

  private writeEvent(what: ProtoWriter, step: number, wallTime = Date.now() / 1000): void {
    if (this.fd === null) throw new Error(`SummaryWriter: ${this.fileName} is closed`);
    // Event { wall_time = 1 (double), step = 2 (int64), file_version = 3 | summary = 5 }
    const ev = new ProtoWriter().double(1, wallTime).varint(2, step).finish();
    const rec = tfRecord(concat(ev, what.finish()));
    writeSync(this.fd, rec);
  }

  private summary(value: ProtoWriter, step: number, wallTime?: number): void {
    // Event.summary = 5: Summary { value = 1 }
    const s = new ProtoWriter().message(1, value);
    this.writeEvent(new ProtoWriter().message(5, s), step, wallTime);
  }

  /** A scalar (Summary.Value.simple_value = 2), shown in TensorBoard's Scalars tab. */
  addScalar(tag: string, value: number | Tensor, step = 0, wallTime?: number): void {
    checkTag('addScalar', tag);
    checkStep('addScalar', step);
    const v = typeof value === 'number' ? value : (value.item() as number);
    if (typeof v !== 'number') throw new Error(`SummaryWriter.addScalar('${tag}'): value must be a number`);
    this.summary(new ProtoWriter().string(1, tag).float(2, v), step, wallTime);
  }

  /**
   * Several scalars on one chart: as torch, each key goes to its own run, logDir/<mainTag>_<key>, under
   * the tag mainTag.
   */
  addScalars(mainTag: string, values: Record<string, number>, step = 0, wallTime?: number): void {
    checkTag('addScalars', mainTag);
    for (const [k, v] of Object.entries(values)) {
      const dir = join(this.logDir, `${mainTag.replace(/\//g, '_')}_${k}`);
      let w = this.children.get(dir);
      if (!w) {
        w = new SummaryWriter(dir);
        this.children.set(dir, w);
      }
      w.addScalar(mainTag, v, step, wallTime);
    }
  }

  /** Text (markdown), as the text plugin reads it: a DT_STRING TensorProto of shape [1]. */
  addText(tag: string, text: string, step = 0, wallTime?: number): void {
    checkTag('addText', tag);
    checkStep('addText', step);
    // TensorProto { dtype = 1, tensor_shape = 2 { dim = 2 { size = 1 } }, string_val = 8 }
    const shape = new ProtoWriter().message(2, new ProtoWriter().varint(1, 1));
    const tensor = new ProtoWriter().varint(1, DT_STRING).message(2, shape).string(8, text);
    const value = new ProtoWriter().string(1, `${tag}/text_summary`).message(8, tensor).message(9, pluginMeta('text'));
    this.summary(value, step, wallTime);
  }

  /**
   * A histogram of a tensor's values in `bins` equal-width buckets (HistogramProto: min, max, num, sum,
   * sum_squares, bucket_limit = right edges, bucket = counts).
   */
  addHistogram(tag: string, values: Tensor | ArrayLike<number>, step = 0, opts: { bins?: number } = {}): void {
    checkTag('addHistogram', tag);
    checkStep('addHistogram', step);
    const v = 'toTypedArray' in values ? (values as Tensor).toTypedArray() : values;
    const bins = opts.bins ?? 30;
    if (!(Number.isInteger(bins) && bins >= 1))
      throw new Error(`SummaryWriter.addHistogram: bins must be >= 1, got ${bins}`);
    let lo = Infinity,
      hi = -Infinity,
      sum = 0,
      sq = 0;
    for (let i = 0; i < v.length; i++) {
      const x = Number(v[i]);
      if (!Number.isFinite(x)) {
        throw new Error(`SummaryWriter.addHistogram('${tag}'): value ${i} is ${x}; histograms need finite values`);
      }
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
      sum += x;
      sq += x * x;
    }
    if (v.length === 0) throw new Error(`SummaryWriter.addHistogram('${tag}'): no values`);
    const width = hi > lo ? (hi - lo) / bins : 1;
    const counts = new Float64Array(bins);
    for (let i = 0; i < v.length; i++) counts[Math.min(bins - 1, Math.floor((Number(v[i]) - lo) / width))]++;
    const limits = Array.from({ length: bins }, (_, k) =>
      k === bins - 1 ? Math.max(hi, lo + width * bins) : lo + width * (k + 1),
    );
    const h = new ProtoWriter()
      .double(1, lo)
      .double(2, hi)
      .double(3, v.length)
      .double(4, sum)
      .double(5, sq)
      .packedDoubles(6, limits)
      .packedDoubles(7, counts);
    this.summary(new ProtoWriter().string(1, tag).message(5, h), step);
  }

  /** An image: a (C, H, W) tensor in [0, 1] (C = 1, 3 or 4; torch's default dataformats 'CHW') or an Image. */
  addImage(tag: string, img: Tensor | Image, step = 0, wallTime?: number): void {
    checkTag('addImage', tag);
    checkStep('addImage', step);
    const im = img instanceof Image ? img : Image.fromTensor(img);
    // Summary.Image { height = 1, width = 2, colorspace = 3, encoded_image_string = 4 }
    const png = encodePng(im);
    const m = new ProtoWriter().varint(1, im.height).varint(2, im.width).varint(3, im.channels).bytes(4, png);
    this.summary(new ProtoWriter().string(1, tag).message(4, m), step, wallTime);
  }

  /**
   * Hyperparameters and their final metrics for TensorBoard's HParams tab, as torch's add_hparams: the
   * experiment, session start and session end summaries in a sub-run, then one scalar per metric.
   */
  addHparams(
    hparams: Record<string, number | string | boolean>,
    metrics: Record<string, number>,
    runName?: string,
  ): void {
    const dir = join(this.logDir, runName ?? `${Date.now() / 1000}`);
    const w = new SummaryWriter(dir);
    try {
      // MetricInfo { name = 1: MetricName { group = 1, tag = 2 } }
      const metricInfo = (tag: string) => new ProtoWriter().message(1, new ProtoWriter().string(2, tag));
      // HParamsPluginData { version = 1, experiment = 2 | session_start_info = 3 | session_end_info = 4 }
      const exp = new ProtoWriter();
      for (const k of Object.keys(hparams)) exp.message(4, new ProtoWriter().string(1, k)); // HParamInfo { name = 1 }
      for (const k of Object.keys(metrics)) exp.message(5, metricInfo(k));
      const start = new ProtoWriter();
      for (const [k, v] of Object.entries(hparams)) {
        // map<string, google.protobuf.Value> hparams = 1: entries { key = 1, value = 2 }
        const val = new ProtoWriter();
        if (typeof v === 'number') val.double(2, v);
        else if (typeof v === 'string') val.string(3, v);
        else if (typeof v === 'boolean') val.varint(4, v);
        else throw new Error(`SummaryWriter.addHparams: hparam '${k}' must be a number, string or boolean`);
        start.message(1, new ProtoWriter().string(1, k).message(2, val));
      }
      const end = new ProtoWriter().varint(1, 1); // status = STATUS_SUCCESS
      const plugin = (field: number, m: ProtoWriter) => new ProtoWriter().varint(1, 0).message(field, m).finish();
      const tags: [string, number, ProtoWriter][] = [
        ['_hparams_/experiment', 2, exp],
        ['_hparams_/session_start_info', 3, start],
        ['_hparams_/session_end_info', 4, end],
      ];
      for (const [tag, field, m] of tags) {
        w.summary(new ProtoWriter().string(1, tag).message(9, pluginMeta('hparams', plugin(field, m))), 0);
      }
      for (const [k, v] of Object.entries(metrics)) w.addScalar(k, v);
    } finally {
      w.close();
    }
  }

  /** Forces written records to disk. */
  flush(): void {
    if (this.fd !== null) fsyncSync(this.fd);
    for (const c of this.children.values()) c.flush();
  }

  close(): void {
    if (this.fd === null) return;
    this.flush();
    closeSync(this.fd);
    this.fd = null;
    for (const c of this.children.values()) c.close();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
