// The Tensor: storage (a GC-owned TypedArray and a version counter) seen through a layout, plus the
// autograd fields. Methods are thin: each forwards to a function in src/ops, where forward and
// backward live together.

import { AccumulateGrad, type GradHook, type Node, type PostAccumulateGradHook } from '../autograd/node.js';
import { type DType, type TypedArray, decodeElement, isFloating, storageClass } from './dtype.js';
import { type Layout, type Shape, numel } from './layout.js';
import * as B from '../ops/binary.js';
import * as U from '../ops/unary.js';
import * as R from '../ops/reduce.js';
import * as M from '../ops/movement.js';
import * as I from '../ops/indexing.js';
import * as MM from '../ops/matmul.js';
import * as IP from '../ops/inplace.js';
import * as C from '../ops/composite.js';
import * as S from '../ops/sampling.js';
import * as LA from '../ops/linalg.js';
import { formatTensor } from './format.js';
import { runBackward } from '../autograd/backward.js';
import { dataOf } from '../ops/util.js';
import * as DV from '../ops/device.js';
import { type Device, type DeviceBuffer, isDevice, isDeviceBuffer, syncReadError } from './device.js';

let storageSerial = 0;

/** The serial of the newest Storage: backward tells the buffers it made itself from older ones. */
export function lastStorageSerial(): number {
  return storageSerial;
}

/** The values of t in order: a subarray of its storage when t is contiguous (no copy), else a copy. */
export function contiguousValues(t: Tensor): TypedArray {
  if (t.storage.device !== 'cpu') throw syncReadError('contiguousValues', t.storage.device, t.shape, t.dtype);
  if (t.isContiguous()) {
    const off = t.layout.offset;
    return dataOf(t, 'contiguousValues', true).subarray(off, off + t.numel());
  }
  return t.toTypedArray();
}

/**
 * Shared by a tensor and all its views. `version` counts in-place writes; `serial` is creation order.
 * `exposed` is set once the TypedArray itself has left nabla's hands (Tensor.data, or a tensor made
 * over the caller's array): from then on writes may come from anywhere, and the version no longer
 * tells whether the contents changed.
 * On an accelerator, `data` holds its DeviceBuffer (typed as the kernel seam passes it, see
 * backend.ts) and `device` names it; host code reads such storage only through ops/device.ts.
 */
export class Storage {
  version = 0;
  readonly serial = ++storageSerial;
  /** 'cpu' for a TypedArray, else the DeviceBuffer's device. */
  readonly device: Device;
  private stampedVersion = -1;
  private stampValue = 0;
  constructor(
    public data: TypedArray,
    public exposed = false,
  ) {
    this.device = isDeviceBuffer(data) ? data.device : 'cpu';
  }
  /**
   * @internal A name for the contents at the current version, drawn from `next` (numbers unique in
   * the process) when the version moved; 0 once exposed. A backend may keep work derived from the
   * contents (transformed weights) and trust it while the same name comes back.
   */
  stamp(next: () => number): number {
    if (this.exposed) return 0;
    if (this.stampedVersion !== this.version) {
      this.stampValue = next();
      this.stampedVersion = this.version;
    }
    return this.stampValue;
  }
}

/**
 * Refuses a layout that addresses elements outside its storage, or a storage of the wrong array type,
 * before any kernel can read it: the native backend checks every call, the JS one does not.
 * NOTE: O(ndim) per tensor; every view and kernel result passes through here.
 */
