import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

/** A single-node Ceph (1 mon, 1 in-memory OSD) with radosgw, on 127.0.0.1. */
export interface RgwServer {
  /** The S3 endpoint: `http://127.0.0.1:<port>` (path-style). */
  url: string;
  accessKey: string;
  secretKey: string;
  /** The Host that selects a bucket's static website: `<bucket>.s3-website.localhost`. */
  websiteHost(bucket: string): string;
  close(): Promise<void>;
}

const ACCESS_KEY = 'albatestkey';
const SECRET_KEY = 'albatestsecret';

/**
 * Starts Ceph RGW (Debian ceph-mon, ceph-osd, radosgw, ceph-common) the way ../shared/peers
 * found to work: cephx with one keyring for every daemon (radosgw never starts with auth off),
 * memstore OSD, pool size 1, static websites on. Takes about 13 s. Needs root.
 */
export async function startRgw(): Promise<RgwServer> {
  const dir = await mkdtemp(join(tmpdir(), 'alba-rgw-'));
  for (const sub of ['mon', 'osd', 'run', 'log', 'rgw']) await mkdir(join(dir, sub), { recursive: true });
  const monPort = await freePort();
  const rgwPort = await freePort();
  const fsid = crypto.randomUUID();
  const conf = join(dir, 'ceph.conf');
  const keyring = join(dir, 'keyring');
  await writeFile(
    conf,
    [
      '[global]',
      `fsid = ${fsid}`,
      `mon host = v2:127.0.0.1:${monPort}`,
      'mon initial members = a',
      'public addr = 127.0.0.1',
      'public network = 127.0.0.0/8',
      'ms bind msgr1 = false',
      'auth cluster required = cephx',
      'auth service required = cephx',
      'auth client required = cephx',
      `keyring = ${keyring}`,
      `run dir = ${join(dir, 'run')}`,
      `admin socket = ${join(dir, 'run')}/$name.asok`,
      `log file = ${join(dir, 'log')}/$name.log`,
      `pid file = ${join(dir, 'run')}/$name.pid`,
      'osd pool default size = 1',
      'osd pool default min size = 1',
      'osd pool default pg num = 8',
      'osd pool default pgp num = 8',
      'osd pool default pg autoscale mode = off',
      'osd crush chooseleaf type = 0',
      'mon allow pool size one = true',
      'mon max pg per osd = 1000',
      'mon warn on pool no redundancy = false',
      'osd objectstore = memstore',
      'memstore device bytes = 2147483648',
      'osd memory target = 1073741824',
      '[mon.a]',
      `mon data = ${join(dir, 'mon')}`,
      '[osd.0]',
      `osd data = ${join(dir, 'osd')}`,
      '[client.rgw.a]',
      `rgw frontends = beast endpoint=127.0.0.1:${rgwPort}`,
      `rgw data = ${join(dir, 'rgw')}`,
      'rgw dns name = s3.localhost',
      'rgw dns s3website name = s3-website.localhost',
      'rgw enable static website = true',
      'rgw enable usage log = false',
      '',
    ].join('\n'),
  );
  const c = ['-c', conf];
  const close = async (): Promise<void> => {
    for (const name of await readdir(join(dir, 'run')).catch(() => [] as string[])) {
      if (!name.endsWith('.pid')) continue;
      const pid = Number((await readFile(join(dir, 'run', name), 'utf8').catch(() => '')).trim());
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    run('ceph-authtool', ['--create-keyring', keyring, '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
    run('ceph-authtool', [
      keyring,
      '--gen-key',
      '-n',
      'client.admin',
      '--cap',
      'mon',
      'allow *',
      '--cap',
      'osd',
      'allow *',
      '--cap',
      'mgr',
      'allow *',
      '--cap',
      'mds',
      'allow *',
    ]);
    run('ceph-authtool', [
      keyring,
      '--gen-key',
      '-n',
      'osd.0',
      '--cap',
      'mon',
      'allow profile osd',
      '--cap',
      'osd',
      'allow *',
      '--cap',
      'mgr',
      'allow profile osd',
    ]);
    run('ceph-authtool', [
      keyring,
      '--gen-key',
      '-n',
      'client.rgw.a',
      '--cap',
      'mon',
      'allow rw',
      '--cap',
      'osd',
      'allow rwx',
      '--cap',
      'mgr',
      'allow rw',
    ]);
    run('monmaptool', ['--create', '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, '--fsid', fsid, join(dir, 'monmap')]);
    run('ceph-mon', [...c, '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap'), '--keyring', keyring]);
    run('ceph-mon', [...c, '-i', 'a'], 60_000);
    await until(
      () => spawnSync('ceph', [...c, '--connect-timeout', '2', 'mon', 'stat'], { stdio: 'ignore' }).status === 0,
      20_000,
      'the monitor',
    );
    const osdUuid = crypto.randomUUID();
    const secret = run('ceph-authtool', [keyring, '-n', 'osd.0', '-p']).trim();
    const secretFile = join(dir, 'osd-secret.json');
    await writeFile(secretFile, JSON.stringify({ cephx_secret: secret }));
    const osdId = run('ceph', [...c, 'osd', 'new', osdUuid, '-i', secretFile]).trim();
    run('ceph-osd', [...c, '-i', osdId, '--mkfs', '--osd-uuid', osdUuid]);
    run('ceph-osd', [...c, '-i', osdId], 60_000);
    spawnSync('ceph', [...c, 'osd', 'crush', 'add', `osd.${osdId}`, '1.0', 'host=localhost', 'root=default'], { stdio: 'ignore' });
    await until(() => /1 up/.test(spawnSync('ceph', [...c, 'osd', 'stat'], { encoding: 'utf8' }).stdout ?? ''), 30_000, 'the OSD');
    await daemon('radosgw', [...c, '-n', 'client.rgw.a'], 90_000);
    const url = `http://127.0.0.1:${rgwPort}`;
    await until(
      async () =>
        (await fetch(`${url}/`).then(
          (r) => r.status,
          () => 0,
        )) !== 0,
      60_000,
      'radosgw',
    );
    run('radosgw-admin', [
      ...c,
      'user',
      'create',
      '--uid',
      'test',
      '--display-name',
      'test',
      '--access-key',
      ACCESS_KEY,
      '--secret',
      SECRET_KEY,
    ]);
    return { url, accessKey: ACCESS_KEY, secretKey: SECRET_KEY, websiteHost: (bucket) => `${bucket}.s3-website.localhost`, close };
  } catch (err) {
    const logs = await readdir(join(dir, 'log')).catch(() => [] as string[]);
    const tails = await Promise.all(
      logs.map(async (l) => `--- ${l}\n${(await readFile(join(dir, 'log', l), 'utf8').catch(() => '')).slice(-1500)}`),
    );
    await close();
    throw new Error(`${(err as Error).message}\n${tails.join('\n')}`);
  }
}

function run(cmd: string, args: string[], timeout = 60_000): string {
  const res = spawnSync(cmd, args, { encoding: 'utf8', timeout });
  if (res.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${res.status ?? res.signal}): ${res.stderr}${res.error?.message ?? ''}`);
  return res.stdout;
}

/** Runs a Ceph daemon that forks into the background once ready; resolves when the foreground process exits 0. */
function daemon(cmd: string, args: string[], timeout: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'ignore', timeout });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}`))));
  });
}

async function until(ready: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not come up within ${ms / 1000} s`);
}
