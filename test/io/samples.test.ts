// Files nabla writes, in every format, with the values tools/golden/io_check.py verifies in
// PyTorch/NumPy. Always written to a temp dir and read back here; with NABLA_WRITE_IO_SAMPLES=dir
// they are also left in `dir` for the Python check:
//   NABLA_WRITE_IO_SAMPLES=/tmp/nabla-io node --test dist/test/io/samples.test.js
//   /usr/bin/python3 tools/golden/io_check.py /tmp/nabla-io
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as io from './io.js';
import { fromTypedArray } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';

interface Want {
  dtype: string;
  shape: number[];
  values: (number | null)[];
  offset?: number;
  strides?: number[];
  sharesWith?: string;
}

/** Writes every sample into `dir` and returns what each file must contain. */
async function writeSamples(dir: string): Promise<Record<string, Record<string, Want>>> {
  const want: Record<string, Record<string, Want>> = {};
  const f32 = new Float32Array([1.5, -2.25, 3e-5, 65504, -0, 1e-8]);
  const i32 = new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0, 7]);
  const small = new Int32Array([-128, 127, 0, 5]);
  const bytes = new Int32Array([0, 255, 128, 9]);
  const bools = new Uint8Array([1, 0, 1]);
  const f64 = new Float64Array([Math.PI, -1e300, 5e-324]);
  const vals = (a: ArrayLike<number>) => Array.from(a, (v) => (Object.is(v, -0) ? 0 : v));

  // safetensors: every stored dtype, converted from nabla storage
  const st: Record<string, io.WritableTensor> = {
    f32: { shape: [2, 3], data: f32 },
    f64: { shape: [3], data: f64 },
    i32: { shape: [2, 2], data: i32 },
    bool: { shape: [3], data: bools },
    f16: { shape: [6], data: new Float32Array([1.5, -2.25, 0.5, 65504, -0, 2 ** -24]), as: 'F16' },
    bf16: { shape: [2], data: new Float32Array([1.5, -1.25 * 2 ** 100]), as: 'BF16' },
    i64: { shape: [4], data: i32, as: 'I64' },
    i16: { shape: [4], data: small, as: 'I16' },
    i8: { shape: [4], data: small, as: 'I8' },
    u8: { shape: [4], data: bytes, as: 'U8' },
  };
  io.writeSafetensorsFile(join(dir, 'nabla_all.safetensors'), st, { writer: 'nabla' });
  const dt: Record<string, string> = {
    F32: 'float32',
    F64: 'float64',
    I32: 'int32',
    BOOL: 'bool',
    F16: 'float16',
    BF16: 'bfloat16',
    I64: 'int64',
    I16: 'int16',
    I8: 'int8',
    U8: 'uint8',
  };
  want['nabla_all.safetensors'] = Object.fromEntries(
    Object.entries(st).map(([k, t]) => [
      k,
      {
        dtype: dt[t.as ?? io.parseSafetensors(io.serializeSafetensors({ x: t })).tensors.x.sourceDtype],
        shape: [...t.shape],
        values: vals(t.data),
      },
    ]),
  );

  // torch: a state dict with one storage behind a base, a transpose and an offset slice, plus
  // a checkpoint-like nesting of dicts, lists and primitives
  const base = fromTypedArray(new Float32Array(Array.from({ length: 12 }, (_, i) => i)), [3, 4]);
  const sd = {
    base,
    t: base.t(),
    slice: base.narrow(0, 1, 2).narrow(1, 1, 2),
    i32: fromTypedArray(i32, [2, 2]),
    f64: fromTypedArray(f64),
    bool: fromTypedArray(bools),
  };
  await io.save(
    { model: sd, epoch: 7, lr: 0.001, tags: ['a', 'b'], nested: { x: [1, 2.5, null, true] } },
    join(dir, 'nabla_ckpt.pth'),
  );
  const tw = (t: Tensor, extra: Partial<Want> = {}): Want => ({
    dtype: t.dtype,
    shape: [...t.shape],
    values: vals(t.toTypedArray()),
    offset: t.layout.offset,
    strides: [...t.layout.strides],
    ...extra,
  });
  await io.save(sd, join(dir, 'nabla_state.pth'));
  want['nabla_ckpt.pth'] = {
    base: tw(base),
    t: tw(sd.t, { sharesWith: 'base' }),
    slice: tw(sd.slice, { sharesWith: 'base' }),
    i32: tw(sd.i32),
    f64: tw(sd.f64),
    bool: tw(sd.bool),
  };
  // layer 1: storages stored as half, bfloat16 and the narrow integer types
  const leaf = (x: unknown) =>
    x && typeof x === 'object' && 'strides' in x
      ? (x as io.TorchTensorRef & { storage: { data: Float32Array } })
      : undefined;
  const one = (data: io.WritableTensor['data'], as: io.ElemType) => ({
    storage: { data, as },
    offset: 0,
    shape: [data.length],
    strides: [1],
  });
  writeFileSync(
    join(dir, 'nabla_dtypes.pth'),
    io.serializeTorch(
      {
        f16: one(st.f16.data, 'F16'),
        bf16: one(st.bf16.data, 'BF16'),
        i64: one(i32, 'I64'),
        i16: one(small, 'I16'),
        i8: one(small, 'I8'),
        u8: one(bytes, 'U8'),
      },
      leaf,
    ),
  );
  want['nabla_dtypes.pth'] = Object.fromEntries(
    ['f16', 'bf16', 'i64', 'i16', 'i8', 'u8'].map((k) => [k, want['nabla_all.safetensors'][k]]),
  );

  // numpy
  const npys: Record<string, Tensor> = {
    f32: fromTypedArray(f32, [3, 2]),
    f64: fromTypedArray(f64),
    i32: fromTypedArray(i32),
    bool: fromTypedArray(bools),
    t: base.t(),
  };
  for (const [k, t] of Object.entries(npys)) {
    await io.save(t, join(dir, `nabla_${k}.npy`));
    want[`nabla_${k}.npy`] = { array: tw(t) };
  }
  await io.saveNpy(fromTypedArray(new Float32Array([0.5, -1.5])), join(dir, 'nabla_f16.npy'), { as: 'F16' });
  want['nabla_f16.npy'] = { array: { dtype: 'float16', shape: [2], values: [0.5, -1.5] } };
  await io.saveNpz(npys, join(dir, 'nabla.npz'));
  await io.saveNpz(npys, join(dir, 'nabla_compressed.npz'), { compress: true });
  want['nabla.npz'] = want['nabla_compressed.npz'] = Object.fromEntries(
    Object.entries(npys).map(([k, t]) => [k, tw(t)]),
  );
  for (const files of Object.values(want))
    for (const w of Object.values(files)) {
      delete w.offset;
      delete w.strides;
    }
  for (const [k, t] of Object.entries(sd))
    Object.assign(want['nabla_ckpt.pth'][k], { offset: t.layout.offset, strides: [...t.layout.strides] });
  want['nabla_state.pth'] = want['nabla_ckpt.pth'];
  return want;
}