function checkStorageLayout(storage: Storage, layout: Layout, dtype: DType): number {
  const onDevice = storage instanceof Storage && storage.device !== 'cpu';
  if (!(storage instanceof Storage) || (!onDevice && !ArrayBuffer.isView(storage.data))) {
    throw new Error('Tensor: expected a Storage over a TypedArray');
  }
  const want = storageClass(dtype);
  if (want === undefined) throw new Error(`Tensor: unknown dtype ${JSON.stringify(dtype)}`);
  if (onDevice) {
    const db = storage.data as unknown as DeviceBuffer;
    if (db.dtype !== dtype) throw new Error(`Tensor: dtype ${dtype} over a ${db.device} buffer of ${db.dtype}`);
  } else if (!(storage.data instanceof want)) {
    throw new Error(`Tensor: dtype ${dtype} needs a ${want.name} storage, got a ${storage.data.constructor.name}`);
  }
  const { shape, strides, offset } = layout;
  if (!Array.isArray(shape) || !Array.isArray(strides) || shape.length !== strides.length) {
    throw new Error(`Tensor: ${layout.toString()}: shape and strides must be arrays of the same length`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw new Error(`Tensor: ${layout.toString()}: offset must be a non-negative integer`);
  let lo = offset,
    hi = offset,
    empty = false;
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d],
      st = strides[d];
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new Error(`Tensor: ${layout.toString()}: size ${n} at dim ${d} is not a non-negative integer`);
    }
    if (!Number.isSafeInteger(st))
      throw new Error(`Tensor: ${layout.toString()}: stride ${st} at dim ${d} is not an integer`);
    if (n === 0) empty = true;
    else if (st < 0) lo += st * (n - 1);
    else hi += st * (n - 1);
  }
  if (empty) return 0;
  const len = storage.data.length;
  if (len === 0 && !onDevice && storage.data.buffer.byteLength === 0) {
    throw new Error(
      `Tensor: ${layout.toString()}: the storage's ArrayBuffer was detached (transferred, e.g. by structuredClone or ` +
        'postMessage)',
    );
  }
  if (lo < 0) {
    throw new Error(
      `Tensor: ${layout.toString()}: the layout reaches element ${lo}, ` +
        `before the start of the storage (${len} elements)`,
    );
  }
  if (hi >= len)
    throw new Error(
      `Tensor: ${layout.toString()}: the layout reaches element ${hi} but the storage has ${len} elements`,
    );
  return hi + 1;
}

export type Scalar = number | boolean;
export type TensorLike = Tensor | number;

export class Tensor {
  requiresGrad = false;
  grad: Tensor | null = null;
  gradFn: Node | null = null;
  /** For views: the tensor whose storage this one looks into. */
  base: Tensor | null = null;
  private accNode: AccumulateGrad | null = null;
  /**
   * @internal The storage length the layout needs (its highest element index + 1; 0 when empty).
   * Ops compare it with the storage's current length before a kernel reads it (ops/util dataOf): a
   * detached or shrunk ArrayBuffer makes the length fall below it.
   */
  readonly storageNeeds: number;

  constructor(
    readonly storage: Storage,
    readonly layout: Layout,
    readonly dtype: DType,
  ) {
    this.storageNeeds = checkStorageLayout(storage, layout, dtype);
  }

  // ---- metadata ----
  get shape(): readonly number[] {
    return this.layout.shape;
  }
  get ndim(): number {
    return this.layout.shape.length;
  }
  dim(): number {
    return this.layout.shape.length;
  }
  /**
   * The storage's TypedArray itself (no copy; a view's offset and strides apply). Writing into it
   * bypasses in-place tracking, so from the first call on nabla also verifies anything it keeps
   * derived from this storage before it uses it.
   */
  get data(): TypedArray {
    if (this.storage.device !== 'cpu') throw syncReadError('data', this.storage.device, this.shape, this.dtype);
    this.storage.exposed = true;
    return this.storage.data;
  }
  get version(): number {
    return this.storage.version;
  }
  get isLeaf(): boolean {
    return this.gradFn === null;
  }
  /** Where the storage lives: 'cpu' or 'webgpu'. */
  get device(): Device {
    return this.storage.device;
  }
  numel(): number {
    return numel(this.layout.shape);
  }
  size(dim?: number): number | readonly number[] {
    return dim === undefined ? this.layout.shape : this.layout.shape[M.normDimOf(this, dim, 'size')];
  }
  stride(): readonly number[] {
    return this.layout.strides;
  }
  isContiguous(): boolean {
    return this.layout.isContiguous();
  }
  isFloatingPoint(): boolean {
    return isFloating(this.dtype);
  }

