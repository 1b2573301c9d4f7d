import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDep5 } from '../../src/sbom/dep5.js';
import { spdxLicenseId } from '../../src/sbom/license-ids.js';

const FORMAT = 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n';

/** Excerpt of Debian 12's netbase copyright file. */
const NETBASE = `${FORMAT}Comment:
 This package was created by Peter Tobias tobias@et-inf.fho-emden.de on
 Wed, 24 Aug 1994 21:33:28 +0200 and maintained by Anthony Towns

Files: *
Copyright:
 Copyright (c) 1994-1998 Peter Tobias
 Copyright (c) 2002-2022 Marco d'Itri
License: GPL-2
 This program is free software; you can redistribute it and/or modify
 it under the terms of the GNU General Public License, version 2, as
 published by the Free Software Foundation.
 .
 On Debian systems, the complete text of the GNU General Public License
 version 2 can be found in '/usr/share/common-licenses/GPL-2'.
`;

/** Debian 12's tzdata copyright file. */
const TZDATA = `${FORMAT}Source: https://www.iana.org/time-zones
Upstream-Contact: The Internet Assigned Numbers Authority (IANA)
                  Commentary should be addressed to tz@iana.org

Files: *
Copyright: The Internet Assigned Numbers Authority (IANA)
License: public-domain
 This database is in the public domain.
`;

/** Excerpt of Debian 12's base-files copyright file (free text, not DEP-5). */
const BASE_FILES = `This is the Debian prepackaged version of the Debian Base System
Miscellaneous files. These files were written by Ian Murdock
<imurdock@debian.org> and Bruce Perens <bruce@pixar.com>.

Copyright (C) 1995-2011 Software in the Public Interest.

This program is free software; you can redistribute it and/or modify
it under the terms of the GNU General Public License as published by
the Free Software Foundation; either version 2 of the License, or
(at your option) any later version.
`;

/** A DEP-5 file with the given Files-paragraph licence lines and extra paragraphs. */
function dep5(licenses: string[], extra = ''): string {
  const files = licenses.map((l, i) => `Files: dir${i}/*\nCopyright: someone\nLicense: ${l}\n`).join('\n');
  return `${FORMAT}\n${files}${extra === '' ? '' : `\n${extra}`}`;
}

describe('parseDep5 on real Debian copyright files', () => {
  it('netbase: GPL-2 → GPL-2.0-only', () => {
    assert.deepEqual(parseDep5(NETBASE), { expression: 'GPL-2.0-only', extracted: [] });
  });
  it('tzdata: public-domain → LicenseRef-public-domain with the text of the file', () => {
    assert.deepEqual(parseDep5(TZDATA), {
      expression: 'LicenseRef-public-domain',
      extracted: [{ id: 'LicenseRef-public-domain', name: 'public-domain', text: 'This database is in the public domain.' }],
    });
  });
  it('base-files: not machine-readable → undefined (NOASSERTION, never a guess)', () => {
    assert.equal(parseDep5(BASE_FILES), undefined);
  });
});

describe('parseDep5 expressions', () => {
  const cases: { licenses: string[]; expression: string }[] = [
    { licenses: ['GPL-2+'], expression: 'GPL-2.0-or-later' },
    { licenses: ['LGPL-2.1+', 'GPL-2+'], expression: 'GPL-2.0-or-later AND LGPL-2.1-or-later' },
    { licenses: ['BSD-3-clause', 'Expat', 'BSD-3-clause'], expression: 'BSD-3-Clause AND MIT' },
    { licenses: ['GPL-3+ or Artistic-2.0'], expression: 'GPL-3.0-or-later OR Artistic-2.0' },
    { licenses: ['GPL-3+ or Artistic-2.0', 'ISC'], expression: '(GPL-3.0-or-later OR Artistic-2.0) AND ISC' },
    { licenses: ['GPL-2+ and BSD-2-clause', 'GPL-2+'], expression: 'BSD-2-Clause AND GPL-2.0-or-later' },
    { licenses: ['MPL-2.0 or GPL-2+ and Zlib'], expression: 'MPL-2.0 OR GPL-2.0-or-later AND Zlib' },
    { licenses: ['MPL-2.0 or GPL-2+, and Zlib'], expression: '(MPL-2.0 OR GPL-2.0-or-later) AND Zlib' },
    { licenses: ['Apache-2.0 with LLVM exception'], expression: 'Apache-2.0 WITH LLVM-exception' },
    { licenses: ['GPL-3+ with Bison-2.2 exception'], expression: 'GPL-3.0-or-later WITH Bison-exception-2.2' },
    { licenses: ['Perl', 'MIT'], expression: '(Artistic-1.0-Perl OR GPL-1.0-or-later) AND MIT' },
    { licenses: ['MPL-1.1+'], expression: 'MPL-1.1+' },
    { licenses: ['GFDL-NIV-1.3+'], expression: 'GFDL-1.3-no-invariants-or-later' },
    { licenses: ['lgpl-3', 'AGPL-3+', 'GPL-1+'], expression: 'AGPL-3.0-or-later AND GPL-1.0-or-later AND LGPL-3.0-only' },
  ];
  for (const c of cases) {
    it(`${c.licenses.join(' | ')} → ${c.expression}`, () => {
      assert.deepEqual(parseDep5(dep5(c.licenses)), { expression: c.expression, extracted: [] });
    });
  }
});

