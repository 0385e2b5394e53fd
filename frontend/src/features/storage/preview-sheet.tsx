/** A file's preview (images, PDF, audio, video, text, JSON) and details in a sheet; key in the URL. */
import { Download, FileQuestion } from 'lucide-react';
import { formatDateTime } from '../../lib/format';
import { Button } from '../../ui/button';
import { ErrorPanel } from '../../ui/error-panel';
import { EmptyState, Skeleton } from '../../ui/misc';
import { Sheet, SheetContent } from '../../ui/sheet';
import { formatBytes } from './format';
import { usePreview, type StoredObject } from './hooks';

export function PreviewSheet({
  bucket,
  object,
  onOpenChange,
  onDownload,
}: {
  bucket: string;
  object: StoredObject | undefined;
  onOpenChange: (open: boolean) => void;
  onDownload: (key: string) => void;
}) {
  const preview = usePreview(bucket, object);
  const name = object ? (object.key.split('/').pop() ?? object.key) : '';
  return (
    <Sheet open={object !== undefined} onOpenChange={onOpenChange}>
      {object && (
        <SheetContent
          title={name}
          description={`${object.mimeType} · ${formatBytes(object.size)} · ${formatDateTime(object.uploadedAt)}`}
          footer={
            <Button variant="outline" onClick={() => onDownload(object.key)}>
              <Download aria-hidden /> Download
            </Button>
          }
        >
          {preview.isLoading ? (
            <Skeleton className="h-64 w-full" />
          ) : preview.error ? (
            <ErrorPanel
              error={preview.error}
              title="Could not load the preview"
              onRetry={() => void preview.refetch()}
            />
          ) : preview.data?.kind === 'image' ? (
            <img
              src={preview.data.url}
              alt={`Preview of ${name}`}
              className="mx-auto max-h-[70vh] min-h-24 max-w-full min-w-24 rounded border border-border bg-surface-2 object-contain"
            />
          ) : preview.data?.kind === 'pdf' ? (
            <iframe
              src={preview.data.url}
              title={`Preview of ${name}`}
              className="h-[70vh] w-full rounded border border-border"
            />
          ) : preview.data?.kind === 'audio' ? (
            <audio
              src={preview.data.url}
              controls
              aria-label={`Preview of ${name}`}
              className="w-full"
            />
          ) : preview.data?.kind === 'video' ? (
            <video
              src={preview.data.url}
              controls
              aria-label={`Preview of ${name}`}
              className="max-h-[70vh] w-full rounded border border-border bg-black"
            />
          ) : preview.data?.kind === 'text' ? (
            <div>
              <pre
                aria-label={`Contents of ${name}`}
                tabIndex={0}
                className="max-h-[70vh] overflow-auto rounded border border-border bg-surface-2 p-3 font-mono text-xs whitespace-pre-wrap break-all"
              >
                {preview.data.text}
              </pre>
              {preview.data.truncated && (
                <p className="mt-2 text-xs text-muted">
                  The first 256 KB are shown; download the file for the rest.
                </p>
              )}
            </div>
          ) : (
            <EmptyState
              icon={FileQuestion}
              title="No preview for this type"
              description="Images, PDF, audio, video, text and JSON are shown here; download the file to open it."
            />
          )}
        </SheetContent>
      )}
    </Sheet>
  );
}
