import { join } from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startRgw, type RgwServer } from './ceph-rgw.js';
import { requireTool } from './tools.js';

/**
 * True when the Ceph RGW tests can run here: Ceph and the `tools` given are installed, and this is
 * root. With CI=true a missing tool or not being root is a failure (thrown), never a skip.
 */
export function rgwTestsEnabled(tools: readonly string[] = []): boolean {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const haveTools = ['ceph-mon', 'ceph-osd', 'radosgw', ...tools].every((t) => requireTool(t));
  const asRoot = process.getuid?.() === 0;
  if (!asRoot && process.env.CI === 'true') throw new Error('the Ceph RGW tests need root, and CI=true');
  return haveTools && asRoot;
}

/** The environment that gives alba the RGW user's keys and nothing of the host's AWS configuration (`work`: a scratch directory). */
export function rgwEnv(rgw: RgwServer, work: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: rgw.accessKey,
    AWS_SECRET_ACCESS_KEY: rgw.secretKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(work, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'none'),
  };
}

/** The test's own S3 client of RGW (path-style), to read and write behind alba's back. */
export function rgwClient(rgw: RgwServer): S3Client {
  return new S3Client({
    endpoint: rgw.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: rgw.accessKey, secretAccessKey: rgw.secretKey },
  });
}

/** alba's target URL of `bucket` at `endpoint` (RGW itself or a proxy in front of it). */
export function s3Url(endpoint: string, bucket: string): string {
  return `s3://${bucket}?endpoint=${endpoint}&region=us-east-1&s3ForcePathStyle=true`;
}

/** Every key of `bucket` under `prefix`, sorted; without alba's removal epoch (`.alba-removal-epoch`: bookkeeping of rm/gc, nobody's content). */
export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }),
    );
    out.push(...(page.Contents ?? []).map((o) => o.Key as string).filter((k) => !k.endsWith('/.alba-removal-epoch')));
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return out.sort();
}

/** A running RGW with `bucket` created: the server, alba's environment for it, the test's own client and alba's target URL. */
export interface RgwBucket {
  rgw: RgwServer;
  env: Record<string, string>;
  s3: S3Client;
  target: string;
}

/** Starts RGW (~13 s) and creates `bucket` (`work`: the test's scratch directory). */
export async function startRgwBucket(work: string, bucket: string): Promise<RgwBucket> {
  const rgw = await startRgw();
  const s3 = rgwClient(rgw);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return { rgw, env: rgwEnv(rgw, work), s3, target: s3Url(rgw.url, bucket) };
}
