import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** `<prefix><batchId>/<name>`: every file of a batch under one folder of the reports bucket. */
export function reportKey(prefix: string, batchId: string, name: string): string {
  const folder = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  return `${folder}${batchId}/${name}`;
}

export async function putJson(s3: S3Client, bucket: string, key: string, value: unknown): Promise<void> {
  await putText(s3, bucket, key, `${JSON.stringify(value, null, 2)}\n`, 'application/json');
}

export async function putText(
  s3: S3Client,
  bucket: string,
  key: string,
  body: string,
  contentType: string,
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: `${contentType}; charset=utf-8`,
      // The bucket's default encryption (SSE-KMS under the deployment's key) applies.
    }),
  );
}