  // ---- readback ----
  /**
   * A contiguous copy of the storage, as a TypedArray of this dtype's storage class: float16 and
   * bfloat16 give their Uint16Array bit patterns, int64 a Float64Array of integers (tensor/dtype.ts);
   * tolist() and item() give numbers for every dtype.
   */
  toTypedArray(): TypedArray {
    return U.contiguousData(this);
  }
  /** Nested JS arrays (booleans for bool tensors). */
  toArray(): unknown {
    return U.toNested(this);
  }
  /** Nested JS arrays of numbers (booleans for bool tensors); a 0-dim tensor gives its value (torch's tolist). */
  tolist(): unknown {
    return U.toNested(this);
  }
  /** The value of a one-element tensor, a number for every dtype (int64 is exact: see tensor/dtype.ts). */
  item(): number {
    if (this.numel() !== 1) {
      throw new Error(
        `item: a Tensor with ${this.numel()} elements cannot be converted to a scalar (shape ` +
          `[${this.shape.join(', ')}])`,
      );
    }
    if (this.storage.device !== 'cpu') throw syncReadError('item', this.storage.device, this.shape, this.dtype);
    return decodeElement(dataOf(this, 'item', true)[this.layout.offset], this.dtype);
  }
  /** A contiguous copy of the values, read back from any device (waits for the queued GPU work). */
  dataAsync(): Promise<TypedArray> {
    return DV.dataAsync(this);
  }
  /** This tensor on `device`; from an accelerator to the CPU this waits for the queued work. */
  toAsync(device: Device): Promise<Tensor> {
    return DV.toDeviceAsync(this, device);
  }
  toString(): string {
    return formatTensor(this);
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  // ---- autograd ----
  /** @internal the AccumulateGrad node of a leaf that requires grad. */
  accumulateNode(): AccumulateGrad {
    if (!this.accNode) this.accNode = new AccumulateGrad(this);
    return this.accNode;
  }
  requiresGrad_(on = true): this {
    if (on && !this.isFloatingPoint()) {
      throw new Error(`requiresGrad_: only Tensors of floating point dtype can require gradients (got ${this.dtype})`);
    }
    if (!this.isLeaf && !on) throw new Error('requiresGrad_: you can only change requiresGrad flags of leaf variables');
    this.requiresGrad = on;
    return this;
  }
  /** Computes gradients of this tensor w.r.t. graph leaves (torch.Tensor.backward). */
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    if (!this.requiresGrad) {
      throw new Error(
        `backward: element 0 of tensors does not require grad and does not have a grad_fn (shape ` +
          `[${this.shape.join(', ')}], ${this.dtype})`,
      );
    }
    if (gradient === undefined) {
      if (this.numel() !== 1) {
        throw new Error(
          `backward: grad can be implicitly created only for scalar outputs (got shape [${this.shape.join(', ')}])`,
        );
      }
      gradient = U.onesLikeOf(this);
    } else if (gradient.shape.length !== this.shape.length || gradient.shape.some((d, i) => d !== this.shape[i])) {
      throw new Error(
        `backward: gradient has shape [${gradient.shape.join(', ')}] but the tensor has shape ` +
          `[${this.shape.join(', ')}]`,
      );
    }
    runBackward([this], [gradient], opts);
  }
  /** Registers fn(grad) → new grad | void, called when this tensor's gradient is computed. */
  registerHook(fn: GradHook): { remove(): void } {
    if (!this.requiresGrad)
      throw new Error("registerHook: cannot register a hook on a tensor that doesn't require gradient");
    const node: Node = this.gradFn ?? this.accumulateNode();
    node.hooks.push(fn);
    return {
      remove: () => {
        node.hooks = node.hooks.filter((h) => h !== fn);
      },
    };
  }
  /**
   * Registers fn(param), called during backward right after this leaf's .grad has been accumulated
   * (torch's register_post_accumulate_grad_hook); fn reads or copies .grad and returns nothing.
   */
  registerPostAccumulateGradHook(fn: PostAccumulateGradHook): { remove(): void } {
    if (!this.requiresGrad || !this.isLeaf)
      throw new Error('registerPostAccumulateGradHook: only leaf tensors that require grad take post-accumulate hooks');
    const node = this.accumulateNode();
    node.postHooks.push(fn);
    return {
      remove: () => {
        node.postHooks = node.postHooks.filter((h) => h !== fn);
      },
    };
  }
  /** Keeps .grad for a non-leaf tensor. */
  retainGrad(): this {
    if (!this.requiresGrad) throw new Error("retainGrad: can't retain_grad on Tensor that has requires_grad=False");
    if (this.gradFn) this.gradFn.retained = this;
    return this;
  }
  /** A view of the same storage, cut from the graph. */
  detach(): Tensor {
    return U.detach(this);
  }
  detach_(): this {
    this.gradFn = null;
    this.requiresGrad = false;
    return this;
  }
  clone(): Tensor {
    return U.clone(this);
  }
  contiguous(): Tensor {
    return M.contiguous(this);
  }
  /** A cast to dtype, or a copy on another device ('webgpu'; an accelerator to 'cpu' is toAsync). */
  to(dtypeOrDevice: DType | Device): Tensor {
    if (isDevice(dtypeOrDevice)) return DV.toDevice(this, dtypeOrDevice);
    return U.cast(this, dtypeOrDevice);
  }
  float(): Tensor {
    return U.cast(this, 'float32');
  }
  double(): Tensor {
    return U.cast(this, 'float64');
  }
  int(): Tensor {
    return U.cast(this, 'int32');
  }
  /** torch's .long(): int64. */
  long(): Tensor {
    return U.cast(this, 'int64');
  }
  /** torch's .half(): float16. */
  half(): Tensor {
    return U.cast(this, 'float16');
  }
  bfloat16(): Tensor {
    return U.cast(this, 'bfloat16');
  }
  /** torch's .char(): int8. */
  char(): Tensor {
    return U.cast(this, 'int8');
  }
  /** torch's .byte(): uint8. */
  byte(): Tensor {
    return U.cast(this, 'uint8');
  }
  /** torch's .type(): the dtype's name without an argument, else a cast to `dtype`. */
  type(): string;
  type(dtype: DType): Tensor;
  type(dtype?: DType): string | Tensor {
    return dtype === undefined ? this.dtype : U.cast(this, dtype);
  }
  bool(): Tensor {
    return U.cast(this, 'bool');
  }

