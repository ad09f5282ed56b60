// `nabla train-detector` writes a model folder that `nabla detect IMAGE --out boxes.png` reads: it
// prints the boxes (JSON) and draws them enlarged; missing models and bad options are clear errors.
// The model here is trained for one tiny epoch: this checks the plumbing, not the accuracy (that is
// test/vision/detection.test.ts and examples/detection.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, SHARED_DATA } from '../helpers/data.js';
import * as det from '../../src/vision/detection/index.js';
import { decodeImage, encodePng } from '../../src/vision/image.js';
import { toImage } from '../../src/vision/utils.js';

const MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

function nabla(...args: string[]): { code: number; stdout: string; stderr: string } {
  // NOTE: without NODE_TEST_CONTEXT, which would make the child report to this test runner.
  const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 300_000, env });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('train-detector writes DIR; detect reads it, prints boxes and draws them', {
  skip: det.sceneDataMissing(SHARED_DATA) ?? false,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-cli-detect-'));
  try {
    const model = join(dir, 'model');
    const t = nabla(
      'train-detector',
      '--out',
      model,
      '--epochs',
      '1',
      '--scenes',
      '32',
      '--width',
      '4',
      '--data',
      SHARED_DATA,
    );
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /held-out mAP@0\.5 [\d.]+, mAP@\[\.5:\.95\] [\d.]+; saved to/);
    assert.ok(existsSync(join(model, 'model.safetensors')));
    const pool = det.loadItems('test', SHARED_DATA);
    const png = join(dir, 'scene.png');
    writeFileSync(png, encodePng(toImage(det.sceneBatch([det.makeScene(pool, 0)]).images.squeeze(0))));
    const out = join(dir, 'boxes.png');
    const r = nabla('detect', png, '--model', model, '--out', out, '--threshold', '0', '--scale', '3', '--json');
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout.split('\n')[0]) as {
      file: string;
      detections: { label: string; box: number[] }[];
    }[];
    assert.equal(rows[0].file, png);
    assert.ok(rows[0].detections.length > 0);
    for (const d of rows[0].detections) {
      assert.ok(det.SCENE_CLASSES.includes(d.label as (typeof det.SCENE_CLASSES)[number]), d.label);
      assert.equal(d.box.length, 4);
    }
    const drawn = decodeImage(readFileSync(out));
    assert.deepEqual([drawn.width, drawn.height], [192, 192]);
    const missing = nabla('detect', png, '--model', join(dir, 'nothing'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /detect: no model in .*nothing; train one/);
    const bad = nabla('detect', png, '--model', model, '--scale', '0');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--scale a positive integer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
