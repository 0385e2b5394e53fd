/**
 * Uploads into the open folder: files or a folder from the pickers, or dropped on the browser (a
 * folder keeps its paths), all at once, each with its own progress bar and cancel button.
 */
import { useCallback, useRef, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { CheckCircle2, FolderUp, Upload, X, XCircle } from 'lucide-react';
import { cn } from '../../lib/cn';
import { queryKeys } from '../../lib/query';
import { Button } from '../../ui/button';
import { formatBytes } from './format';
import { uploadObject } from './hooks';

interface UploadItem {
  id: number;
  key: string;
  size: number;
  progress: number;
  status: 'uploading' | 'done' | 'failed' | 'cancelled';
  error?: string;
  controller: AbortController;
}

let nextId = 1;

/** Files of a drop, folders walked (their paths kept, relative to the drop). */
async function droppedFiles(dt: DataTransfer): Promise<{ file: File; path: string }[]> {
  const entries = [...dt.items]
    .map((i) => (i.kind === 'file' ? i.webkitGetAsEntry?.() : null))
    .filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0) return [...dt.files].map((file) => ({ file, path: file.name }));
  const out: { file: File; path: string }[] = [];
  const walk = async (entry: FileSystemEntry, dir: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) =>
        (entry as FileSystemFileEntry).file(resolve, reject),
      );
      out.push({ file, path: `${dir}${file.name}` });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
          reader.readEntries(resolve, reject),
        );
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, `${dir}${entry.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}

export function UploadZone({
  bucket,
  prefix,
  children,
}: {
  bucket: string;
  prefix: string;
  children: (uploadButton: React.ReactNode) => React.ReactNode;
}) {
  const client = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const [items, setItems] = useState<UploadItem[]>([]);
  const [dragging, setDragging] = useState(false);

  const update = (id: number, patch: Partial<UploadItem>) =>
    setItems((list) => list.map((i) => (i.id === id ? { ...i, ...patch } : i)));

  const start = useCallback(
    (files: { file: File; path: string }[]) => {
      const started = files.map(({ file, path }) => ({
        item: {
          id: nextId++,
          key: `${prefix}${path}`,
          size: file.size,
          progress: 0,
          status: 'uploading' as const,
          controller: new AbortController(),
        },
        file,
      }));
      setItems((list) => [...started.map((s) => s.item), ...list]);
      void Promise.all(
        started.map(async ({ item, file }) => {
          try {
            await uploadObject(
              bucket,
              item.key,
              file,
              (f) => update(item.id, { progress: Math.min(f, 0.99) }),
              item.controller.signal,
            );
            update(item.id, { progress: 1, status: 'done' });
          } catch (err) {
            const cancelled = err instanceof DOMException && err.name === 'AbortError';
            update(item.id, {
              status: cancelled ? 'cancelled' : 'failed',
              error: cancelled ? undefined : err instanceof Error ? err.message : String(err),
            });
          }
        }),
      ).then(() => client.invalidateQueries({ queryKey: queryKeys.storage.all }));
    },
    [bucket, prefix, client],
  );

  const uploadButton = (
    <>
      <input
        ref={input}
        type="file"
        multiple
        className="sr-only"
        tabIndex={-1}
        aria-label="Files to upload"
        onChange={(e) => {
          const files = [...(e.target.files ?? [])];
          e.target.value = '';
          if (files.length) start(files.map((file) => ({ file, path: file.name })));
        }}
      />
      <input
        ref={folderInput}
        type="file"
        multiple
        className="sr-only"
        tabIndex={-1}
        aria-label="Folder to upload"
        {...{ webkitdirectory: '' }}
        onChange={(e) => {
          const files = [...(e.target.files ?? [])];
          e.target.value = '';
          if (files.length) {
            start(files.map((file) => ({ file, path: file.webkitRelativePath || file.name })));
          }
        }}
      />
      <Button size="sm" variant="outline" onClick={() => folderInput.current?.click()}>
        <FolderUp aria-hidden /> Upload folder
      </Button>
      <Button size="sm" onClick={() => input.current?.click()}>
        <Upload aria-hidden /> Upload files
      </Button>
    </>
  );

  const active = items.some((i) => i.status === 'uploading');
  return (
    <div
      className="relative"
      onDragOver={(e) => {
        if (![...e.dataTransfer.types].includes('Files')) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false);
      }}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        void droppedFiles(e.dataTransfer).then((files) => files.length && start(files));
      }}
    >
      {children(uploadButton)}
      {dragging && (
        <div className="pointer-events-none absolute inset-0 z-10 grid place-items-center rounded-lg border-2 border-dashed border-primary bg-accent/80">
          <p className="text-sm font-medium text-primary">
            Drop to upload into {prefix || `${bucket}/`}
          </p>
        </div>
      )}
      {items.length > 0 && (
        <section
          aria-label="Uploads"
          className="mt-4 rounded-lg border border-border bg-surface shadow-xs"
        >
          <header className="flex items-center justify-between border-b border-border px-4 py-2">
            <h2 className="text-sm font-semibold">Uploads</h2>
            <Button
              size="sm"
              variant="ghost"
              disabled={active}
              onClick={() => setItems((list) => list.filter((i) => i.status === 'uploading'))}
            >
              Clear finished
            </Button>
          </header>
          <ul className="divide-y divide-border">
            {items.map((item) => (
              <li key={item.id} className="flex items-center gap-3 px-4 py-2 text-sm">
                <div className="min-w-0 flex-1">
                  <div className="flex items-center justify-between gap-3">
                    <span className="truncate" title={item.key}>
                      {item.key}
                    </span>
                    <span className="shrink-0 text-xs text-muted tabular-nums">
                      {item.status === 'failed'
                        ? 'Failed'
                        : item.status === 'cancelled'
                          ? 'Cancelled'
                          : `${Math.round(item.progress * 100)} % of ${formatBytes(item.size)}`}
                    </span>
                  </div>
                  <div
                    role="progressbar"
                    aria-label={`Upload of ${item.key}`}
                    aria-valuemin={0}
                    aria-valuemax={100}
                    aria-valuenow={Math.round(item.progress * 100)}
                    className="mt-1.5 h-1.5 overflow-hidden rounded-full bg-surface-2"
                  >
                    <div
                      className={cn(
                        'h-full rounded-full transition-[width]',
                        item.status === 'failed'
                          ? 'bg-danger'
                          : item.status === 'cancelled'
                            ? 'bg-border-strong'
                            : item.status === 'done'
                              ? 'bg-success'
                              : 'bg-primary',
                      )}
                      style={{ width: `${Math.round(item.progress * 100)}%` }}
                    />
                  </div>
                  {item.error && <p className="mt-1 text-xs text-danger">{item.error}</p>}
                </div>
                {item.status === 'uploading' ? (
                  <Button
                    size="icon-sm"
                    variant="ghost"
                    aria-label={`Cancel upload of ${item.key}`}
                    title="Cancel"
                    onClick={() => item.controller.abort()}
                  >
                    <X aria-hidden />
                  </Button>
                ) : item.status === 'done' ? (
                  <CheckCircle2 className="size-4 text-success" aria-label="Uploaded" />
                ) : (
                  <XCircle className="size-4 text-muted" aria-hidden />
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
