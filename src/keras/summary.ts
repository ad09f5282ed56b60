// model.summary(): Keras's table. Sequential models get three columns (Layer (type), Output Shape,
// Param #) in 65 characters; functional models add "Connected to" in 98, as tf.keras prints them.
// Param # counts a layer's weights; moving statistics (batch norm) count as non-trainable, as in
// Keras. Trainable params equals model.numParameters(true) on the PyTorch side.

import type { Model } from './model.js';
import { fmtKerasShape, type Layer } from './layer.js';
import { InputLayer } from './layers/input.js';

export interface SummaryOptions {
  lineLength?: number;
  /** Column ends as fractions of lineLength. */
  positions?: number[];
  printFn?: (line: string) => void;
}

/** 12345 -> '12,345'. */
export function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function row(fields: string[], ends: number[]): string {
  let line = '';
  fields.forEach((f, i) => {
    const text = ' ' + f;
    line += text;
    line = line.length > ends[i] ? line.slice(0, ends[i] - 1) + ' ' : line.padEnd(ends[i]);
  });
  return line.trimEnd();
}

export function summaryText(model: Model, opts: SummaryOptions = {}): string {
  const sequential = model.className === 'Sequential';
  const lineLength = opts.lineLength ?? (sequential ? 65 : 98);
  const positions = opts.positions ?? (sequential ? [0.45, 0.85, 1] : [0.33, 0.55, 0.67, 1]);
  const ends = positions.map((p) => Math.floor(lineLength * p));
  const headers = ['Layer (type)', 'Output Shape', 'Param #', ...(sequential ? [] : ['Connected to'])];
  const lines: string[] = [
    `Model: "${model.name}"`,
    '_'.repeat(lineLength),
    row(headers, ends),
    '='.repeat(lineLength),
  ];
  if (!model.built || model.inputs.length === 0) {
    lines.push(' (not built yet: give the first layer an inputShape, or call fit/predict once)');
  }
  const layers: Layer[] = model.layers.filter((l) => !(sequential && l instanceof InputLayer));
  layers.forEach((l, i) => {
    const nodes = l.inboundNodes.filter((n) => n.outputs.length);
    const node = nodes.find((n) => n.inputs.every((t) => model.layers.includes(t.node.layer))) ?? nodes[0];
    const shape = node
      ? fmtKerasShape(node.outputs.length === 1 ? node.outputs[0].shape : node.outputs.map((t) => t.shape))
      : 'multiple';
    const c = l.countParams();
    const fields = [`${l.name} (${l.className})`, shape, thousands(c.trainable + c.nonTrainable)];
    if (!sequential) {
      const conn = node
        ? node.inputs.map(
            (t) =>
              `'${t.node.layer.name}[${Math.max(0, t.node.layer.inboundNodes.indexOf(t.node))}][${t.outputIndex}]'`,
          )
        : [];
      fields.push(conn.length ? `[${conn.join(', ')}]` : '[]');
    }
    lines.push(row(fields, ends));
    if (i < layers.length - 1) lines.push('');
  });
  const total = model.countParams();
  lines.push('='.repeat(lineLength));
  lines.push(`Total params: ${thousands(total.trainable + total.nonTrainable)}`);
  lines.push(`Trainable params: ${thousands(total.trainable)}`);
  lines.push(`Non-trainable params: ${thousands(total.nonTrainable)}`);
  lines.push('_'.repeat(lineLength));
  return lines.join('\n');
}