  // ---- elementwise ----
  add(o: TensorLike, alpha?: number): Tensor {
    return B.add(this, o, alpha);
  }
  sub(o: TensorLike, alpha?: number): Tensor {
    return B.sub(this, o, alpha);
  }
  mul(o: TensorLike): Tensor {
    return B.mul(this, o);
  }
  div(o: TensorLike): Tensor {
    return B.div(this, o);
  }
  pow(o: TensorLike): Tensor {
    return B.pow(this, o);
  }
  maximum(o: TensorLike): Tensor {
    return B.maximum(this, o);
  }
  minimum(o: TensorLike): Tensor {
    return B.minimum(this, o);
  }
  floorDivide(o: TensorLike): Tensor {
    return B.floorDivide(this, o);
  }
  remainder(o: TensorLike): Tensor {
    return B.remainder(this, o);
  }
  eq(o: TensorLike): Tensor {
    return B.eq(this, o);
  }
  ne(o: TensorLike): Tensor {
    return B.ne(this, o);
  }
  lt(o: TensorLike): Tensor {
    return B.lt(this, o);
  }
  le(o: TensorLike): Tensor {
    return B.le(this, o);
  }
  gt(o: TensorLike): Tensor {
    return B.gt(this, o);
  }
  ge(o: TensorLike): Tensor {
    return B.ge(this, o);
  }
  logicalAnd(o: TensorLike): Tensor {
    return B.logicalAnd(this, o);
  }
  logicalOr(o: TensorLike): Tensor {
    return B.logicalOr(this, o);
  }
  logicalXor(o: TensorLike): Tensor {
    return B.logicalXor(this, o);
  }
  logicalNot(): Tensor {
    return U.logicalNot(this);
  }
  lerp(end: Tensor, weight: TensorLike): Tensor {
    return C.lerp(this, end, weight);
  }
  isclose(o: TensorLike, opts?: C.IscloseOptions): Tensor {
    return C.isclose(this, o, opts);
  }
  allclose(o: TensorLike, opts?: C.IscloseOptions): boolean {
    return C.allclose(this, o, opts);
  }
  neg(): Tensor {
    return U.neg(this);
  }
  abs(): Tensor {
    return U.abs(this);
  }
  exp(): Tensor {
    return U.exp(this);
  }
  log(): Tensor {
    return U.log(this);
  }
  log1p(): Tensor {
    return U.log1p(this);
  }
  expm1(): Tensor {
    return U.expm1(this);
  }
  sqrt(): Tensor {
    return U.sqrt(this);
  }
  rsqrt(): Tensor {
    return U.rsqrt(this);
  }
  square(): Tensor {
    return U.square(this);
  }
  reciprocal(): Tensor {
    return U.reciprocal(this);
  }
  sin(): Tensor {
    return U.sin(this);
  }
  cos(): Tensor {
    return U.cos(this);
  }
  tanh(): Tensor {
    return U.tanh(this);
  }
  sigmoid(): Tensor {
    return U.sigmoid(this);
  }
  relu(): Tensor {
    return U.relu(this);
  }
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor {
    return U.gelu(this, approximate);
  }
  silu(): Tensor {
    return U.silu(this);
  }
  erf(): Tensor {
    return U.erf(this);
  }
  sign(): Tensor {
    return U.sign(this);
  }
  floor(): Tensor {
    return U.floor(this);
  }
  ceil(): Tensor {
    return U.ceil(this);
  }
  round(): Tensor {
    return U.round(this);
  }
  trunc(): Tensor {
    return U.trunc(this);
  }
  isnan(): Tensor {
    return U.isnan(this);
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return U.clamp(this, min, max);
  }
  where(cond: Tensor, other: TensorLike): Tensor {
    return B.where(cond, this, other);
  }

