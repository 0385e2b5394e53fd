/** Buckets and objects (GET/POST/DELETE /api/storage/...), one page of objects at a time. */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { z } from 'zod';
import type {
  createBucketRequestSchema,
  deleteBucketResponseSchema,
  deleteObjectsResponseSchema,
  downloadStrategyResponseSchema,
  listBucketsResponseSchema,
  listObjectsResponseSchema,
  storedFileSchema,
  updateBucketRequestSchema,
} from '@kiln/shared-schemas';
import { api, uploadWithProgress } from '../../lib/api';
import { useApiMutation } from '../../lib/mutation';
import { queryKeys } from '../../lib/query';

export type Bucket = z.infer<typeof listBucketsResponseSchema>[number];
export type StoredObject = z.infer<typeof storedFileSchema>;
export type CreateBucket = z.input<typeof createBucketRequestSchema>;
export type UpdateBucket = z.input<typeof updateBucketRequestSchema>;

export const OBJECTS_PAGE = 100;

const bucketPath = (bucket: string) => `/api/storage/buckets/${encodeURIComponent(bucket)}`;
const objectPath = (bucket: string, key: string) =>
  `${bucketPath(bucket)}/objects/${encodeURIComponent(key)}`;

export function useBuckets() {
  return useQuery({
    queryKey: queryKeys.storage.buckets(),
    queryFn: ({ signal }) =>
      api.get<z.infer<typeof listBucketsResponseSchema>>('/api/storage/buckets', undefined, signal),
  });
}

/**
 * One page of a folder: its sub-folders (`prefixes`, from the server's delimiter listing, so they
 * are complete whatever the page) then its files; a search lists every matching key under the
 * folder instead (no delimiter).
 */
export function useObjects(bucket: string, prefix: string, search: string, offset: number) {
  return useQuery({
    queryKey: queryKeys.storage.objects(bucket, { prefix, search, offset }),
    queryFn: ({ signal }) =>
      api.get<z.infer<typeof listObjectsResponseSchema>>(
        `${bucketPath(bucket)}/objects`,
        {
          prefix,
          search,
          offset,
          limit: OBJECTS_PAGE,
          ...(search ? {} : { delimiter: '/' }),
        },
        signal,
      ),
    placeholderData: keepPreviousData,
  });
}

export function useCreateBucket() {
  return useApiMutation({
    mutationFn: (body: CreateBucket) => api.post<Bucket>('/api/storage/buckets', body),
    progress: 'Creating the bucket…',
    success: (b) => `Bucket ${b.name} created`,
    invalidate: [queryKeys.storage.all, queryKeys.overview.all],
  });
}

export function useUpdateBucket() {
  return useApiMutation({
    mutationFn: ({ name, settings }: { name: string; settings: UpdateBucket }) =>
      api.patch<Bucket>(bucketPath(name), settings),
    progress: 'Saving the bucket…',
    success: (_b, { name }) => `Bucket ${name} saved`,
    invalidate: [queryKeys.storage.all],
  });
}

export function useDeleteBucket() {
  return useApiMutation({
    mutationFn: (name: string) =>
      api.delete<z.infer<typeof deleteBucketResponseSchema>>(`${bucketPath(name)}?force=true`),
    progress: 'Deleting the bucket…',
    invalidate: [queryKeys.storage.all, queryKeys.overview.all],
  });
}

export function useDeleteObjects(bucket: string) {
  return useApiMutation({
    mutationFn: async (keys: string[]) => {
      const res = await api.delete<z.infer<typeof deleteObjectsResponseSchema>>(
        `${bucketPath(bucket)}/objects`,
        { keys },
      );
      const failed = res.results.filter((r) => r.status === 'failed');
      if (failed.length) throw new Error(`${failed.length} file(s) could not be deleted`);
      return res;
    },
    progress: 'Deleting…',
    success: (_r, keys) => `Deleted ${keys.length} file${keys.length === 1 ? '' : 's'}`,
    invalidate: [queryKeys.storage.all],
  });
}

/** A URL to read the object from: signed for `expiresIn` seconds (unsigned in a public bucket). */
export function signedUrl(bucket: string, key: string, expiresIn: number) {
  return api.get<z.infer<typeof downloadStrategyResponseSchema>>(
    `${bucketPath(bucket)}/download-strategy/objects/${encodeURIComponent(key)}`,
    { expiresIn },
  );
}

/** PUT one file under `key`, reporting progress; `signal` cancels it. */
export function uploadObject(
  bucket: string,
  key: string,
  file: File,
  onProgress: (fraction: number) => void,
  signal: AbortSignal,
) {
  const form = new FormData();
  form.append('file', file);
  return uploadWithProgress<StoredObject>(objectPath(bucket, key), form, onProgress, {
    method: 'PUT',
    signal,
  });
}

const TEXT_PREVIEW_BYTES = 256 * 1024;

export type Preview =
  | { kind: 'image' | 'pdf' | 'audio' | 'video'; url: string }
  | { kind: 'text'; text: string; truncated: boolean }
  | { kind: 'none' };

/**
 * What the preview sheet shows: images, PDF, audio and video by a signed URL (served inline), text
 * and JSON (pretty) read in.
 */
export function usePreview(bucket: string, object: StoredObject | undefined) {
  return useQuery({
    queryKey: [...queryKeys.storage.all, 'preview', bucket, object?.key, object?.uploadedAt],
    enabled: object !== undefined,
    queryFn: async ({ signal }): Promise<Preview> => {
      const o = object!;
      const type = o.mimeType.split(';')[0]!.trim();
      const isText =
        type.startsWith('text/') || type === 'application/json' || type.endsWith('+json');
      const media = type.startsWith('image/')
        ? 'image'
        : type === 'application/pdf'
          ? 'pdf'
          : type.startsWith('audio/')
            ? 'audio'
            : type.startsWith('video/')
              ? 'video'
              : undefined;
      if (!media && !isText) return { kind: 'none' };
      // Long enough to watch a video to its end.
      const { url } = await signedUrl(bucket, o.key, 3600);
      if (media) return { kind: media, url };
      const res = await fetch(url, {
        signal,
        headers: { Range: `bytes=0-${TEXT_PREVIEW_BYTES - 1}` },
      });
      if (!res.ok) throw new Error(`The file could not be read (${res.status})`);
      let text = await res.text();
      const truncated = o.size > TEXT_PREVIEW_BYTES;
      if (!truncated && (type === 'application/json' || type.endsWith('+json'))) {
        try {
          text = JSON.stringify(JSON.parse(text), null, 2);
        } catch {
          // Shown as it is.
        }
      }
      return { kind: 'text', text, truncated };
    },
  });
}
