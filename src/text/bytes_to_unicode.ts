// GPT-2's reversible byte <-> printable character table (openai/gpt-2 encoder.py `bytes_to_unicode`).
//
// NOTE: byte-level BPE works on bytes, but its vocab files are text; each of the 256 bytes is
// given a visible character so that no token contains whitespace or control characters. The 188
// printable Latin-1 bytes map to themselves; the other 68 (0x00-0x20, 0x7F-0xA0, 0xAD) map, in
// order, to U+0100.. (so the space 0x20 becomes 'Ġ' U+0120 and '\n' becomes 'Ċ' U+010A).

/** BYTE_TO_CHAR[b] is the character that stands for byte b. */
export const BYTE_TO_CHAR: readonly string[] = buildTable();

/** The inverse of BYTE_TO_CHAR, keyed by the character's code (all codes are < 0x144). */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

function buildTable(): string[] {
  const printable = (b: number): boolean =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  }
  return table;
}

/** The byte-level string of some UTF-8 bytes, e.g. bytesToChars(utf8(' hi')) === 'Ġhi'. */
export function bytesToChars(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}
