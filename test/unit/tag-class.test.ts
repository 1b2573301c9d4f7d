import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tagClass, type TagClass } from '../../src/lifecycle/tag-class.js';

const TABLE: [string, TagClass][] = [
  ['0.8.2', 'release'],
  ['v0.8.2', 'release'],
  ['v1.2.3', 'release'],
  ['10.20.30', 'release'],
  ['1.2', 'dev'],
  ['1', 'dev'],
  ['01.2.3', 'dev'],
  ['1.02.3', 'dev'],
  ['0.8.2+feat', 'extra'],
  ['v0.8.0-rc1', 'extra'],
  ['1.2.3-rc.1', 'extra'],
  ['1.2.3+build.5', 'extra'],
  ['1.2.3-alpha.1+build.5', 'extra'],
  ['1.2.3-rc.01', 'dev'],
  ['1.2.3-', 'dev'],
  ['1.2.3+', 'dev'],
  ['latest', 'dev'],
  ['main', 'dev'],
  ['feature-x', 'dev'],
  ['3f2a9c1e0b7d4a6f8e5c2b1a0d9f8e7c6b5a4d3c', 'dev'],
  ['V1.2.3', 'dev'],
];

for (const [tag, expected] of TABLE) test(`${tag} is ${expected}`, () => assert.equal(tagClass(tag), expected));
