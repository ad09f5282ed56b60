// The dictd loader: base64 numbers, the index, FreeDict entries (translations, usage examples), the
// budgets, a dictzip'ed file round trip, and the real German-English dictionary when Debian's
// dict-freedict-deu-eng is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  decodeDictdNumber,
  dictdEntryText,
  freedictPairs,
  parseDictdIndex,
  parseFreedictEntry,
  splitByHeadword,
} from '../../src/text/dictd.js';
import { FREEDICT_DEU_ENG, readDictd } from '../../src/text/dictd_file.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const enc = (n: number): string => (n < 64 ? B64[n] : enc(Math.floor(n / 64)) + B64[n % 64]);

const ENTRIES = [
  'abblitzen lassen /ˈapblˌɪtsən lˈasən/\nrebuffed, spurred\n      "jdn. abblitzen lassen"  - send sb. packing\n' +
    '   Synonyms: {abgewiesen}\n\n see: {jdn. abweisen}\n\n',
  'Paragraph /pˌaraɡɾˈɑːf/ (§) <masc, n, sg>\n [jur.] section <n>s.,  /ˈɛs/\n         Note: of a legal document\n' +
    '      "Paragraph 15, Absatz 3"  - section 15, subsection 3\n',
  'Krankenhaus /kɾˈaŋkənhˌaʊs/ <neut, n, sg>\nhospital <n>, infirmary (old) <n>\n',
];

/** An in-memory dictd dictionary of the entries above. */
function build(): { index: string; dict: Buffer } {
  const parts = ENTRIES.map((e) => Buffer.from(e, 'utf8'));
  let off = 0;
  const lines = parts.map((p, i) => {
    const head = ENTRIES[i].split(/ \//)[0].toLowerCase();
    const l = `${head}\t${enc(off)}\t${enc(p.length)}`;
    off += p.length;
    return l;
  });
  return { index: `${lines.join('\n')}\n`, dict: Buffer.concat(parts) };
}

test('dictd numbers and index lines', () => {
  assert.equal(decodeDictdNumber('BO'), 78);
  assert.equal(decodeDictdNumber('A'), 0);
  assert.equal(decodeDictdNumber('F+BFr'), (((5 * 64 + 62) * 64 + 1) * 64 + 5) * 64 + 43);
  assert.throws(() => decodeDictdNumber('B*'), /bad base64 digit '\*'/);
  assert.throws(() => decodeDictdNumber(''), /bad base64 number/);
  const { index, dict } = build();
  const idx = parseDictdIndex(index);
  assert.equal(idx.length, 3);
  assert.equal(dictdEntryText(dict, idx[2]), ENTRIES[2]);
  assert.throws(() => parseDictdIndex('a\tB\tC\nb\tB\n'), /line 2: expected 3 tab-separated fields, got 2/);
  assert.throws(() => parseDictdIndex(index, { maxEntries: 2 }), /more than 2 entries/);
  assert.throws(() => dictdEntryText(dict, { headword: 'x', offset: dict.length - 2, length: 5 }), /runs past the end/);
  assert.throws(() => dictdEntryText(dict, idx[0], { maxEntryBytes: 10 }), /over the budget of 10/);
});

test('FreeDict entries: headword, cleaned translations, usage examples', () => {
  assert.deepEqual(parseFreedictEntry(ENTRIES[0]), {
    headword: 'abblitzen lassen',
    translations: ['rebuffed', 'spurred'],
    examples: [['jdn. abblitzen lassen', 'send sb. packing']],
  });
  // the domain label and tags go; the inline abbreviation IPA is not a translation
  assert.deepEqual(parseFreedictEntry(ENTRIES[1]), {
    headword: 'Paragraph',
    translations: ['section s.'],
    examples: [['Paragraph 15, Absatz 3', 'section 15, subsection 3']],
  });
  assert.deepEqual(parseFreedictEntry(ENTRIES[2]).translations, ['hospital', 'infirmary (old)']);
  const { index, dict } = build();
  const groups = freedictPairs(parseDictdIndex(index), dict);
  assert.deepEqual(
    groups.map((g) => g.source),
    ['abblitzen lassen', 'jdn. abblitzen lassen', 'Paragraph', 'Paragraph 15, Absatz 3', 'Krankenhaus'],
  );
  assert.equal(freedictPairs(parseDictdIndex(index), dict, { maxChars: 12 }).length, 2);
});

test('readDictd: a dictzip (gzip) file round trip, and the decompression budget', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-dictd-'));
  try {
    const { index, dict } = build();
    writeFileSync(join(dir, 'd.index'), index);
    writeFileSync(join(dir, 'd.dict.dz'), gzipSync(dict));
    const r = readDictd(join(dir, 'd'));
    assert.equal(r.index.length, 3);
    assert.deepEqual(Buffer.from(r.dict), dict);
    assert.throws(() => readDictd(join(dir, 'd'), { maxDictBytes: 100 }), /inflates past the budget of 100 bytes/);
    writeFileSync(join(dir, 'bad.index'), index);
    writeFileSync(join(dir, 'bad.dict.dz'), Buffer.from('not gzip'));
    assert.throws(() => readDictd(join(dir, 'bad')), /not a valid gzip\/dictzip file/);
    assert.throws(() => readDictd(join(dir, 'none')), /none\.index does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('splitByHeadword holds out whole source phrases, deterministically', () => {
  const groups = Array.from({ length: 2000 }, (_, i) => ({ source: `wort${i}`, targets: [`word${i}`] }));
  const [train, held] = splitByHeadword(groups, 0.1);
  assert.equal(train.length + held.length, 2000);
  assert.ok(held.length > 150 && held.length < 250, `${held.length} held out`);
  const [, again] = splitByHeadword([...groups].reverse(), 0.1);
  assert.deepEqual(new Set(again.map((g) => g.source)), new Set(held.map((g) => g.source)));
  // case does not move a phrase across the split
  const [, heldUpper] = splitByHeadword(
    held.map((g) => ({ ...g, source: g.source.toUpperCase() })),
    0.1,
  );
  assert.equal(heldUpper.length, held.length);
});

test('the German-English FreeDict dictionary (Debian dict-freedict-deu-eng)', {
  skip: existsSync(`${FREEDICT_DEU_ENG}.index`)
    ? false
    : `needs ${FREEDICT_DEU_ENG}.index (apt install dict-freedict-deu-eng)`,
}, () => {
  const { index, dict } = readDictd(FREEDICT_DEU_ENG);
  assert.ok(index.length > 400_000, `${index.length} index entries`);
  const groups = freedictPairs(index, dict, { sample: 97 });
  assert.ok(groups.length > 2000, `${groups.length} groups`);
  assert.ok(groups.filter((g) => g.source.includes(' ')).length > 300, 'multi-word sources');
  const kh = index.filter((e) => e.headword === 'krankenhaus').map((e) => parseFreedictEntry(dictdEntryText(dict, e)));
  assert.ok(
    kh.some((e) => e.headword === 'Krankenhaus' && e.translations.includes('hospital')),
    JSON.stringify(kh),
  );
});
