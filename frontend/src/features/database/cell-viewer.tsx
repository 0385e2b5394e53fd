/** The full value of a cell too long for the grid: pretty-printed, selectable, copyable. */
import { CopyButton } from '../../ui/copy-button';
import { Dialog, DialogContent } from '../../ui/dialog';

export function CellViewer({
  open,
  onOpenChange,
  column,
  value,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  column: string;
  value: unknown;
}) {
  const text =
    value !== null && typeof value === 'object' ? JSON.stringify(value, null, 2) : String(value);
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent
        title={`Value of ${column}`}
        description={`${text.length.toLocaleString('en-US')} characters`}
        size="lg"
        footer={
          <CopyButton value={text} label="value" size="sm" variant="outline">
            Copy
          </CopyButton>
        }
      >
        <pre className="max-h-[60vh] overflow-auto rounded-md bg-surface-2 p-3 font-mono text-xs break-all whitespace-pre-wrap">
          {text}
        </pre>
      </DialogContent>
    </Dialog>
  );
}
