import { Dialog as DialogPrimitive } from 'radix-ui';
import { X } from 'lucide-react';
import { Button } from './button';

/** The title bar of a dialog or sheet: title, optional description, close button. */
export function ModalHeader({
  title,
  description,
}: {
  title: string;
  description?: React.ReactNode;
}) {
  return (
    <div className="flex items-start justify-between gap-4 border-b border-border px-5 py-4">
      <div className="min-w-0">
        <DialogPrimitive.Title className="text-base font-semibold">{title}</DialogPrimitive.Title>
        {description && (
          <DialogPrimitive.Description className="mt-1 text-sm text-muted">
            {description}
          </DialogPrimitive.Description>
        )}
      </div>
      <DialogPrimitive.Close asChild>
        <Button variant="ghost" size="icon-sm" aria-label="Close">
          <X aria-hidden />
        </Button>
      </DialogPrimitive.Close>
    </div>
  );
}

/** Buttons, right-aligned under a dialog's or sheet's body. */
export function ModalFooter({ children }: { children: React.ReactNode }) {
  return <div className="flex justify-end gap-2 border-t border-border px-5 py-3">{children}</div>;
}
