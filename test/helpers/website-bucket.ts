import { PutBucketPolicyCommand, PutBucketWebsiteCommand } from '@aws-sdk/client-s3';
import { startRgwBucket, type RgwBucket } from './rgw-client.js';
import { startWebsiteFront, type WebsiteFront } from './website-front.js';

/** A bucket of a running RGW served as a public website behind nginx (what cosign, skopeo and podman pull from). */
export interface WebsiteBucket extends RgwBucket {
  front: WebsiteFront;
}

/** Starts RGW with `bucket` (website on, anonymous GetObject allowed) and nginx in front of its website endpoint. */
export async function startWebsiteBucket(work: string, bucket: string): Promise<WebsiteBucket> {
  const started = await startRgwBucket(work, bucket);
  const { s3, rgw } = started;
  await s3.send(new PutBucketWebsiteCommand({ Bucket: bucket, WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } }));
  const policy = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${bucket}/*`] }],
  };
  await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
  return { ...started, front: await startWebsiteFront(rgw.url, rgw.websiteHost(bucket)) };
}
