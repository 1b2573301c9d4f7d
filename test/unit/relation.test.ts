import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRelation, parseProvides, parseRelations, type RelationContext, type RelationGroup } from '../../src/debian/relation.js';
import { isAlbaError } from '../../src/errors.js';

const PARSE: Array<{ field: string; context?: RelationContext; want: RelationGroup[] }> = [
  { field: '', want: [] },
  { field: 'libc6', want: [[{ name: 'libc6' }]] },
  {
    field: 'a (>= 1.0) | b:any, c [amd64] <!nocheck>',
    context: { arch: 'amd64' },
    want: [
      [
        { name: 'a', op: '>=', version: '1.0' },
        { name: 'b', archQualifier: 'any' },
      ],
      [{ name: 'c' }],
    ],
  },
  { field: 'c [amd64]', context: { arch: 'arm64' }, want: [] },
  { field: 'c [!amd64 !i386]', context: { arch: 'i386' }, want: [] },
  { field: 'c [!amd64 !i386]', context: { arch: 'arm64' }, want: [[{ name: 'c' }]] },
  { field: 'c [linux-any]', context: { arch: 'riscv64' }, want: [[{ name: 'c' }]] },
  { field: 'c [any-arm]', context: { arch: 'armhf' }, want: [[{ name: 'c' }]] },
  { field: 'c [amd64]', want: [[{ name: 'c' }]] },
  { field: 'c <stage1>', want: [] },
  { field: 'c <stage1>', context: { profiles: ['stage1'] }, want: [[{ name: 'c' }]] },
  { field: 'c <!nocheck !stage1> <stage2>', context: { profiles: ['stage1'] }, want: [] },
  { field: 'c <!nocheck !stage1> <stage2>', context: { profiles: ['stage1', 'stage2'] }, want: [[{ name: 'c' }]] },
  { field: 'a [i386] | b', context: { arch: 'amd64' }, want: [[{ name: 'b' }]] },
  {
    field: 'libc6 (>= 2.34),\n libgcc-s1(>=3.0) ,libstdc++6 ( << 13~ )',
    want: [
      [{ name: 'libc6', op: '>=', version: '2.34' }],
      [{ name: 'libgcc-s1', op: '>=', version: '3.0' }],
      [{ name: 'libstdc++6', op: '<<', version: '13~' }],
    ],
  },
  { field: 'a (< 1), b (> 2:1.0-1)', want: [[{ name: 'a', op: '<=', version: '1' }], [{ name: 'b', op: '>=', version: '2:1.0-1' }]] },
  {
    field: 'a (= 1), b (>> 1), c (<= 1)',
    want: [[{ name: 'a', op: '=', version: '1' }], [{ name: 'b', op: '>>', version: '1' }], [{ name: 'c', op: '<=', version: '1' }]],
  },
  { field: 'python3:native (>= 3.11)', want: [[{ name: 'python3', archQualifier: 'native', op: '>=', version: '3.11' }]] },
];

test('parseRelations reads groups, alternatives, qualifiers and restrictions', () => {
  for (const { field, context, want } of PARSE) assert.deepEqual(parseRelations(field, context), want, field);
});

test('parseRelations rejects malformed fields with an UNSATISFIABLE error naming the part', () => {
  for (const field of ['a (>= )', 'a | | b', 'a (~ 1)', 'a b', '(>= 1)']) {
    assert.throws(
      () => parseRelations(field),
      (err: unknown) => isAlbaError(err, 'UNSATISFIABLE') && err.message.includes(field),
      field,
    );
  }
});

test('parseProvides keeps = versions only', () => {
  assert.deepEqual(parseProvides('foo (= 1.2), bar, baz (>= 3), qux:any'), [
    { name: 'foo', version: '1.2' },
    { name: 'bar' },
    { name: 'baz' },
    { name: 'qux' },
  ]);
});

test('formatRelation writes control-file syntax back', () => {
  const cases: Array<[string, string]> = [
    ['a (>= 1.0) | b:any', 'a (>= 1.0) | b:any'],
    ['a(<<2)', 'a (<< 2)'],
    ['a (> 1)', 'a (>= 1)'],
  ];
  for (const [field, want] of cases) assert.equal(formatRelation(parseRelations(field)[0]!), want, field);
});
