// nabla's version, the one in package.json. A constant rather than a read of package.json, so the core
// stays free of fs and works bundled for a browser. test/package/version.test.ts fails when the two differ;
// `npm version` rewrites this file (the "version" script in package.json).
export const version = '0.1.0';
