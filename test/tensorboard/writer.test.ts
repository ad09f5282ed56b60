// SummaryWriter's event files, parsed with protobufjs against TensorBoard's own schemas
// (test/tensorboard/proto, Apache-2.0): TFRecord framing with masked CRC32C, and every add* kind.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import * as nb from 'nabla';
import { REPO_ROOT } from '../helpers/data.js';

const TB = nb.tensorboard;
const PROTO = join(REPO_ROOT, 'test', 'tensorboard', 'proto');
const root = protobuf.loadSync([join(PROTO, 'event.proto'), join(PROTO, 'plugin_data.proto')]);
const Event = root.lookupType('tensorflow.Event');
const PluginData = root.lookupType('tensorboard.hparams.HParamsPluginData');

/** Splits a TFRecord file, checking both masked CRCs of every record. */
function records(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 0;
  while (o < bytes.length) {
    const n = Number(dv.getBigUint64(o, true));
    assert.equal(dv.getUint32(o + 8, true), TB.maskedCrc32c(bytes.subarray(o, o + 8)), `length CRC at ${o}`);
    const data = bytes.subarray(o + 12, o + 12 + n);
    assert.equal(dv.getUint32(o + 12 + n, true), TB.maskedCrc32c(data), `data CRC at ${o}`);
    out.push(data);
    o += 16 + n;
  }
  return out;
}

// decoded protobuf objects are plain, untyped objects
function events(file: string): any[] {
  return records(readFileSync(file)).map((r) => Event.toObject(Event.decode(r), { longs: Number, bytes: Array }));
}

function eventFile(dir: string): string {
  const f = readdirSync(dir).filter((n) => n.startsWith('events.out.tfevents.'));
  assert.equal(f.length, 1, `one event file in ${dir}`);
  return join(dir, f[0]);
}

test('crc32c matches the standard check value and TFRecord masking', () => {
  assert.equal(TB.crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  // mask(c) = rotr(c, 15) + 0xa282ead8
  const c = 0xe3069283;
  assert.equal(
    TB.maskedCrc32c(new TextEncoder().encode('123456789')),
    ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0,
  );
});

test('SummaryWriter event files decode as tensorflow.Event with every kind of summary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nb-tb-'));
  const w = new TB.SummaryWriter(dir);
  w.addScalar('loss', 0.25, 3);
  w.addText('note', 'hello *world*', 1);
  w.addHistogram('w', nb.tensor([0, 1, 1, 2, 3]), 2, { bins: 3 });
  w.addImage('img', nb.ones([3, 2, 4]).mul(0.5), 4);
  w.addScalars('acc', { train: 0.9, val: 0.8 }, 5);
  w.addHparams({ lr: 0.01, opt: 'adam', bn: true }, { 'hparam/acc': 0.8 }, 'hp');
  w.close();
  const ev = events(eventFile(dir));
  assert.equal(ev[0].fileVersion, 'brain.Event:2');
  const byTag = (t: string) => ev.find((e) => e.summary?.value?.[0]?.tag === t);
  const loss = byTag('loss');
  assert.equal(loss.step, 3);
  assert.equal(loss.summary.value[0].simpleValue, 0.25);
  assert.ok(Math.abs(loss.wallTime - Date.now() / 1000) < 600);
  const text = byTag('note/text_summary').summary.value[0];
  assert.equal(text.metadata.pluginData.pluginName, 'text');
  assert.equal(text.tensor.dtype, 7); // DT_STRING
  assert.deepEqual(text.tensor.tensorShape.dim, [{ size: 1 }]);
  assert.equal(Buffer.from(text.tensor.stringVal[0]).toString(), 'hello *world*');
  const h = byTag('w').summary.value[0].histo;
  // proto3 omits zeros, so an absent min reads as 0
  assert.deepEqual([h.min ?? 0, h.max, h.num, h.sum, h.sumSquares], [0, 3, 5, 7, 15]);
  assert.deepEqual(h.bucketLimit, [1, 2, 3]);
  assert.deepEqual(h.bucket, [1, 2, 2]);
  const im = byTag('img').summary.value[0].image;
  assert.deepEqual([im.height, im.width, im.colorspace], [2, 4, 3]);
  const png = nb.vision.decodeImage(Uint8Array.from(im.encodedImageString));
  assert.deepEqual([...png.data.subarray(0, 3)], [128, 128, 128]);
  // addScalars: one run per key, tag = the main tag
  for (const [k, v] of [
    ['train', 0.9],
    ['val', 0.8],
  ] as const) {
    const s = events(eventFile(join(dir, `acc_${k}`))).find((e) => e.summary);
    assert.equal(s.summary.value[0].tag, 'acc');
    assert.ok(Math.abs(s.summary.value[0].simpleValue - v) < 1e-6);
  }
  // addHparams: the three hparams plugin summaries in a sub-run, then the metric
  const hp = events(eventFile(join(dir, 'hp')));
  const plugin = (tag: string) => {
    const v = hp.find((e) => e.summary?.value?.[0]?.tag === tag).summary.value[0];
    assert.equal(v.metadata.pluginData.pluginName, 'hparams');
    return PluginData.toObject(PluginData.decode(Uint8Array.from(v.metadata.pluginData.content)), { enums: String });
  };
  const exp = plugin('_hparams_/experiment').experiment;
  assert.deepEqual(
    exp.hparamInfos.map((i: { name: string }) => i.name),
    ['lr', 'opt', 'bn'],
  );
  assert.deepEqual(exp.metricInfos[0].name, { tag: 'hparam/acc' });
  const start = plugin('_hparams_/session_start_info').sessionStartInfo.hparams;
  assert.deepEqual(start, { lr: { numberValue: 0.01 }, opt: { stringValue: 'adam' }, bn: { boolValue: true } });
  assert.equal(plugin('_hparams_/session_end_info').sessionEndInfo.status, 'STATUS_SUCCESS');
  assert.ok(hp.some((e) => e.summary?.value?.[0]?.tag === 'hparam/acc'));
});

test('SummaryWriter rejects bad input with the method named', () => {
  const w = new TB.SummaryWriter(mkdtempSync(join(tmpdir(), 'nb-tb-')));
  assert.throws(() => w.addScalar('', 1), /SummaryWriter\.addScalar: tag must be a non-empty string/);
  assert.throws(() => w.addScalar('x', 1, 1.5), /step must be an integer, got 1\.5/);
  assert.throws(() => w.addHistogram('h', [1, Number.NaN]), /value 1 is NaN/);
  assert.throws(() => w.addImage('i', nb.zeros([2, 4, 4])), /Image\.fromTensor: expected a \(C, H, W\) tensor/);
  w.close();
  assert.throws(() => w.addScalar('x', 1), /is closed/);
});