  // ---- reductions ----
  sum(dim?: number | number[], keepdim = false): Tensor {
    return R.sum(this, dim, keepdim);
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    return R.mean(this, dim, keepdim);
  }
  prod(dim?: number, keepdim = false): Tensor {
    return R.prod(this, dim, keepdim);
  }
  amax(dim?: number | number[], keepdim = false): Tensor {
    return R.amax(this, dim, keepdim);
  }
  amin(dim?: number | number[], keepdim = false): Tensor {
    return R.amin(this, dim, keepdim);
  }
  max(): Tensor;
  max(dim: number, keepdim?: boolean): R.ValuesIndices;
  max(dim?: number, keepdim = false): Tensor | R.ValuesIndices {
    return dim === undefined ? R.amax(this) : R.maxDim(this, dim, keepdim);
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): R.ValuesIndices;
  min(dim?: number, keepdim = false): Tensor | R.ValuesIndices {
    return dim === undefined ? R.amin(this) : R.minDim(this, dim, keepdim);
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return R.argmax(this, dim, keepdim);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return R.argmin(this, dim, keepdim);
  }
  var(dim?: number | number[], opts: R.VarOptions = {}): Tensor {
    return R.variance(this, dim, opts);
  }
  std(dim?: number | number[], opts: R.VarOptions = {}): Tensor {
    return R.std(this, dim, opts);
  }
  logsumexp(dim: number | number[], keepdim = false): Tensor {
    return R.logsumexp(this, dim, keepdim);
  }
  norm(p: number = 2, dim?: number | number[], keepdim = false): Tensor {
    return R.norm(this, p, dim, keepdim);
  }
  cumsum(dim: number): Tensor {
    return R.cumsum(this, dim);
  }
  cumprod(dim: number): Tensor {
    return R.cumprod(this, dim);
  }
  all(dim?: number, keepdim = false): Tensor {
    return R.all(this, dim, keepdim);
  }
  any(dim?: number, keepdim = false): Tensor {
    return R.any(this, dim, keepdim);
  }
  softmax(dim: number): Tensor {
    return R.softmax(this, dim);
  }
  logSoftmax(dim: number): Tensor {
    return R.logSoftmax(this, dim);
  }

