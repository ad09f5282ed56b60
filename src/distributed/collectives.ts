// The collectives and point-to-point calls of nb.distributed, shaped like torch.distributed's: each takes
// `asyncOp` and then returns a Work (wait() or await work.promise); without it, it blocks until done.
// Tensors that receive data (allReduce, broadcast, recv, outputs) must be contiguous CPU tensors and are
// refused otherwise, since the result must land in their memory; tensors that are only read (send, the
// inputs of allGather and reduceScatter) are copied when they are not contiguous.
//
// Before each collective the ranks compare what they were asked (operation, dtype, shape, reduce op,
// root, call count) and all refuse alike when any rank differs, naming the ranks and shapes.

import type { DType, TypedArray } from '../tensor/dtype.js';
import { contiguousValues, type Tensor } from '../tensor/tensor.js';
import { K, submit, type Work, worldOf } from './process_group.js';

/** Reduction operators (torch.distributed.ReduceOp); avg is for floating-point tensors. */
export type ReduceOp = 'sum' | 'avg' | 'max' | 'min' | 'product';
const ROP: Record<ReduceOp, number> = { sum: 0, avg: 1, max: 2, min: 3, product: 4 };
const DT: Partial<Record<DType, number>> = { float32: 0, float64: 1, int32: 2, bool: 3 };

/** The wire code of t's dtype; the storage dtypes (float16, int8, ...) are refused, naming the dtype. */
function dtCode(t: Tensor): number {
  const c = DT[t.dtype];
  if (c === undefined)
    throw new Error(`nb.distributed: ${t.dtype} tensors are not supported (float32, float64, int32, bool); cast first`);
  return c;
}
const MAX_COUNT = 2 ** 31 - 1;

export interface AsyncOption {
  /** Return a Work at once instead of blocking until the operation completes. */
  asyncOp?: boolean;
}

function shapeStr(t: Tensor): string {
  return `[${t.shape.join(', ')}] ${t.dtype}`;
}

function checkCpu(op: string, what: string, t: Tensor): void {
  if (t.device !== 'cpu') {
    throw new Error(`${op}: ${what} is on ${t.device}; nb.distributed works on CPU tensors, refused (copy it to cpu)`);
  }
  if (t.numel() > MAX_COUNT) throw new Error(`${op}: ${what} has ${t.numel()} elements, more than MPI's 2^31-1`);
}

/** The memory results land in: the tensor's own storage, so it must be contiguous. */
function target(op: string, what: string, t: Tensor): TypedArray {
  checkCpu(op, what, t);
  if (!t.isContiguous()) {
    throw new Error(
      `${op}: ${what} ${shapeStr(t)} is not contiguous (strides [${t.stride().join(', ')}]); refused, since the ` +
        'result must land in its memory: pass t.contiguous() and copy back',
    );
  }
  t.storage.version++;
  const off = t.layout.offset;
  return t.storage.data.subarray(off, off + t.numel());
}

/** The memory read from: a copy when the tensor is not contiguous. */
function source(op: string, what: string, t: Tensor): TypedArray {
  checkCpu(op, what, t);
  return contiguousValues(t);
}

function header(t: Tensor | null): Float64Array {
  const h = new Float64Array(16);
  if (t) {
    h[4] = t.ndim;
    t.shape.slice(0, 8).forEach((d, i) => {
      h[5 + i] = d;
    });
    h[13] = t.numel();
  }
  return h;
}

function reduceCode(op: string, rop: ReduceOp, dtype: DType): number {
  const code = ROP[rop];
  if (code === undefined) throw new Error(`${op}: unknown op '${String(rop)}' (use sum, avg, max, min or product)`);
  if (rop === 'avg' && dtype !== 'float32' && dtype !== 'float64')
    throw new Error(`${op}: op 'avg' needs a floating-point tensor, got ${dtype}`);
  if (dtype === 'bool' && rop !== 'max' && rop !== 'min')
    throw new Error(`${op}: a bool tensor reduces with max (any) or min (all), not '${rop}'`);
  return code;
}

function checkRank(op: string, what: string, r: number, size: number): void {
  if (!Number.isInteger(r) || r < 0 || r >= size)
    throw new Error(`${op}: ${what} ${r} is not a rank in 0..${size - 1}`);
}

function done(w: Work, opts: AsyncOption): Work | undefined {
  if (opts.asyncOp) return w.start();
  w.wait();
  return undefined;
}

/**
 * Reduces `tensor` across all ranks in place (torch.distributed.all_reduce).
 *
 * @example
 * const g = nb.tensor([rank, 1]);
 * nb.distributed.allReduce(g, { op: 'sum' }); // [0 + 1 + ... + (W-1), W] on every rank
 */