test('nabla-written files read back in nabla with the promised values (and are left for io_check.py)', async () => {
  const out = process.env.NABLA_WRITE_IO_SAMPLES;
  const dir = out ?? mkdtempSync(join(tmpdir(), 'nabla-io-'));
  if (out) mkdirSync(out, { recursive: true });
  try {
    const want = await writeSamples(dir);
    writeFileSync(join(dir, 'expected.json'), JSON.stringify(want));
    for (const [file, tensors] of Object.entries(want)) {
      let got = await io.load(join(dir, file));
      if (file.endsWith('.npy')) got = { array: got };
      if (file === 'nabla_ckpt.pth') {
        assert.equal(got.epoch, 7);
        assert.deepEqual(got.nested, { x: [1, 2.5, null, true] });
        got = got.model;
      }
      // stored types beyond nabla's: checked by io_check.py
      if (file === 'nabla_dtypes.pth' || file === 'nabla_all.safetensors' || file === 'nabla_f16.npy') continue;
      for (const [k, w] of Object.entries(tensors)) {
        assert.deepEqual([...got[k].shape], w.shape, `${file}:${k}`);
        assert.deepEqual(
          Array.from(got[k].toTypedArray() as ArrayLike<number>, (v) => (Object.is(v, -0) ? 0 : v)),
          w.values,
          `${file}:${k}`,
        );
        if (w.sharesWith) assert.equal(got[k].storage, got[w.sharesWith].storage, `${file}:${k} shares storage`);
        if (w.offset !== undefined) assert.equal(got[k].layout.offset, w.offset);
      }
    }
    const half = io.readSafetensorsFile(join(dir, 'nabla_all.safetensors')).tensors;
    assert.deepEqual(
      Array.from(half.f16.data, (v) => v + 0),
      want['nabla_all.safetensors'].f16.values,
    );
    assert.deepEqual(Array.from(half.i64.data), want['nabla_all.safetensors'].i64.values);
  } finally {
    if (!out) rmSync(dir, { recursive: true, force: true });
  }
});