  // ---- linear algebra ----
  matmul(o: Tensor): Tensor {
    return MM.matmul(this, o);
  }
  mm(o: Tensor): Tensor {
    return MM.mm(this, o);
  }
  bmm(o: Tensor): Tensor {
    return MM.bmm(this, o);
  }
  dot(o: Tensor): Tensor {
    return MM.dot(this, o);
  }
  outer(o: Tensor): Tensor {
    return MM.outer(this, o);
  }
  det(): Tensor {
    return LA.det(this);
  }
  inverse(): Tensor {
    return LA.inv(this);
  }

  // ---- views and shape ----
  view(...shape: (number | number[])[]): Tensor {
    return M.view(this, M.flatShapeArgs(shape));
  }
  reshape(...shape: (number | number[])[]): Tensor {
    return M.reshape(this, M.flatShapeArgs(shape));
  }
  viewAs(o: Tensor): Tensor {
    return M.view(this, o.shape);
  }
  reshapeAs(o: Tensor): Tensor {
    return M.reshape(this, o.shape);
  }
  permute(...dims: (number | number[])[]): Tensor {
    return M.permute(this, M.flatShapeArgs(dims));
  }
  transpose(d0: number, d1: number): Tensor {
    return M.transpose(this, d0, d1);
  }
  get T(): Tensor {
    return M.permute(this, [...Array(this.ndim).keys()].reverse());
  }
  get mT(): Tensor {
    return M.transpose(this, -2, -1);
  }
  t(): Tensor {
    return M.t(this);
  }
  expand(...shape: (number | number[])[]): Tensor {
    return M.expand(this, M.flatShapeArgs(shape));
  }
  expandAs(o: Tensor): Tensor {
    return M.expand(this, o.shape);
  }
  broadcastTo(shape: Shape): Tensor {
    return M.expand(this, shape);
  }
  squeeze(dim?: number | number[]): Tensor {
    return M.squeeze(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return M.unsqueeze(this, dim);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return M.flatten(this, startDim, endDim);
  }
  unflatten(dim: number, sizes: Shape): Tensor {
    return M.unflatten(this, dim, sizes);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return M.narrow(this, dim, start, length);
  }
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
    return M.slice(this, dim, start, end, step);
  }
  select(dim: number, index: number): Tensor {
    return M.select(this, dim, index);
  }
  split(sizeOrSections: number | number[], dim = 0): Tensor[] {
    return M.split(this, sizeOrSections, dim);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return M.chunk(this, chunks, dim);
  }
  unbind(dim = 0): Tensor[] {
    return M.unbind(this, dim);
  }
  flip(dims: number[]): Tensor {
    return M.flip(this, dims);
  }
  repeat(...sizes: (number | number[])[]): Tensor {
    return M.repeat(this, M.flatShapeArgs(sizes));
  }
  roll(shifts: number | number[], dims?: number | number[] | null): Tensor {
    return C.roll(this, shifts, dims);
  }