export function allReduce(tensor: Tensor, opts?: { op?: ReduceOp } & { asyncOp?: false }): undefined;
export function allReduce(tensor: Tensor, opts: { op?: ReduceOp } & { asyncOp: true }): Work;
export function allReduce(tensor: Tensor, opts: { op?: ReduceOp } & AsyncOption = {}): Work | undefined {
  const rop = reduceCode('allReduce', opts.op ?? 'sum', tensor.dtype);
  const buf = target('allReduce', 'tensor', tensor);
  const args = { dtype: dtCode(tensor), rop, header: header(tensor) };
  return done(submit('allReduce', K.allReduce, args, buf, null), opts);
}

/** Copies `tensor` from rank `src` into every rank's `tensor` (torch.distributed.broadcast). */
export function broadcast(tensor: Tensor, src: number, opts?: { asyncOp?: false }): undefined;
export function broadcast(tensor: Tensor, src: number, opts: { asyncOp: true }): Work;
export function broadcast(tensor: Tensor, src: number, opts: AsyncOption = {}): Work | undefined {
  checkRank('broadcast', 'src', src, worldOf('broadcast').size);
  const buf = target('broadcast', 'tensor', tensor);
  const args = { dtype: dtCode(tensor), peer: src, header: header(tensor) };
  return done(submit('broadcast', K.broadcast, args, buf, null), opts);
}

/** Gathers every rank's `tensor` into `tensorList[r]` on every rank (torch.distributed.all_gather). */
export function allGather(tensorList: Tensor[], tensor: Tensor, opts?: { asyncOp?: false }): undefined;
export function allGather(tensorList: Tensor[], tensor: Tensor, opts: { asyncOp: true }): Work;
export function allGather(tensorList: Tensor[], tensor: Tensor, opts: AsyncOption = {}): Work | undefined {
  const { size } = worldOf('allGather');
  if (tensorList.length !== size)
    throw new Error(`allGather: tensorList has ${tensorList.length} tensors; the world has ${size} ranks`);
  const outs = tensorList.map((t, r) => {
    if (t.dtype !== tensor.dtype || t.numel() !== tensor.numel())
      throw new Error(`allGather: tensorList[${r}] is ${shapeStr(t)} but tensor is ${shapeStr(tensor)}`);
    return target('allGather', `tensorList[${r}]`, t);
  });
  const input = source('allGather', 'tensor', tensor);
  const n = tensor.numel();
  const flat = new (input.constructor as new (n: number) => TypedArray)(n * size);
  const finish = () => {
    outs.forEach((o, r) => {
      o.set(flat.subarray(r * n, (r + 1) * n));
    });
  };
  const args = { dtype: dtCode(tensor), header: header(tensor) };
  return done(submit('allGather', K.allGather, args, input, flat, finish), opts);
}

/**
 * Gathers every rank's `input` into `output`, whose first dimension is W times input's (rank r's part at
 * rows r*n..) — torch.distributed.all_gather_into_tensor.
 */
export function allGatherIntoTensor(output: Tensor, input: Tensor, opts?: { asyncOp?: false }): undefined;
export function allGatherIntoTensor(output: Tensor, input: Tensor, opts: { asyncOp: true }): Work;
export function allGatherIntoTensor(output: Tensor, input: Tensor, opts: AsyncOption = {}): Work | undefined {
  const { size } = worldOf('allGatherIntoTensor');
  if (output.dtype !== input.dtype || output.numel() !== input.numel() * size)
    throw new Error(
      `allGatherIntoTensor: output is ${shapeStr(output)} but needs ${size} x input ${shapeStr(input)} elements`,
    );
  const out = target('allGatherIntoTensor', 'output', output);
  const inp = source('allGatherIntoTensor', 'input', input);
  const args = { dtype: dtCode(input), header: header(input) };
  return done(submit('allGatherIntoTensor', K.allGather, args, inp, out), opts);
}

/**
 * Reduces `input` (W equal parts along its elements) across ranks and leaves part r in rank r's `output`
 * (torch.distributed.reduce_scatter_tensor).
 */
