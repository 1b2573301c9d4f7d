import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readAdditionalCas } from '../../src/layer/additional-cas.js';
import { isAlbaError } from '../../src/errors.js';
import { chooseAlternatives, maintainerFacts, postinstActions, staticAlternatives } from '../../src/layer/maintainer-scripts.js';
import { planMaintainerLayer } from '../../src/layer/maintainer-layer.js';
import { pemBlocks } from '../../src/layer/ca-bundle.js';
import { pkcs12TrustStore } from '../../src/layer/pkcs12.js';
import { requireTool } from '../helpers/tools.js';

const dir = await mkdtemp(join(tmpdir(), 'alba-lang-unit-'));
after(() => rm(dir, { recursive: true, force: true }));

const JINFO = `name=java-1.17.0-openjdk-amd64
alias=java-17-openjdk-amd64
priority=1711
section=main

hl java /usr/lib/jvm/java-17-openjdk-amd64/bin/java
hl keytool /usr/lib/jvm/java-17-openjdk-amd64/bin/keytool
hl jexec /usr/lib/jvm/java-17-openjdk-amd64/lib/jexec
jdkhl javac /usr/lib/jvm/java-17-openjdk-amd64/bin/javac
`;
const JRE_FILES = new Set([
  'usr/lib/jvm/java-17-openjdk-amd64/bin/java',
  'usr/lib/jvm/java-17-openjdk-amd64/bin/keytool',
  'usr/lib/jvm/java-17-openjdk-amd64/lib/jexec',
  'usr/lib/jvm/java-17-openjdk-amd64/man/man1/java.1.gz',
]);
/** The shape of openjdk's postinst: its update-alternatives call is computed in a loop. */
const JRE_POSTINST = `#!/bin/sh
set -e
basedir=/usr/lib/jvm/java-17-openjdk-amd64
for i in $jre_tools; do
    update-alternatives \\
        --install /usr/bin/$i $i $basedir/bin/$i $priority $slave1
done
[ -d /etc/.java ] || mkdir -m 755 /etc/.java
dpkg-trigger update-ca-certificates-java
`;
const NODE_POSTINST = `#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
    update-alternatives --install /usr/bin/js js /usr/bin/nodejs 200 \\
                        --slave /usr/share/man/man1/js.1.gz js.1.gz /usr/share/man/man1/nodejs.1.gz
fi
`;

test("alternatives: a JRE's .jinfo gives /usr/bin/TOOL → /etc/alternatives/TOOL → the JVM's tool, for the tools the image holds", () => {
  const jre = maintainerFacts(
    'openjdk-17-jre-headless',
    JRE_POSTINST,
    [{ path: 'usr/lib/jvm/.java-1.17.0-openjdk-amd64.jinfo', text: JINFO }],
    JRE_FILES,
  );
  const { links, chosen } = chooseAlternatives([{ name: 'openjdk-17-jre-headless', facts: jre }]);
  assert.deepEqual(
    chosen.map((a) => a.name),
    ['java', 'jexec', 'keytool'],
    'javac is in the .jinfo but not in the image',
  );
  assert.deepEqual(
    links,
    [
      { path: 'etc/alternatives/java', target: '/usr/lib/jvm/java-17-openjdk-amd64/bin/java' },
      { path: 'etc/alternatives/java.1.gz', target: '/usr/lib/jvm/java-17-openjdk-amd64/man/man1/java.1.gz' },
      { path: 'etc/alternatives/jexec', target: '/usr/lib/jvm/java-17-openjdk-amd64/lib/jexec' },
      { path: 'etc/alternatives/keytool', target: '/usr/lib/jvm/java-17-openjdk-amd64/bin/keytool' },
      { path: 'usr/bin/java', target: '/etc/alternatives/java' },
      { path: 'usr/bin/jexec', target: '/etc/alternatives/jexec' },
      { path: 'usr/bin/keytool', target: '/etc/alternatives/keytool' },
      { path: 'usr/share/man/man1/java.1.gz', target: '/etc/alternatives/java.1.gz' },
    ],
    'a slave only where its target exists (keytool has no man page here)',
  );
  assert.deepEqual(
    jre.actions.map((a) => [a.action, a.outcome]),
    [
      ['update-alternatives', 'made'],
      ['update-ca-certificates-java', 'made'],
      ['services, triggers, binfmt, upgrades', 'not-needed'],
      ['create or change files (/etc/.java)', 'not-made'],
    ],
  );
});

