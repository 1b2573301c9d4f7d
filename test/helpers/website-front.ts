import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

/** nginx on 127.0.0.1 in front of an S3 website endpoint, as a CDN would be. */
export interface WebsiteFront {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** `127.0.0.1:<port>`, the registry host for skopeo and podman. */
  host: string;
  close(): Promise<void>;
}

/**
 * Starts Debian's nginx as a reverse proxy to `s3Url` that sets `Host: websiteHost` (how RGW and
 * AWS pick a bucket's website mode), so that real clients can pull from `http://127.0.0.1:PORT/v2/…`;
 * `headers` are added to every answer (e.g. a Content-Security-Policy, as a site would send).
 */
export async function startWebsiteFront(
  s3Url: string,
  websiteHost: string,
  options: { headers?: Record<string, string> } = {},
): Promise<WebsiteFront> {
  const dir = await mkdtemp(join(tmpdir(), 'alba-front-'));
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/tmp/body; proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fcgi; uwsgi_temp_path ${dir}/tmp/uwsgi; scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass ${s3Url};
      proxy_set_header Host ${websiteHost};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
${Object.entries(options.headers ?? {})
  .map(([k, v]) => `      add_header ${k} "${v.replace(/["\\]/g, '')}" always;\n`)
  .join('')}    }
  }
}
`,
  );
  const child = spawn('nginx', ['-c', conf, '-e', join(dir, 'error.log')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (
    (await fetch(`${url}/`).then(
      (r) => r.status,
      () => 0,
    )) === 0
  ) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('nginx did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    close: async () => {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
