import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

/** Placeholder for the hosted sign-in pages (a later milestone fills them in). */
function App() {
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 420, margin: '4rem auto' }}>
      <h1>Sign in</h1>
      <p>Kiln&apos;s hosted sign-in pages are under construction.</p>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
