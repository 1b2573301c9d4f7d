import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Test PKI made with the openssl command: a CA, and a certificate for 127.0.0.1 it signs.

function openssl(args: string[], cwd: string): void {
  const res = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${res.stderr}`);
}

/** `openssl req` arguments making a new P-256 key, unencrypted, into `keyout`. */
function newKey(keyout: string, extra: string[] = []): string[] {
  return ['req', ...extra, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyout];
}

/** A CA and a server certificate for 127.0.0.1 it signs, made with the openssl command. */
export function makeCa(dir: string, name: string): { ca: string; cert: string; key: string } {
  const p = (f: string) => join(dir, `${name}-${f}`);
  openssl(
    [
      ...newKey(p('ca.key'), ['-x509']),
      '-out',
      p('ca.pem'),
      '-days',
      '30',
      '-subj',
      `/CN=alba test ${name} CA`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    ],
    dir,
  );
  openssl([...newKey(p('server.key')), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1'], dir);
  writeFileSync(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl(
    [
      'x509',
      '-req',
      '-in',
      p('server.csr'),
      '-CA',
      p('ca.pem'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-out',
      p('server.pem'),
      '-days',
      '30',
      '-extfile',
      p('ext.cnf'),
    ],
    dir,
  );
  return { ca: p('ca.pem'), cert: p('server.pem'), key: p('server.key') };
}