test('alternatives: a literal update-alternatives line is read with its slave; the highest priority wins whatever the package order', () => {
  const node = maintainerFacts('nodejs', NODE_POSTINST, [], new Set(['usr/bin/nodejs', 'usr/share/man/man1/nodejs.1.gz']));
  assert.deepEqual(node.alternatives, [
    {
      name: 'js',
      link: '/usr/bin/js',
      path: '/usr/bin/nodejs',
      priority: 200,
      slaves: [{ link: '/usr/share/man/man1/js.1.gz', name: 'js.1.gz', path: '/usr/share/man/man1/nodejs.1.gz' }],
      from: 'nodejs',
    },
  ]);
  const other = maintainerFacts(
    'rhino',
    'update-alternatives --install /usr/bin/js js /usr/bin/rhino 100\n',
    [],
    new Set(['usr/bin/rhino']),
  );
  for (const order of [
    [node, other],
    [other, node],
  ]) {
    const { links } = chooseAlternatives(order.map((facts) => ({ name: facts === node ? 'nodejs' : 'rhino', facts })));
    assert.deepEqual(
      links.find((l) => l.path === 'etc/alternatives/js'),
      { path: 'etc/alternatives/js', target: '/usr/bin/nodejs' },
    );
  }
  const missing = maintainerFacts('nodejs', NODE_POSTINST, [], new Set());
  assert.deepEqual(missing.alternatives, [], 'no link to a target the package does not ship');
});

test('postinst: computed update-alternatives without a .jinfo, py3compile and adduser are "not made" (warned about); the plan lists them', () => {
  assert.equal(staticAlternatives(JRE_POSTINST, 'x').dynamic, 1);
  const actions = postinstActions(`${JRE_POSTINST}py3compile -p foo\nadduser --system app\n`, false);
  assert.deepEqual(
    actions.filter((a) => a.outcome === 'not-made').map((a) => a.action),
    ['update-alternatives', 'byte-compile Python modules', 'create accounts', 'create or change files (/etc/.java)'],
  );
  const facts = maintainerFacts('thing', 'adduser --system app\n', [], new Set());
  const plan = planMaintainerLayer([{ name: 'thing', facts }, { name: 'libc6' }], []);
  assert.deepEqual(
    plan.notMade.map((p) => [p.name, p.actions.map((a) => a.action)]),
    [['thing', ['create accounts']]],
  );
  assert.equal(plan.javaCacerts, undefined, 'no JRE, no Java trust store');
});

// the tests' own CA: without openssl, a failure with CI=true (requireTool), a skip elsewhere; openssl there but failing is a failure
const haveOpenssl = requireTool('openssl');
const CA = spawnSync(
  'openssl',
  ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '-', '-days', '1', '-subj', '/CN=unit CA'],
  { encoding: 'utf8' },
);
const caOnly = CA.status === 0 ? `${/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/.exec(CA.stdout)?.[0]}` : '';

