// nb.io and its byte-level layer together, as the io tests use them.
export * from '../../src/io/index.js';
export * from '../../src/io/internals.js';
