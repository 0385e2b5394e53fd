import { useState } from 'react';
import { Check, Copy } from 'lucide-react';
import { toast } from 'sonner';
import { Button, type ButtonProps } from './button';

async function writeClipboard(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain-HTTP origins other than localhost have no clipboard API: the old way.
  const area = document.createElement('textarea');
  area.value = text;
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('copy refused');
}

/** Copies `value`; `label` names what is copied (for screen readers and the toast). */
export function CopyButton({
  value,
  label,
  size = 'icon-sm',
  variant = 'ghost',
  ...props
}: Omit<ButtonProps, 'onClick' | 'value'> & { value: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <Button
      size={size}
      variant={variant}
      aria-label={`Copy ${label}`}
      title={`Copy ${label}`}
      onClick={() => {
        writeClipboard(value).then(
          () => {
            setCopied(true);
            toast.success(`Copied ${label}`);
            setTimeout(() => setCopied(false), 1500);
          },
          () => toast.error(`Could not copy ${label}`),
        );
      }}
      {...props}
    >
      {copied ? <Check aria-hidden /> : <Copy aria-hidden />}
      {size !== 'icon' && size !== 'icon-sm' && props.children}
    </Button>
  );
}
