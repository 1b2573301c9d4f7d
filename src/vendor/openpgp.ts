/**
 * The parts of OpenPGP.js alba uses (debian/keyring.ts, debian/release.ts). The CLI bundles this
 * module apart (scripts/bundle.mjs: dist/alba/vendor-openpgp.cjs), so that only a command that
 * checks a Release signature loads and compiles it.
 */
export { createMessage, readCleartextMessage, readKeys, readSignature, verify } from 'openpgp';
