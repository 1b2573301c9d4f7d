/**
 * The pushes of the gc tests, oldest first: 3 release, 2 extra and 12 dev tags (`latest` with d11,
 * d03 with 1.1.0: one push, one digest), each push another image of the fixture sharing its base
 * layers. `--keep 5` of these must keep every release and the newest extra and dev tags.
 */
export const GC_PUSHES: readonly (readonly string[])[] = [
  ['1.0.0'],
  ['d01'],
  ['d02'],
  ['1.1.0', 'd03'],
  ['d04'],
  ['2.1.0-rc.1'],
  ['d05'],
  ['d06'],
  ['d07'],
  ['2.0.0'],
  ['d08'],
  ['2.1.0-rc.2'],
  ['d09'],
  ['d10'],
  ['d11', 'latest'],
];