describe('parseDep5 LicenseRefs', () => {
  it('takes the text of an unknown licence from its standalone License paragraph', () => {
    const text = dep5(
      ['GPL-2+ with OpenSSL exception', 'SomeCorp-1'],
      'License: SomeCorp-1\n Permission is granted\n .\n to do anything.\n',
    );
    assert.deepEqual(parseDep5(text), {
      expression: 'LicenseRef-GPL-2-plus-with-OpenSSL-exception AND LicenseRef-SomeCorp-1',
      extracted: [
        {
          id: 'LicenseRef-GPL-2-plus-with-OpenSSL-exception',
          name: 'GPL-2+ with OpenSSL exception',
          text: 'The Debian copyright file names the licence "GPL-2+ with OpenSSL exception" without giving its text.',
        },
        { id: 'LicenseRef-SomeCorp-1', name: 'SomeCorp-1', text: 'Permission is granted\n\nto do anything.' },
      ],
    });
  });
  const opaque: [string, string][] = [
    ['GPL-2+ or', 'LicenseRef-GPL-2-plus-or'],
    ['GPL-2+ with OpenSSL', 'LicenseRef-GPL-2-plus-with-OpenSSL'],
    ['GPL-2+, MIT', 'LicenseRef-GPL-2-plus-MIT'],
    ['BSD-3-clause and/or GPL-3+', 'LicenseRef-BSD-3-clause-and-or-GPL-3-plus'],
    ['MIT/X Consortium License', 'LicenseRef-MIT-X-Consortium-License'],
  ];
  for (const [line, ref] of opaque) {
    it(`keeps a line that is not a DEP-5 expression whole: ${line} → ${ref}`, () => {
      const parsed = parseDep5(dep5([line, 'Zlib']));
      assert.equal(parsed?.expression, `${ref} AND Zlib`);
      assert.deepEqual(
        parsed?.extracted.map((e) => [e.id, e.name]),
        [[ref, line]],
      );
    });
  }
  it('maps known exceptions: GPL-2 with Linux-syscall-note exception', () => {
    assert.equal(parseDep5(dep5(['GPL-2 with Linux-syscall-note exception']))?.expression, 'GPL-2.0-only WITH Linux-syscall-note');
  });
  it('turns a GNU version that does not exist into a LicenseRef, not a guess', () => {
    assert.equal(parseDep5(dep5(['GPL-2.1+']))?.expression, 'LicenseRef-GPL-2.1-plus');
  });
  it('prefers the standalone paragraph text over a Files paragraph body', () => {
    const text = `${FORMAT}\nFiles: *\nCopyright: x\nLicense: Foo\n short\n\nLicense: Foo\n the full text\n`;
    assert.equal(parseDep5(text)?.extracted[0]?.text, 'the full text');
  });
});

describe('parseDep5 refuses what it cannot read fully', () => {
  const cases: { name: string; text: string }[] = [
    {
      name: 'old DEP-5 draft format URL',
      text: 'Format-Specification: http://svn.debian.org/wsvn/dep/web/deps/dep5.mdwn?rev=135\n\nFiles: *\nLicense: GPL-2+\n',
    },
    { name: 'no Files paragraph', text: `${FORMAT}\nLicense: GPL-2+\n text\n` },
    { name: 'a Files paragraph without License', text: `${FORMAT}\nFiles: *\nCopyright: x\n\nFiles: a/*\nLicense: MIT\n` },
    { name: 'a License field with no name on its first line', text: `${FORMAT}\nFiles: *\nCopyright: x\nLicense:\n QEMU is GPL-2.\n` },
    { name: 'empty text', text: '' },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(parseDep5(c.text), undefined));
  }
});

describe('spdxLicenseId', () => {
  const cases: [string, string | undefined][] = [
    ['GPL-2', 'GPL-2.0-only'],
    ['GPL-2.0+', 'GPL-2.0-or-later'],
    ['LGPL-2+', 'LGPL-2.0-or-later'],
    ['bsd-3-clause', 'BSD-3-Clause'],
    ['zlib', 'Zlib'],
    ['Expat', 'MIT'],
    ['public-domain', 'LicenseRef-public-domain'],
    ['GPL', undefined],
    ['LGPL-2.2', undefined],
    ['permissive', undefined],
  ];
  for (const [name, id] of cases) it(`${name} → ${String(id)}`, () => assert.equal(spdxLicenseId(name), id));
});
