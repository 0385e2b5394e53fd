import { Dialog as DialogPrimitive } from 'radix-ui';
import { cn } from '../lib/cn';
import { ModalFooter, ModalHeader } from './modal-parts';

export const Sheet = DialogPrimitive.Root;
export const SheetTrigger = DialogPrimitive.Trigger;

/** A panel sliding in from the right (row details, editors). */
export function SheetContent({
  title,
  description,
  footer,
  className,
  children,
  ...props
}: React.ComponentProps<typeof DialogPrimitive.Content> & {
  title: string;
  description?: React.ReactNode;
  footer?: React.ReactNode;
}) {
  return (
    <DialogPrimitive.Portal>
      <DialogPrimitive.Overlay className="fixed inset-0 z-40 bg-overlay" />
      <DialogPrimitive.Content
        className={cn(
          'fixed inset-y-0 right-0 z-50 flex w-[min(560px,100vw)] flex-col border-l border-border bg-surface text-fg shadow-xl',
          className,
        )}
        {...(description ? {} : { 'aria-describedby': undefined })}
        {...props}
      >
        <ModalHeader title={title} description={description} />
        <div className="min-h-0 flex-1 overflow-auto px-5 py-4">{children}</div>
        {footer && <ModalFooter>{footer}</ModalFooter>}
      </DialogPrimitive.Content>
    </DialogPrimitive.Portal>
  );
}
