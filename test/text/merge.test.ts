// MergeTable: best priority first, leftmost among equals, overlapping pairs, stale heap entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MergeTable } from '../../src/text/merge.js';

// ids: a=0 b=1 c=2 ab=3 bc=4 abc=5 aa=6 aaaa=7
function table(): MergeTable {
  const t = new MergeTable();
  t.add(0, 1, 3, 1); // a b -> ab
  t.add(1, 2, 4, 0); // b c -> bc (better)
  t.add(3, 2, 5, 2); // ab c -> abc
  t.add(0, 0, 6, 5); // a a -> aa
  t.add(6, 6, 7, 6); // aa aa -> aaaa
  return t;
}

test('the best pair merges first, then the pairs it creates', () => {
  const t = table();
  assert.deepEqual(t.apply([0, 1, 2]), [0, 4]); // bc beats ab; 'a bc' has no rule
  assert.deepEqual(t.apply([0, 1, 0, 1, 2]), [3, 0, 4]);
  assert.deepEqual(t.apply([]), []);
  assert.deepEqual(t.apply([2]), [2]);
});

test('equal priorities merge leftmost first, like llama2.c and encoder.py', () => {
  const t = table();
  assert.deepEqual(t.apply([0, 0, 0]), [6, 0]);
  assert.deepEqual(t.apply([0, 0, 0, 0, 0]), [7, 0]);
  assert.deepEqual(t.apply([0, 0, 0, 0, 0, 0]), [7, 6]);
});

test('add keeps the better priority for a repeated pair', () => {
  const t = new MergeTable();
  t.add(0, 1, 3, 4);
  t.add(0, 1, 9, 7);
  assert.equal(t.size, 1);
  assert.deepEqual(t.apply([0, 1]), [3]);
  t.add(0, 1, 8, 1);
  assert.deepEqual(t.apply([0, 1]), [8]);
  assert.equal(t.find(1, 0), -1);
});
