import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** One request the front saw. */
export interface FrontRequest {
  method: string;
  /** The object key (path-style, decoded), '' for the bucket. */
  key: string;
  /** The If-Match header, when the request had one. */
  ifMatch?: string;
  /** The If-None-Match header, when the request had one. */
  ifNoneMatch?: string;
  /** What the front answered a conditional PUT itself (the others are the server's). */
  status?: number;
}

/** An S3 endpoint that honours If-Match (or ignores every condition), in front of one that refuses it. */
export interface IfMatchFront {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Every request, in arrival order. */
  requests: FrontRequest[];
  /** Decides, per conditional PUT, a promise to wait for before deciding it (to make two writers meet); undefined decides at once. */
  hold: (req: FrontRequest) => Promise<unknown> | undefined;
  close(): Promise<void>;
}

/**
 * Starts an S3 endpoint on 127.0.0.1 in front of `upstream` (path-style, one bucket) that behaves
 * like a server honouring conditional writes (AWS S3 since 2024, MinIO…), which Ceph RGW 16 does
 * not (it refuses every If-Match): a PUT with If-Match is decided here — the object's current
 * ETag is read by a HEAD upstream (with `s3`, the test's own client), a different one is answered
 * 412 PreconditionFailed, an equal one is written by a PUT without the condition and answered with
 * its ETag; conditional PUTs of one key are decided one at a time, so the check and the write are
 * atomic as on such a server. Every other request goes upstream unchanged (its signature intact).
 * With `conditions: 'ignore'` it is a server that ignores If-Match and If-None-Match alike (some
 * S3-compatible stores, older releases): every PUT carrying either is written without it.
 */
export async function startIfMatchFront(
  upstream: string,
  s3: S3Client,
  bucket: string,
  conditions: 'honour' | 'ignore' = 'honour',
): Promise<IfMatchFront> {
  const target = new URL(upstream);
  const turns = new Map<string, Promise<unknown>>();
  const front: IfMatchFront = { url: '', requests: [], hold: () => undefined, close: async () => undefined };

  const keyOf = (req: IncomingMessage): string => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const prefix = `/${bucket}/`;
    return path.startsWith(prefix) ? decodeURIComponent(path.slice(prefix.length)) : '';
  };

  const decide = async (
    req: IncomingMessage,
    seen: FrontRequest,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> => {
    const current = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: seen.key })).then(
      (h) => h.ETag,
      () => undefined,
    );
    if (conditions === 'honour' && current !== seen.ifMatch) {
      const body =
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>';
      return { status: 412, headers: { 'content-type': 'application/xml' }, body };
    }
    const header = (name: string): string | undefined => {
      const value = req.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    const metadata = Object.fromEntries(
      Object.entries(req.headers).flatMap(([k, v]) =>
        k.startsWith('x-amz-meta-') && typeof v === 'string' ? [[k.slice('x-amz-meta-'.length), v]] : [],
      ),
    );
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: seen.key,
        Body: body,
        ContentType: header('content-type'),
        CacheControl: header('cache-control'),
        Metadata: metadata,
      }),
    );
    return { status: 200, headers: put.ETag === undefined ? {} : { etag: put.ETag }, body: '' };
  };

  const server = createServer((req, res) => {
    const ifMatch = req.headers['if-match'];
    const ifNoneMatch = req.headers['if-none-match'];
    const seen: FrontRequest = {
      method: req.method ?? 'GET',
      key: keyOf(req),
      ...(typeof ifMatch === 'string' ? { ifMatch } : {}),
      ...(typeof ifNoneMatch === 'string' ? { ifNoneMatch } : {}),
    };
    front.requests.push(seen);
    if (seen.method === 'PUT' && (seen.ifMatch !== undefined || (conditions === 'ignore' && seen.ifNoneMatch !== undefined))) {
      const decided = (async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        await front.hold(seen);
        // one conditional write of a key at a time: the next waits for this one's answer
        const turn = (turns.get(seen.key) ?? Promise.resolve()).then(() => decide(req, seen, Buffer.concat(chunks)));
        turns.set(
          seen.key,
          turn.catch(() => undefined),
        );
        return turn;
      })();
      decided.then(
        ({ status, headers, body }) => {
          seen.status = status;
          res.writeHead(status, headers).end(body);
        },
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
      );
      return;
    }
    const out = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        pipeline(answer, res).catch(() => undefined);
      },
    );
    out.on('error', () => res.destroy());
    pipeline(req, out).catch(() => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  front.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  front.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return front;
}
