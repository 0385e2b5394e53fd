import { useState } from 'react';
import { Dialog as DialogPrimitive } from 'radix-ui';
import { cn } from '../lib/cn';
import { Button } from './button';
import { ModalFooter, ModalHeader } from './modal-parts';
import { Input } from './input';
import { FormField } from './form-field';

export const Dialog = DialogPrimitive.Root;
export const DialogTrigger = DialogPrimitive.Trigger;
export const DialogClose = DialogPrimitive.Close;

export interface DialogContentProps extends React.ComponentProps<typeof DialogPrimitive.Content> {
  title: string;
  description?: React.ReactNode;
  /** Buttons, right-aligned under the body. */
  footer?: React.ReactNode;
  size?: 'sm' | 'md' | 'lg' | 'xl';
}

const widths = { sm: 'max-w-sm', md: 'max-w-lg', lg: 'max-w-2xl', xl: 'max-w-4xl' };

export function DialogContent({
  title,
  description,
  footer,
  size = 'md',
  className,
  children,
  ...props
}: DialogContentProps) {
  return (
    <DialogPrimitive.Portal>
      {/* z-50 like sheets: a dialog opened from a sheet (a confirm) dims the sheet too. */}
      <DialogPrimitive.Overlay className="fixed inset-0 z-50 bg-overlay" />
      <DialogPrimitive.Content
        className={cn(
          'fixed top-1/2 left-1/2 z-50 flex max-h-[85vh] w-[calc(100vw-2rem)] -translate-x-1/2 -translate-y-1/2 flex-col',
          'rounded-lg border border-border bg-surface text-fg shadow-xl',
          widths[size],
          className,
        )}
        {...(description ? {} : { 'aria-describedby': undefined })}
        {...props}
      >
        <ModalHeader title={title} description={description} />
        {children && <div className="min-h-0 overflow-auto px-5 py-4">{children}</div>}
        {footer && <ModalFooter>{footer}</ModalFooter>}
      </DialogPrimitive.Content>
    </DialogPrimitive.Portal>
  );
}

export interface ConfirmDialogProps {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  description: React.ReactNode;
  /** The confirm button's text, e.g. "Rotate key". */
  confirmLabel: string;
  /** Red confirm button (deleting, revoking, rotating). */
  destructive?: boolean;
  /** The admin must type this exact text to enable the confirm button. */
  typeToConfirm?: string;
  /** Runs on confirm; the dialog shows progress until it settles and closes on success. */
  onConfirm: () => Promise<unknown> | void;
  children?: React.ReactNode;
}

export function ConfirmDialog({
  open,
  onOpenChange,
  title,
  description,
  confirmLabel,
  destructive,
  typeToConfirm,
  onConfirm,
  children,
}: ConfirmDialogProps) {
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const blocked = typeToConfirm !== undefined && typed !== typeToConfirm;
  const change = (next: boolean) => {
    if (busy) return;
    if (!next) setTyped('');
    onOpenChange(next);
  };
  const confirm = async () => {
    setBusy(true);
    try {
      await onConfirm();
      setTyped('');
      onOpenChange(false);
    } catch {
      // The mutation's toast reports the error; the dialog stays open to retry.
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open={open} onOpenChange={change}>
      <DialogContent
        title={title}
        description={description}
        size="sm"
        role="alertdialog"
        footer={
          <>
            <Button variant="outline" onClick={() => change(false)} disabled={busy}>
              Cancel
            </Button>
            <Button
              variant={destructive ? 'danger' : 'primary'}
              onClick={() => void confirm()}
              loading={busy}
              disabled={blocked}
            >
              {confirmLabel}
            </Button>
          </>
        }
      >
        {(children || typeToConfirm !== undefined) && (
          <div className="flex flex-col gap-3">
            {children}
            {typeToConfirm !== undefined && (
              <FormField label={`Type ${typeToConfirm} to confirm`}>
                <Input
                  value={typed}
                  onChange={(e) => setTyped(e.target.value)}
                  autoComplete="off"
                  spellCheck={false}
                />
              </FormField>
            )}
          </div>
        )}
      </DialogContent>
    </Dialog>
  );
}
