/**
 * The parts of the AWS SDK alba uses (sink/s3/s3-store.ts). The CLI bundles this module apart
 * (scripts/bundle.mjs: dist/alba/vendor-aws-s3.cjs), so that only a command that talks to S3 loads
 * and compiles it; and only these names, so that the bundle leaves out the commands alba never sends.
 */
export {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
export { Upload } from '@aws-sdk/lib-storage';
