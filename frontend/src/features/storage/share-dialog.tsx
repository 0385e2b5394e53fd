/** Links to one file: its public URL (public buckets) and a signed URL with a chosen lifetime. */
import { useId, useState } from 'react';
import { Button } from '../../ui/button';
import { CopyButton } from '../../ui/copy-button';
import { Dialog, DialogContent } from '../../ui/dialog';
import { errorToastDescription } from '../../lib/mutation';
import { FormField } from '../../ui/form-field';
import { Input, Label } from '../../ui/input';
import { Select } from '../../ui/select';
import { formatDateTime } from '../../lib/format';
import { signedUrl, type StoredObject } from './hooks';

const expiries = [
  { value: '300', label: '5 minutes' },
  { value: '3600', label: '1 hour' },
  { value: '86400', label: '1 day' },
  { value: '604800', label: '7 days' },
];

export function ShareDialog({
  bucket,
  isPublic,
  object,
  onOpenChange,
}: {
  bucket: string;
  isPublic: boolean;
  object: StoredObject | undefined;
  onOpenChange: (open: boolean) => void;
}) {
  return (
    <Dialog open={object !== undefined} onOpenChange={onOpenChange}>
      {object && (
        <DialogContent
          title={`Links to ${object.key.split('/').pop() ?? object.key}`}
          description={object.key.includes('/') ? object.key : undefined}
          footer={
            <Button variant="outline" onClick={() => onOpenChange(false)}>
              Close
            </Button>
          }
        >
          <ShareBody key={object.key} bucket={bucket} isPublic={isPublic} object={object} />
        </DialogContent>
      )}
    </Dialog>
  );
}

function ShareBody({
  bucket,
  isPublic,
  object,
}: {
  bucket: string;
  isPublic: boolean;
  object: StoredObject;
}) {
  const id = useId();
  const [expiresIn, setExpiresIn] = useState('3600');
  const [link, setLink] = useState<{ url: string; expiresAt: string | null } | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [pending, setPending] = useState(false);

  const create = async () => {
    setPending(true);
    setError(undefined);
    try {
      setLink(await signedUrl(bucket, object.key, Number(expiresIn)));
    } catch (err) {
      setError(
        [err instanceof Error ? err.message : String(err), errorToastDescription(err)]
          .filter(Boolean)
          .join(' · '),
      );
    } finally {
      setPending(false);
    }
  };

  return (
    <div className="flex flex-col gap-5">
      {isPublic && (
        <div className="flex flex-col gap-1.5">
          <Label htmlFor={`${id}-public`}>Public URL</Label>
          <div className="flex gap-2">
            <Input id={`${id}-public`} readOnly value={object.url} className="font-mono text-xs" />
            <CopyButton value={object.url} label="public URL" variant="outline" size="icon" />
          </div>
        </div>
      )}
      <div className="flex flex-col gap-3">
        <div className="flex items-end gap-2">
          <div className="flex-1">
            <FormField label="Signed URL valid for">
              <Select
                value={expiresIn}
                onValueChange={(v) => {
                  setExpiresIn(v);
                  setLink(undefined);
                }}
                options={expiries}
              />
            </FormField>
          </div>
          <Button onClick={() => void create()} loading={pending}>
            Create signed URL
          </Button>
        </div>
        {error && <p className="text-sm text-danger">{error}</p>}
        {link && (
          <div className="flex flex-col gap-1.5">
            <Label htmlFor={`${id}-signed`}>Signed URL</Label>
            <div className="flex gap-2">
              <Input id={`${id}-signed`} readOnly value={link.url} className="font-mono text-xs" />
              <CopyButton value={link.url} label="signed URL" variant="outline" size="icon" />
            </div>
            <p className="text-xs text-muted">
              {link.expiresAt
                ? `Valid until ${formatDateTime(link.expiresAt)}; replacing or deleting the file revokes it.`
                : 'This bucket is public: the link does not expire.'}
            </p>
          </div>
        )}
      </div>
    </div>
  );
}