test(
  'Java trust store: same certificates ⇒ same bytes; keytool reads it with the password changeit, every entry trusted',
  { skip: haveOpenssl ? false : 'openssl is not installed' },
  async (t) => {
    assert.equal(CA.status, 0, `openssl req: ${CA.stderr}`);
    const der = pemBlocks(caOnly).certificates[0]!;
    const certs = [
      { alias: 'debian:one.pem', der },
      { alias: 'local:two.crt', der },
    ];
    const a = pkcs12TrustStore(certs);
    assert.deepEqual(pkcs12TrustStore(certs), a, 'deterministic');
    assert.notDeepEqual(pkcs12TrustStore([certs[1]!, certs[0]!]), a, 'the order given is kept');
    assert.throws(() => pkcs12TrustStore([certs[0]!, certs[0]!]), /duplicate trust store alias/);
    if (spawnSync('sh', ['-c', 'command -v keytool'], { stdio: 'ignore' }).status !== 0) {
      t.diagnostic('no keytool on this host: the store is read by the JRE of the java17 image in lang-real-mirror.test.ts');
      return;
    }
    const file = join(dir, 'store.p12');
    await writeFile(file, a);
    const list = spawnSync('keytool', ['-list', '-keystore', file, '-storepass', 'changeit'], { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stdout + list.stderr);
    assert.match(list.stdout, /Your keystore contains 2 entries/);
    assert.match(list.stdout, /^debian:one\.pem, .*trustedCertEntry/m);
    assert.match(list.stdout, /^local:two\.crt, .*trustedCertEntry/m);
    const wrong = spawnSync('keytool', ['-list', '-keystore', file, '-storepass', 'changeme'], { encoding: 'utf8' });
    assert.notEqual(wrong.status, 0, 'the MAC is checked');
  },
);

test(
  'additional CA files: certificates only — a private key, no certificate or a broken one is CA_CERTIFICATE_INVALID',
  { skip: haveOpenssl ? false : 'openssl is not installed' },
  async () => {
    assert.equal(CA.status, 0, `openssl req: ${CA.stderr}`);
    const good = join(dir, 'company.pem');
    await writeFile(good, caOnly);
    const [read] = await readAdditionalCas([good]);
    assert.equal(read?.path, 'usr/local/share/ca-certificates/company.crt');
    assert.deepEqual(
      read?.certificates.map((c) => c.alias),
      ['local:company.crt'],
    );
    const cases: [string, string, RegExp][] = [
      ['with-key.pem', CA.stdout, /holds a PRIVATE KEY block/],
      ['empty.pem', 'nothing here\n', /holds no PEM certificate/],
      ['broken.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /not a valid X\.509 certificate/],
    ];
    for (const [name, text, message] of cases) {
      const file = join(dir, name);
      await writeFile(file, text);
      await assert.rejects(
        readAdditionalCas([file]),
        (err) => isAlbaError(err, 'CA_CERTIFICATE_INVALID') && message.test(err.message),
        name,
      );
    }
    await assert.rejects(readAdditionalCas([join(dir, 'absent.pem')]), (err) => isAlbaError(err, 'FILE_MISSING'));
  },
);

test('recipe: additional-ca-certificates is a list of files, resolved against the recipe, one image name each', async () => {
  const { checkRecipe } = await import('../../src/recipe/parse.js');
  const base = 'name: test/app\narchs: [amd64]\nsnapshot: 20250520T000000Z\ndist: bookworm\npackages: [libc6]\n';
  const ok = checkRecipe(`${base}additional-ca-certificates: [certs/company.pem, other.crt]\n`, 'r.yaml', '/recipes');
  assert.deepEqual(ok.issues, []);
  assert.deepEqual(ok.recipe?.additionalCaCertificates, ['/recipes/certs/company.pem', '/recipes/other.crt']);
  assert.equal(
    checkRecipe(base, 'r.yaml', '/recipes').recipe?.additionalCaCertificates,
    undefined,
    'absent unless given (recipes without it build as before)',
  );
  const issues = (text: string) =>
    checkRecipe(`${base}${text}`, 'r.yaml', '/recipes').issues.map((i) => `${i.line}:${i.col}: ${i.message}`);
  assert.deepEqual(issues('additional-ca-certificates: [a/company.pem, b/company.crt]\n'), [
    '6:45: additional-ca-certificates[1]: "b/company.crt" would be /usr/local/share/ca-certificates/company.crt, as the file of line 6',
  ]);
  assert.deepEqual(issues('additional-ca-certificates: company.pem\n'), [
    '6:29: additional-ca-certificates: must be a list of strings, got a string',
  ]);
  assert.deepEqual(issues('aditional-ca-certificates: [a.pem]\n'), [
    '6:1: unknown key "aditional-ca-certificates" — did you mean "additional-ca-certificates"?',
  ]);
});
