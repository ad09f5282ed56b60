// nb.audio.speech: the espeak-ng speech corpus and the speech models trained on it (keyword spotting,
// digit-string recognition with CTC).
export * from './corpus.js';
export { logMel, batchOf, N_MELS, HOP } from './features.js';
export * from './kws.js';
export * from './asr.js';
export * from './synth.js';
