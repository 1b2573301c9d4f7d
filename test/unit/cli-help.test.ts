import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { bigLayout } from '../helpers/big-layout.js';
import { albaBin, explainRun, runAlba } from '../helpers/run-alba.js';
import { requireTool } from '../helpers/tools.js';

// The command line: help per command (with an example), completion scripts, suggestions for
// mistakes (USAGE, exit 2), and the lazy loading of each command's library code.

const work = await mkdtemp(join(tmpdir(), 'alba-cli-help-'));
after(() => rm(work, { recursive: true, force: true }));

describe('help', () => {
  const cases: [string[], RegExp][] = [
    [['build', '--help'], /^Usage: alba build \[options\] <recipe>/],
    [['container', 'push', '--help'], /^Usage: alba container push \[options\] <src> <target\.\.\.>/],
    [['help', 'container', 'gc'], /^Usage: alba container gc \[options\] <target>/],
    [['help', 'build'], /^Usage: alba build /],
    [['static', 'rm', '-h'], /^Usage: alba static rm /],
  ];
  for (const [args, usage] of cases) {
    test(`alba ${args.join(' ')}: usage, options and an example on stdout, exit 0`, async () => {
      const run = await runAlba(args);
      assert.equal(run.status, 0, explainRun(run));
      assert.match(run.stdout, usage);
      assert.match(run.stdout, /\nOptions:\n/);
      assert.match(run.stdout, /\nExample:\n {2}alba /);
      assert.equal(run.stderr, '');
    });
  }

  test('alba help gc: the usage of each command named gc (container and static)', async () => {
    const run = await runAlba(['help', 'gc']);
    assert.equal(run.status, 0, explainRun(run));
    assert.match(run.stdout, /Usage: alba container gc .*[\s\S]*Usage: alba static gc /);
    assert.match(run.stdout, /--keep <n>/);
  });

  test('alba, alba --help and alba help: the commands; --version: the version', async () => {
    for (const args of [[], ['--help'], ['help']]) {
      const run = await runAlba(args);
      assert.equal(run.status, 0, explainRun(run));
      assert.match(run.stdout, /^Usage: alba /);
      for (const command of ['lock', 'build', 'sbom', 'container', 'static', 'completion'])
        assert.match(run.stdout, new RegExp(`\\n {2}${command} `));
    }
    const version = await runAlba(['--version']);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});

describe('mistakes are USAGE (exit 2) with a suggestion', () => {
  const cases: [string[], RegExp, RegExp][] = [
    [['biuld', 'x.yaml'], /error\[USAGE\]: .*unknown command 'biuld'/, /hint: did you mean build\?/],
    [['build', 'x.yaml', '--frmat', 'oci'], /error\[USAGE\]: alba build: unknown option '--frmat'/, /hint: did you mean --format\?/],
    [['container', 'pish'], /error\[USAGE\]: unknown subcommand "container pish"/, /hint: did you mean "alba container push"\?/],
    [
      ['container', 'push', '--tga', 'a:1', 'x', 'oci:y'],
      /error\[USAGE\]: alba container push: unknown option '--tga'/,
      /hint: did you mean --tag\?/,
    ],
    [
      ['container', 'push', '--cred=alice:S3CRET', 'x', 'oci:y'],
      /error\[USAGE\]: alba container push: unknown option '--cred=…'\n(?![\s\S]*S3CRET)/,
      /hint: run `alba container push --help`/,
    ],
    [['help', 'gcc'], /error\[USAGE\]: alba help: no command "gcc"/, /hint: did you mean "alba help gc"\?/],
    [['container'], /error\[USAGE\]: alba container needs a subcommand: push, ls, rm, gc, repair/, /hint: /],
    [['build'], /error\[USAGE\]: alba build: missing required argument 'recipe'/, /hint: run `alba build --help`/],
    [['build', 'x.yaml', '--format', 'tarball'], /error\[USAGE\]: .*'tarball' is invalid/, /hint: /],
    [['completion', 'tcsh'], /error\[USAGE\]: .*'tcsh' is invalid/, /hint: /],
    // said before any request: the registry was asked first (a 401, or NETWORK after retries where none listens)
    [
      ['container', 'repair', '-t', 'app', 'docker://127.0.0.1:9'],
      /error\[USAGE\]: alba container repair works on s3:\/\/ targets/,
      /hint: a registry keeps its own tag list/,
    ],
  ];
  for (const [args, message, hint] of cases) {
    test(`alba ${args.join(' ')}`, async () => {
      const run = await runAlba(args);
      assert.equal(run.status, 2, explainRun(run));
      assert.match(run.stderr, message);
      assert.match(run.stderr, hint);
      assert.equal(run.stdout, '');
    });
  }
});

describe('completion', () => {
  /** What bash completes for the words (the last one being completed), with the script sourced. */
  const bashComplete = (script: string, words: string[]): string[] => {
    const program = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _alba; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const run = spawnSync('bash', ['-c', program, 'bash', script, ...words], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout.split('\n').filter((l) => l !== '');
  };

  test('bash: sourced, it completes commands, subcommands and options of the command path', async () => {
    const run = await runAlba(['completion', 'bash']);
    assert.equal(run.status, 0, explainRun(run));
    const script = join(work, 'alba.bash');
    await writeFile(script, run.stdout);
    assert.deepEqual(bashComplete(script, ['alba', 'con']), ['container']);
    assert.deepEqual(bashComplete(script, ['alba', 'container', '']), ['push', 'ls', 'rm', 'gc', 'repair']);
    assert.deepEqual(bashComplete(script, ['alba', '-q', 'container', 'push', '--ch']), ['--chunk-size']);
    assert.deepEqual(bashComplete(script, ['alba', 'static', 'gc', '-t', 'x', '--keep-']), [
      '--keep-release',
      '--keep-extra',
      '--keep-dev',
    ]);
    assert.deepEqual(bashComplete(script, ['alba', 'build', '--arch', 'amd64', '--for']), ['--format']);
  });

  test('zsh: the script parses and completes the command path', async (t) => {
    if (!requireTool('zsh', t)) return;
    const script = join(work, '_alba');
    await writeFile(script, (await runAlba(['completion', 'zsh'])).stdout);
    assert.equal(spawnSync('zsh', ['-n', script]).status, 0);
    // compadd and compdef exist only inside zsh's completion system: stand-ins print what would be offered
    const program = `compdef() { :; }; compadd() { shift; print -l -- "$@"; }; source "$1"; words=(alba container ''); CURRENT=3; PREFIX=''; _alba`;
    assert.deepEqual(
      spawnSync('zsh', ['-c', program, 'zsh', script], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter((l) => l !== ''),
      ['push', 'ls', 'rm', 'gc', 'repair'],
    );
  });

  test('fish: the script parses and completes the command path', async (t) => {
    if (!requireTool('fish', t)) return;
    const script = join(work, 'alba.fish');
    await writeFile(script, (await runAlba(['completion', 'fish'])).stdout);
    const complete = (line: string): string[] =>
      spawnSync('fish', ['-c', `source ${script}; complete -C '${line}'`], { encoding: 'utf8' })
        .stdout.split('\n')
        .map((l) => l.split('\t')[0] ?? '')
        .filter((l) => l !== '');
    assert.deepEqual(complete('alba con'), ['container']);
    assert.deepEqual(complete('alba container ').sort(), ['gc', 'ls', 'push', 'repair', 'rm']);
  });
});

describe('each command loads only its own library code', () => {
  /** What a push to a layout must not load. */
  const FORBIDDEN = /\/openpgp\/|\/debian\/resolver\.js$|\/lock\/lock\.js$|@aws-sdk|\/vendor\//;
  const root = join(dirname(albaBin), '..');

  /** Runs `node …node/args entry container push` of a small layout to a layout; the lines the probe `preload` wrote. */
  const pushWith = async (name: string, nodeArgs: string[], entry: string, probe: string): Promise<string[]> => {
    const layout = await bigLayout(join(work, `src-${name}`), 1);
    const trace = join(work, `modules-${name}.txt`);
    const run = spawnSync(
      process.execPath,
      [...nodeArgs, probe, entry, 'container', 'push', '-t', '1', layout.dir, `oci:${join(work, `out-${name}`)}`],
      { encoding: 'utf8', env: { ...process.env, ALBA_MODULE_TRACE: trace } },
    );
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    return (await readFile(trace, 'utf8')).split('\n');
  };

  test('a push to a layout loads neither OpenPGP, the resolver nor the AWS SDK (compiled modules)', async () => {
    const hooks = join(work, 'hooks.mjs');
    await writeFile(
      hooks,
      `import { appendFileSync } from 'node:fs';\nexport async function resolve(spec, context, next) {\n  const r = await next(spec, context);\n  appendFileSync(process.env.ALBA_MODULE_TRACE, r.url + '\\n');\n  return r;\n}\n`,
    );
    const register = join(work, 'register.mjs');
    await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hooks}`)});\n`);
    const loaded = await pushWith('tsc', ['--import'], join(root, 'dist', 'src', 'cli', 'main.js'), register);
    assert.ok(
      loaded.some((u) => u.endsWith('/sink/layout/layout-sink.js')),
      'the trace sees the modules the push loads',
    );
    assert.deepEqual(
      loaded.filter((u) => FORBIDDEN.test(u)),
      [],
    );
  });

  /** A preloaded script that lists the .cjs files read with fs.readFileSync (dist/alba/code-cache.cjs reads each bundle so). */
  const readProbe = async (): Promise<string> => {
    const probe = join(work, 'read-probe.cjs');
    await writeFile(
      probe,
      "const fs = require('node:fs'); const read = fs.readFileSync;\n" +
        "fs.readFileSync = function (path, ...rest) { if (/\\.cjs$/.test(String(path))) fs.appendFileSync(process.env.ALBA_MODULE_TRACE, String(path) + '\\n'); return read.call(this, path, ...rest); };\n",
    );
    return probe;
  };
  const VENDOR = /\/vendor-[^/]+\.cjs$/;

  test('… nor their bundles, from bin/alba.cjs (dist/alba/vendor-*.cjs: OpenPGP.js, the AWS SDK)', async () => {
    const read = await pushWith('bundle', ['--require'], albaBin, await readProbe());
    assert.ok(
      read.some((p) => p.endsWith('/dist/alba/alba.cjs')),
      'the probe sees the bundle the push runs',
    );
    assert.deepEqual(
      read.filter((p) => VENDOR.test(p)),
      [],
    );
    // and the CLI's bundle holds neither (esbuild writes each module's path as a comment line before its code)
    const cli = await readFile(join(root, 'dist', 'alba', 'alba.cjs'), 'latin1');
    assert.ok(/^\/\/ node_modules\/undici\//m.test(cli), 'the bundle names the modules it holds');
    assert.deepEqual(cli.match(/^\/\/ node_modules\/(?:openpgp|@aws-sdk)\/.*$/gm) ?? [], []);
  });

  test('a push to a registry reads no vendor bundle either (the S3 sink shares code with it, not the SDK)', async () => {
    // a registry that knows nothing: the push fails at its first upload, every module it needs loaded
    const server = createServer((req, res) =>
      res
        .writeHead(req.url === '/v2/' ? 200 : 404, { 'content-type': 'application/json' })
        .end(req.url === '/v2/' ? '{}' : '{"errors":[]}'),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const layout = await bigLayout(join(work, 'src-registry'), 1);
      const trace = join(work, 'modules-registry.txt');
      const { port } = server.address() as AddressInfo;
      const run = await runAlba(['container', 'push', '--plain-http', '-t', '1', layout.dir, `docker://127.0.0.1:${port}/x/y`], {
        env: { NODE_OPTIONS: `--require ${await readProbe()}`, ALBA_MODULE_TRACE: trace },
      });
      assert.notEqual(run.status, 0, explainRun(run));
      const read = (await readFile(trace, 'utf8')).split('\n');
      assert.ok(
        read.some((p) => p.endsWith('/dist/alba/alba.cjs')),
        explainRun(run),
      );
      assert.deepEqual(
        read.filter((p) => VENDOR.test(p)),
        [],
      );
    } finally {
      server.close();
    }
  });

  test('the bundles run in strict mode, as the ES modules they are made of', async () => {
    for (const name of ['alba.cjs', 'vendor-aws-s3.cjs', 'vendor-openpgp.cjs', 'code-cache.cjs', 'warm.cjs']) {
      const head = (await readFile(join(root, 'dist', 'alba', name), 'latin1')).slice(0, 200);
      // the directive is the first statement of the file, or of the function expression code-cache.ts compiles
      assert.match(head, /^(?:\(function \(exports, require, module, __filename, __dirname\) \{)?"use strict";/, name);
    }
  });
});
