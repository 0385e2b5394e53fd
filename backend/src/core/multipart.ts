/**
 * Multipart uploads (busboy): one `file` part streamed to a consumer, with a size limit that
 * fails the upload (413) instead of truncating it.
 */
import type { Request } from 'express';
import type { Readable } from 'node:stream';
import Busboy from 'busboy';
import { AppError } from './errors.js';

/**
 * Reads a multipart body with one `file` part. `onFile` consumes the stream (the fields that
 * come before the file are available to it); the promise settles when both are done.
 *
 * `bodyComplete` resolves once the whole body has arrived and parsed, and rejects when it does
 * not (a malformed tail, a client that went away): consumers wait for it before they commit
 * anything, so a request answered with an error never leaves a stored result behind.
 */
export function readMultipart<T>(
  req: Request,
  maxBytes: number,
  onFile: (
    file: Readable,
    info: { filename: string; mimeType: string },
    fields: Record<string, string>,
    bodyComplete: Promise<void>,
  ) => Promise<T>,
): Promise<{ result: T; fields: Record<string, string>; filename: string; size: number }> {
  return new Promise((resolve, reject) => {
    if (!req.is('multipart/form-data')) {
      reject(
        new AppError(
          415,
          'INVALID_MULTIPART',
          'Send the file as multipart/form-data with a "file" part',
        ),
      );
      return;
    }
    let bb: ReturnType<typeof Busboy>;
    try {
      bb = Busboy({
        headers: req.headers,
        highWaterMark: 256 * 1024,
        fileHwm: 256 * 1024,
        limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: 10_000 },
      });
    } catch (err) {
      reject(
        new AppError(
          400,
          'INVALID_MULTIPART',
          `Malformed multipart body: ${(err as Error).message}`,
        ),
      );
      return;
    }
    const fields: Record<string, string> = {};
    let work: Promise<T> | undefined;
    let file: Readable | undefined;
    let filename = '';
    let size = 0;
    let failed = false;
    let settleBody!: (err?: unknown) => void;
    const bodyComplete = new Promise<void>((resolveBody, rejectBody) => {
      settleBody = (err) => (err === undefined ? resolveBody() : rejectBody(err));
    });
    bodyComplete.catch(() => undefined);
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      req.unpipe(bb);
      req.resume();
      file?.destroy(err as Error);
      settleBody(err);
      // Answer once the consumer has cleaned up after itself (temp files, transactions).
      void (work ?? Promise.resolve()).catch(() => undefined).then(() => reject(err));
    };
    // A client that goes away mid-body: stop the consumer, or it waits for bytes forever.
    req.on('close', () => {
      if (!req.complete)
        fail(
          new AppError(400, 'UPLOAD_INTERRUPTED', 'The upload ended before the body was complete'),
        );
    });
    bb.on('field', (name, value) => {
      fields[name] = value;
    });
    bb.on('file', (name, stream, info) => {
      if (name !== 'file' || work) {
        stream.resume();
        return;
      }
      filename = info.filename ?? 'upload';
      file = stream;
      // Counted as busboy pushes, not with a 'data' listener: that would start the stream
      // flowing before the consumer reads.
      const push = stream.push.bind(stream);
      stream.push = (chunk: Buffer | null, encoding?: BufferEncoding) => {
        if (chunk) size += chunk.length;
        return push(chunk, encoding);
      };
      // On the limit, busboy truncates the part and ends the stream normally: fail it at once
      // instead, so a truncated file is never mistaken for a complete one. The consumer may
      // attach later; the error then reaches it through the stream's `errored` state.
      stream.on('error', () => undefined);
      stream.on('limit', () => {
        stream.destroy(
          new AppError(413, 'PAYLOAD_TOO_LARGE', `The file is larger than ${maxBytes} bytes`),
        );
      });
      work = onFile(
        stream,
        { filename, mimeType: info.mimeType ?? 'application/octet-stream' },
        fields,
        bodyComplete,
      );
      work.catch((err: unknown) => {
        stream.resume();
        fail(err);
      });
    });
    bb.on('error', (err) =>
      fail(
        new AppError(
          400,
          'INVALID_MULTIPART',
          `Malformed multipart body: ${(err as Error).message}`,
        ),
      ),
    );
    bb.on('close', () => {
      if (failed) return;
      if (!work) {
        fail(new AppError(400, 'INVALID_MULTIPART', 'file: a "file" part is required'));
        return;
      }
      settleBody();
      work.then((result) => resolve({ result, fields, filename, size }), fail);
    });
    req.pipe(bb);
  });
}