  // ---- indexing ----
  gather(dim: number, index: Tensor): Tensor {
    return I.gather(this, dim, index);
  }
  scatter(dim: number, index: Tensor, src: TensorLike): Tensor {
    return I.scatter(this, dim, index, src);
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return I.scatterAdd(this, dim, index, src);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return I.indexSelect(this, dim, index);
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return I.maskedFill(this, mask, value);
  }
  maskedSelect(mask: Tensor): Tensor {
    return I.maskedSelect(this, mask);
  }
  tril(diagonal = 0): Tensor {
    return I.tril(this, diagonal);
  }
  triu(diagonal = 0): Tensor {
    return I.triu(this, diagonal);
  }
  topk(k: number, dim = -1, largest = true, sorted = true): R.ValuesIndices {
    return I.topk(this, k, dim, largest, sorted);
  }
  sort(dim = -1, descending = false): R.ValuesIndices {
    return I.sort(this, dim, descending);
  }
  kthvalue(k: number, dim = -1, keepdim = false): R.ValuesIndices {
    return I.kthvalue(this, k, dim, keepdim);
  }
  mode(dim = -1, keepdim = false): R.ValuesIndices {
    return I.mode(this, dim, keepdim);
  }
  argsort(dim = -1, descending = false): Tensor {
    return I.sort(this, dim, descending).indices;
  }
  unique(opts: C.UniqueOptions & { returnInverse: true; returnCounts: true }): [Tensor, Tensor, Tensor];
  unique(opts: C.UniqueOptions & { returnInverse: true; returnCounts?: false }): [Tensor, Tensor];
  unique(opts: C.UniqueOptions & { returnInverse?: false; returnCounts: true }): [Tensor, Tensor];
  unique(opts?: C.UniqueOptions & { returnInverse?: false; returnCounts?: false }): Tensor;
  unique(opts?: C.UniqueOptions): Tensor | Tensor[];
  unique(opts?: C.UniqueOptions): Tensor | Tensor[] {
    return C.unique(this, opts);
  }
  multinomial(numSamples: number, opts?: S.MultinomialOptions): Tensor {
    return S.multinomial(this, numSamples, opts);
  }
  bernoulli(opts?: S.BernoulliOptions): Tensor {
    return S.bernoulli(this, opts);
  }
  /** NumPy-style indexing: numbers, null (new axis), '...', [start, end, step?] slices or index tensors. */
  index(...idx: I.IndexItem[]): Tensor {
    return I.index(this, idx);
  }

  // ---- in place (each bumps the storage version) ----
  add_(o: TensorLike, alpha?: number): this {
    return IP.inplace(this, 'add_', (s) => B.add(s, o, alpha), o);
  }
  sub_(o: TensorLike, alpha?: number): this {
    return IP.inplace(this, 'sub_', (s) => B.sub(s, o, alpha), o);
  }
  mul_(o: TensorLike): this {
    return IP.inplace(this, 'mul_', (s) => B.mul(s, o), o);
  }
  div_(o: TensorLike): this {
    return IP.inplace(this, 'div_', (s) => B.div(s, o), o);
  }
  clamp_(min?: number | null, max?: number | null): this {
    return IP.inplace(this, 'clamp_', (s) => U.clamp(s, min, max));
  }
  copy_(src: TensorLike): this {
    return IP.copy_(this, src);
  }
  fill_(value: number): this {
    return IP.fill_(this, value);
  }
  zero_(): this {
    return IP.fill_(this, 0);
  }
  uniform_(low = 0, high = 1): this {
    return IP.uniform_(this, low, high);
  }
  normal_(mean = 0, std = 1): this {
    return IP.normal_(this, mean, std);
  }
  maskedFill_(mask: Tensor, value: number): this {
    return IP.inplace(this, 'maskedFill_', (s) => I.maskedFill(s, mask, value));
  }
}
