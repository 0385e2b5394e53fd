import { Toaster as Sonner } from 'sonner';
import { useTheme } from '../lib/theme';

/** sonner, in the dashboard's theme and tokens. */
export function Toaster() {
  const { dark } = useTheme();
  return (
    <Sonner
      theme={dark ? 'dark' : 'light'}
      position="bottom-right"
      closeButton
      toastOptions={{
        classNames: {
          toast: '!bg-surface !text-fg !border-border !font-sans',
          description: '!text-muted',
        },
      }}
    />
  );
}
