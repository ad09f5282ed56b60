// A literal port of llama2.c run.c `encode` and `decode` (karpathy/llama2.c), O(n^2), used only as
// the oracle for LlamaTokenizer. It works on raw pieces as the .bin stores them ('\n<s>\n' for id 1,
// '<0x0A>' for byte pieces) and, like run.c, lets every piece (BOS included) take part in merges.
import type { LlamaPiece } from '../../src/text/sentencepiece.js';

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { ignoreBOM: true });

export function llama2cEncode(vocab: readonly LlamaPiece[], text: string, bos: boolean, eos: boolean): number[] {
  // str_lookup: run.c bsearches a sorted copy; the tok512 pieces are distinct, so a Map is the same.
  const lookup = new Map<string, number>();
  vocab.forEach((v, i) => {
    if (!lookup.has(v.piece)) lookup.set(v.piece, i);
  });
  const tokens: number[] = [];
  if (bos) tokens.push(1);
  const bytes = enc.encode(text);
  if (bytes.length > 0) tokens.push(lookup.get(' ') ?? -1);
  let buf: number[] = [];
  for (let c = 0; c < bytes.length; c++) {
    if ((bytes[c] & 0xc0) !== 0x80) buf = []; // a new codepoint starts
    buf.push(bytes[c]);
    const nextByte = c + 1 < bytes.length ? bytes[c + 1] : 0;
    if ((nextByte & 0xc0) === 0x80 && buf.length < 4) continue;
    const id = lookup.get(dec.decode(Uint8Array.from(buf)));
    if (id !== undefined) tokens.push(id);
    else for (const b of buf) tokens.push(b + 3); // byte fallback: <0x00> is id 3
    buf = [];
  }
  for (;;) {
    let bestScore = -1e10;
    let bestId = -1;
    let bestIdx = -1;
    for (let i = 0; i < tokens.length - 1; i++) {
      const id = lookup.get(vocab[tokens[i]].piece + vocab[tokens[i + 1]].piece);
      if (id !== undefined && vocab[id].score > bestScore) {
        bestScore = vocab[id].score;
        bestId = id;
        bestIdx = i;
      }
    }
    if (bestIdx === -1) break;
    tokens.splice(bestIdx, 2, bestId);
  }
  if (eos) tokens.push(2);
  return tokens;
}

/** run.c `decode` applied to each token after the first, as its generate loop prints them. */
export function llama2cDecode(vocab: readonly LlamaPiece[], ids: readonly number[]): string {
  const out: number[] = [];
  for (let i = 1; i < ids.length; i++) {
    let piece = vocab[ids[i]].piece;
    if (ids[i - 1] === 1 && piece[0] === ' ') piece = piece.slice(1);
    const m = /^<0x([0-9A-F]{2})>/.exec(piece);
    if (m) out.push(parseInt(m[1], 16));
    else out.push(...enc.encode(piece));
  }
  return dec.decode(Uint8Array.from(out));
}
