// Keras-style progress bar for fit/evaluate/predict.
//
// On a TTY (verbose 1) the bar is redrawn in place with '\r':
//   12/47 [=======>......................] - ETA: 3s - loss: 0.4312 - accuracy: 0.8750
// and finalised with the epoch time and the time per step:
//   47/47 [==============================] - 1s 21ms/step - loss: 0.2110 - accuracy: 0.9431
// Off a TTY (a log file, CI, a pipe) and with verbose 2, nothing is drawn during the epoch; one stable
// line is written at its end, with the epoch number when there is one:
//   Epoch 3/20 - 47/47 - 1s - loss: 0.2110 - accuracy: 0.9431 - val_loss: 0.2533 - val_accuracy: 0.9320
// The clock and the stream are injectable so the output can be tested byte for byte.

import { process } from '../platform/node.js';

/** Where progress goes: process.stdout or anything with write() (and optionally isTTY). */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

/** Seconds, monotonic. */
export type Clock = () => number;

export const systemClock: Clock = () => performance.now() / 1000;

export interface ProgbarOptions {
  /** Total number of steps, or undefined when unknown (an iterable of batches). */
  target?: number;
  /** Bar width in characters (Keras: 30). */
  width?: number;
  /** 0 silent, 1 bar (one line per epoch off a TTY), 2 one line per epoch. */
  verbose?: 0 | 1 | 2;
  stream?: ProgressStream;
  /** Overrides stream.isTTY. */
  isTTY?: boolean;
  clock?: Clock;
  /** Minimum seconds between two redraws on a TTY (Keras: 0.05). */
  interval?: number;
  /** Prefix of the one-line form, e.g. 'Epoch 3/20'. */
  label?: string;
}

export type ProgressValues = ReadonlyArray<readonly [string, number]> | Readonly<Record<string, number>>;

/** Keras's value format: 4 decimals, or scientific for tiny magnitudes. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) > 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(4);
}

/** 3s, 1:05, 1:02:03 (Keras's ETA format). */
export function formatEta(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  if (s >= 3600) return `${Math.floor(s / 3600)}:${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}`;
  if (s >= 60) return `${Math.floor(s / 60)}:${pad2(s % 60)}`;
  return `${s}s`;
}

/** 2s/step, 21ms/step, 350us/step. */
export function formatPerStep(sec: number): string {
  if (sec >= 1) return `${Math.round(sec)}s/step`;
  if (sec >= 1e-3) return `${Math.round(sec * 1e3)}ms/step`;
  return `${Math.round(sec * 1e6)}us/step`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function entries(v: ProgressValues | undefined): [string, number][] {
  if (!v) return [];
  return Array.isArray(v) ? v.map(([k, x]) => [k, x]) : Object.entries(v as Record<string, number>);
}

export class Progbar {
  readonly target: number | undefined;
  readonly width: number;
  readonly verbose: 0 | 1 | 2;
  readonly isTTY: boolean;
  private readonly stream: ProgressStream;
  private readonly clock: Clock;
  private readonly interval: number;
  private readonly label: string | undefined;
  private readonly start: number;
  private lastDraw = -Infinity;
  private lastLen = 0;
  private values: [string, number][] = [];
  private finished = false;

  constructor(opts: ProgbarOptions = {}) {
    this.target = opts.target;
    this.width = opts.width ?? 30;
    this.verbose = opts.verbose ?? 1;
    this.stream = opts.stream ?? process.stdout;
    this.isTTY = opts.isTTY ?? Boolean(this.stream.isTTY);
    this.clock = opts.clock ?? systemClock;
    this.interval = opts.interval ?? 0.05;
    this.label = opts.label;
    this.start = this.clock();
  }

  /**
   * Reports that `current` steps are done, with the values to show (running loss and metrics).
   * `finalize` ends the line (fit calls it once per epoch, with the validation values added).
   */
  update(current: number, values?: ProgressValues, finalize = false): void {
    if (this.finished) return;
    if (values) this.values = entries(values);
    if (this.verbose === 0) {
      if (finalize) this.finished = true;
      return;
    }
    const now = this.clock();
    if (finalize) this.finished = true;
    if (this.verbose === 1 && this.isTTY) {
      if (!finalize && now - this.lastDraw < this.interval && current !== this.target) return;
      this.lastDraw = now;
      this.drawBar(current, now, finalize);
      return;
    }
    if (finalize) this.stream.write(this.line(current, now) + '\n');
  }

  /** The one-line form: `Epoch 3/20 - 47/47 - 1s - loss: 0.2110 - ...`. */
  line(current: number, now = this.clock()): string {
    const parts: string[] = [];
    if (this.label) parts.push(this.label);
    parts.push(this.target !== undefined ? `${current}/${this.target}` : `${current}`);
    parts.push(`${Math.round(now - this.start)}s`);
    for (const [k, v] of this.values) parts.push(`${k}: ${formatValue(v)}`);
    return parts.join(' - ');
  }

  private drawBar(current: number, now: number, finalize: boolean): void {
    const elapsed = now - this.start;
    let s: string;
    if (this.target !== undefined && this.target > 0) {
      const digits = String(this.target).length;
      s = `${String(current).padStart(digits)}/${this.target} [`;
      const prog = Math.min(1, current / this.target);
      const filled = Math.floor(this.width * prog);
      if (filled > 0) s += '='.repeat(filled - 1) + (current < this.target ? '>' : '=');
      s += '.'.repeat(this.width - filled) + ']';
    } else {
      s = `${current}/Unknown`;
    }
    const perStep = current > 0 ? elapsed / current : 0;
    if (finalize || (this.target !== undefined && current >= this.target)) {
      s += ` - ${Math.round(elapsed)}s ${formatPerStep(perStep)}`;
    } else if (this.target !== undefined) {
      s += ` - ETA: ${formatEta(perStep * (this.target - current))}`;
    } else {
      s += ` - ${Math.round(elapsed)}s`;
    }
    for (const [k, v] of this.values) s += ` - ${k}: ${formatValue(v)}`;
    // NOTE: pad with spaces so a shorter line fully covers the previous one.
    const padded = s.length < this.lastLen ? s + ' '.repeat(this.lastLen - s.length) : s;
    this.lastLen = s.length;
    this.stream.write('\r' + padded + (finalize ? '\n' : ''));
  }
}
