import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';

interface Health {
  status: string;
  version: string;
  service: string;
  timestamp: string;
}

/** Placeholder dashboard: shows that the API is up. The full dashboard is a later milestone. */
function App() {
  const [health, setHealth] = useState<Health | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    fetch('/api/health')
      .then((r) => r.json() as Promise<Health>)
      .then(setHealth)
      .catch((e: unknown) => setError(String(e)));
  }, []);
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 640, margin: '4rem auto' }}>
      <h1>Kiln dashboard</h1>
      {health && (
        <p data-testid="health">
          {health.service} {health.version} is <strong>{health.status}</strong>
        </p>
      )}
      {error && <p role="alert">API unreachable: {error}</p>}
      <p>The admin dashboard is under construction. The REST API is served at /api.</p>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