export function reduceScatterTensor(
  output: Tensor,
  input: Tensor,
  opts?: { op?: ReduceOp } & { asyncOp?: false },
): undefined;
export function reduceScatterTensor(output: Tensor, input: Tensor, opts: { op?: ReduceOp } & { asyncOp: true }): Work;
export function reduceScatterTensor(
  output: Tensor,
  input: Tensor,
  opts: { op?: ReduceOp } & AsyncOption = {},
): Work | undefined {
  const { size } = worldOf('reduceScatter');
  const rop = reduceCode('reduceScatter', opts.op ?? 'sum', input.dtype);
  if (output.dtype !== input.dtype || output.numel() * size !== input.numel())
    throw new Error(`reduceScatter: input ${shapeStr(input)} must hold ${size} x output ${shapeStr(output)} elements`);
  const out = target('reduceScatter', 'output', output);
  const inp = source('reduceScatter', 'input', input);
  const args = { dtype: dtCode(input), rop, header: header(input) };
  return done(submit('reduceScatter', K.reduceScatter, args, inp, out), opts);
}

/** Reduces inputList[r] across ranks into rank r's `output` (torch.distributed.reduce_scatter). */
export function reduceScatter(
  output: Tensor,
  inputList: Tensor[],
  opts?: { op?: ReduceOp } & { asyncOp?: false },
): undefined;
export function reduceScatter(output: Tensor, inputList: Tensor[], opts: { op?: ReduceOp } & { asyncOp: true }): Work;
export function reduceScatter(
  output: Tensor,
  inputList: Tensor[],
  opts: { op?: ReduceOp } & AsyncOption = {},
): Work | undefined {
  const { size } = worldOf('reduceScatter');
  if (inputList.length !== size)
    throw new Error(`reduceScatter: inputList has ${inputList.length} tensors; the world has ${size} ranks`);
  const n = output.numel();
  const parts = inputList.map((t, r) => {
    if (t.dtype !== output.dtype || t.numel() !== n)
      throw new Error(`reduceScatter: inputList[${r}] is ${shapeStr(t)} but output is ${shapeStr(output)}`);
    return source('reduceScatter', `inputList[${r}]`, t);
  });
  const flat = new (parts[0].constructor as new (n: number) => TypedArray)(n * size);
  parts.forEach((p, r) => {
    flat.set(p, r * n);
  });
  const rop = reduceCode('reduceScatter', opts.op ?? 'sum', output.dtype);
  const out = target('reduceScatter', 'output', output);
  const h = header(output);
  h[13] = n * size;
  return done(submit('reduceScatter', K.reduceScatter, { dtype: dtCode(output), rop, header: h }, flat, out), opts);
}

/** Blocks until every rank has reached it (torch.distributed.barrier). */
export function barrier(opts?: { asyncOp?: false }): undefined;
export function barrier(opts: { asyncOp: true }): Work;
export function barrier(opts: AsyncOption = {}): Work | undefined {
  return done(submit('barrier', K.barrier, {}, null, null), opts);
}

/** Sends `tensor` to rank `dst`; returns a Work (torch.distributed.isend). */
export function isend(tensor: Tensor, dst: number, opts: { tag?: number } = {}): Work {
  const { rank, size } = worldOf('send');
  checkRank('send', 'dst', dst, size);
  if (dst === rank) throw new Error(`send: rank ${rank} cannot send to itself`);
  const tag = checkTag('send', opts.tag);
  const buf = source('send', 'tensor', tensor);
  return submit('send', K.send, { dtype: dtCode(tensor), peer: dst, tag, header: header(tensor) }, buf, null).start();
}

/**
 * Receives into `tensor` from rank `src` (any rank when omitted); returns a Work whose sourceRank() says
 * who sent it (torch.distributed.irecv). A message of another shape or dtype is refused, naming both.
 */
export function irecv(tensor: Tensor, src?: number, opts: { tag?: number } = {}): Work {
  const { rank, size } = worldOf('recv');
  if (src !== undefined) {
    checkRank('recv', 'src', src, size);
    if (src === rank) throw new Error(`recv: rank ${rank} cannot receive from itself`);
  }
  const tag = checkTag('recv', opts.tag);
  const buf = target('recv', 'tensor', tensor);
  const args = { dtype: dtCode(tensor), peer: src ?? -1, tag, header: header(tensor) };
  return submit('recv', K.recv, args, buf, null).start();
}

/** Sends `tensor` to rank `dst` and blocks until it has left (torch.distributed.send). */
export function send(tensor: Tensor, dst: number, opts: { tag?: number } = {}): void {
  isend(tensor, dst, opts).wait();
}

/** Receives into `tensor` and blocks until it has arrived; returns the sender's rank (torch.distributed.recv). */
export function recv(tensor: Tensor, src?: number, opts: { tag?: number } = {}): number {
  const w = irecv(tensor, src, opts);
  w.wait();
  return w.sourceRank();
}

function checkTag(op: string, tag = 0): number {
  if (!Number.isInteger(tag) || tag < 0 || tag > 32767)
    throw new Error(`${op}: tag ${tag} must be an integer 0..32767`);
  return tag;
}
