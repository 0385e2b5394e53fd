import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type {
  ByteRange,
  DownloadRequest,
  DownloadUrl,
  StorageProvider,
  StoredBytes,
  UploadTarget,
} from './provider.js';
import type { S3Options } from '../../core/config.js';

/** Any S3-compatible service. Uploads stream as multipart uploads (lib-storage). */
export class S3StorageProvider implements StorageProvider {
  /** A shared bucket: other instances may be uploading into it, so orphans get an hour. */
  readonly startSweepGraceMs = 3600_000;
  private readonly client: S3Client;

  constructor(private readonly options: S3Options) {
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle,
      ...(options.accessKeyId && options.secretAccessKey
        ? {
            credentials: {
              accessKeyId: options.accessKeyId,
              secretAccessKey: options.secretAccessKey,
            },
          }
        : {}),
    });
  }

  private key(path: string): string {
    return `${this.options.prefix}${path}`;
  }

  async put(path: string, body: Readable, contentType: string): Promise<StoredBytes> {
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.options.bucket,
        Key: this.key(path),
        Body: body,
        ContentType: contentType,
      },
      queueSize: 2,
      partSize: 8 * 1024 * 1024,
    });
    await upload.done();
    const head = await this.head(path);
    if (!head) throw new Error('upload finished but the object is missing');
    return head;
  }

  async get(path: string, range?: ByteRange): Promise<Readable | undefined> {
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.options.bucket,
          Key: this.key(path),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      return res.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async head(path: string): Promise<StoredBytes | undefined> {
    try {
      const res = await this.client.send(
        new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.key(path) }),
      );
      return { size: res.ContentLength ?? 0, etag: (res.ETag ?? '').replace(/"/g, '') };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async delete(path: string): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.key(path) }),
    );
  }

  async *list(): AsyncIterable<{ path: string; modifiedAt: Date }> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.options.bucket,
          Prefix: this.options.prefix,
          ContinuationToken: token,
        }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key)
          yield {
            path: o.Key.slice(this.options.prefix.length),
            modifiedAt: o.LastModified ?? new Date(0),
          };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** A form POST straight to the bucket, bounded in size and type. */
  async uploadTarget(
    path: string,
    contentType: string,
    maxSize: number,
    expiresInSeconds: number,
  ): Promise<UploadTarget> {
    const post = await createPresignedPost(this.client, {
      Bucket: this.options.bucket,
      Key: this.key(path),
      Conditions: [
        ['content-length-range', 0, maxSize],
        ['eq', '$Content-Type', contentType],
      ],
      Fields: { 'Content-Type': contentType },
      Expires: expiresInSeconds,
    });
    return { method: 'presigned', url: post.url, fields: post.fields };
  }

  /** A presigned GET of the version's bytes, public buckets included. */
  async downloadUrl(object: DownloadRequest, expiresInSeconds: number): Promise<DownloadUrl> {
    const expiresAt = new Date(Date.now() + expiresInSeconds * 1000);
    const url = await getSignedUrl(
      this.client,
      new GetObjectCommand({
        Bucket: this.options.bucket,
        Key: this.key(object.path),
        ResponseContentDisposition: `inline; filename*=UTF-8''${encodeURIComponent(object.filename)}`,
        ResponseContentType: object.contentType,
      }),
      { expiresIn: expiresInSeconds },
    );
    return { method: 'presigned', url, expiresAt };
  }

  /** Downloads are presigned by S3 itself: Kiln's own URLs carry no token of this provider. */
  tokenGrants(): boolean {
    return false;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

export { Readable };

function isNotFound(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const name = (err as Error).name;
  return status === 404 || name === 'NotFound' || name === 'NoSuchKey';
}
