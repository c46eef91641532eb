import { createHash } from 'node:crypto';
import { AwsFault } from '../protocol/errors.js';
import type { ProtocolRequest, ProtocolResponse, WireHandler } from '../protocol/types.js';
import type { SandboxContext, ServiceDefinition } from './types.js';

/**
 * S3, the part the fleet report uses: CreateBucket, PutObject, GetObject, HeadObject,
 * ListObjectsV2 and DeleteObject, path-style (`/{bucket}/{key}`: the SDK uses path-style
 * addressing for an endpoint that is an IP address), REST with XML errors as S3 writes them.
 * Objects are kept in memory with their content type; bodies sent with `aws-chunked` encoding
 * (the SDK's streaming checksums) are decoded. Text bodies only (reports and plans).
 */
export interface StoredObject {
  body: Buffer;
  contentType: string;
  etag: string;
  lastModified: Date;
}

export class S3Store {
  readonly buckets = new Map<string, Map<string, StoredObject>>();
  constructor(readonly ctx: SandboxContext) {}

  addBucket(name: string): void {
    if (!this.buckets.has(name)) this.buckets.set(name, new Map());
  }

  /** An object's body as text, or undefined. */
  text(bucket: string, key: string): string | undefined {
    return this.buckets.get(bucket)?.get(key)?.body.toString('utf8');
  }
}

function decodeAwsChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(body.subarray(at, lineEnd).toString('ascii').split(';')[0] ?? '0', 16);
    if (!size) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

const xml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

interface S3Input extends Record<string, unknown> {
  Bucket: string;
  Key?: string;
  body: Buffer;
  contentType?: string;
  query: URLSearchParams;
}

function s3Wire(): WireHandler {
  return {
    parse(req: ProtocolRequest) {
      const [, bucket = '', ...rest] = req.url.pathname.split('/');
      const key = rest.length ? decodeURIComponent(rest.join('/')) : undefined;
      const method = req.method.toUpperCase();
      const encoded =
        /aws-chunked/.test(req.headers['content-encoding'] ?? '') ||
        /^STREAMING-/.test(req.headers['x-amz-content-sha256'] ?? '');
      const input: S3Input = {
        Bucket: decodeURIComponent(bucket),
        ...(key !== undefined && key !== '' ? { Key: key } : {}),
        body: encoded ? decodeAwsChunked(req.body) : req.body,
        ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
        query: req.url.searchParams,
      };
      const hasKey = input.Key !== undefined;
      const operation =
        method === 'PUT'
          ? hasKey
            ? 'PutObject'
            : 'CreateBucket'
          : method === 'GET'
            ? hasKey
              ? 'GetObject'
              : 'ListObjectsV2'
            : method === 'HEAD'
              ? hasKey
                ? 'HeadObject'
                : 'HeadBucket'
              : method === 'DELETE' && hasKey
                ? 'DeleteObject'
                : '(unsupported)';
      return { operation, input };
    },
    respond(_operation, output): ProtocolResponse {
      return output as ProtocolResponse;
    },
    error(fault, requestId): ProtocolResponse {
      const status =
        fault.status ?? (fault.code === 'NoSuchKey' || fault.code === 'NoSuchBucket' ? 404 : 400);
      return {
        status,
        headers: { 'content-type': 'application/xml' },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${fault.code}</Code><Message>${xml(fault.message)}</Message><RequestId>${requestId}</RequestId></Error>`,
      };
    },
  };
}

export function s3Service(ctx: SandboxContext, store: S3Store): ServiceDefinition {
  const bucketOf = (name: string) => {
    const bucket = store.buckets.get(name);
    if (!bucket) throw new AwsFault('NoSuchBucket', 'The specified bucket does not exist', 404);
    return bucket;
  };
  const objectOf = (input: S3Input) => {
    const object = bucketOf(input.Bucket).get(input.Key ?? '');
    if (!object) throw new AwsFault('NoSuchKey', 'The specified key does not exist.', 404);
    return object;
  };
  const headers = (o: StoredObject) => ({
    'content-type': o.contentType,
    etag: o.etag,
    'last-modified': o.lastModified.toUTCString(),
    'content-length': String(o.body.length),
  });
  return {
    signingName: 's3',
    faults: ctx.faults,
    wire: s3Wire(),
    operations: {
      CreateBucket(input: S3Input) {
        store.addBucket(input.Bucket);
        return { status: 200, headers: { location: `/${input.Bucket}` }, body: '' };
      },
      HeadBucket(input: S3Input) {
        bucketOf(input.Bucket);
        return { status: 200, headers: {}, body: '' };
      },
      PutObject(input: S3Input) {
        const bucket = bucketOf(input.Bucket);
        const etag = `"${createHash('md5').update(input.body).digest('hex')}"`;
        bucket.set(input.Key ?? '', {
          body: input.body,
          contentType: input.contentType ?? 'binary/octet-stream',
          etag,
          lastModified: new Date(ctx.clock.now()),
        });
        return { status: 200, headers: { etag }, body: '' };
      },
      GetObject(input: S3Input) {
        const o = objectOf(input);
        return { status: 200, headers: headers(o), body: o.body.toString('utf8') };
      },
      HeadObject(input: S3Input) {
        const o = objectOf(input);
        return { status: 200, headers: headers(o), body: '' };
      },
      DeleteObject(input: S3Input) {
        bucketOf(input.Bucket).delete(input.Key ?? '');
        return { status: 204, headers: {}, body: '' };
      },
      ListObjectsV2(input: S3Input) {
        const prefix = input.query.get('prefix') ?? '';
        const keys = [...bucketOf(input.Bucket).entries()]
          .filter(([k]) => k.startsWith(prefix))
          .sort(([a], [b]) => a.localeCompare(b));
        const contents = keys
          .map(
            ([k, o]) =>
              `<Contents><Key>${xml(k)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>${xml(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
          )
          .join('');
        return {
          status: 200,
          headers: { 'content-type': 'application/xml' },
          body: `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xml(input.Bucket)}</Name><Prefix>${xml(prefix)}</Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`,
        };
      },
    },
  };
}
