/**
 * A stand-in for an app developer's app: InsForge's own React auth components
 * (`@insforge/react`) pointed at a Kiln server. Built and served by
 * frontend/e2e/auth/insforge-react.spec.ts; `__KILN_URL__` is Kiln's base URL.
 *
 * `@insforge/react` 1.1.8 (its latest) calls `auth.getCurrentSession()`, which `@insforge/sdk`
 * dropped in 1.2.0, so the client here is `@insforge/sdk` 1.1.6 (installed under an alias).
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createClient } from 'insforge-sdk-for-react';
import {
  InsforgeProvider,
  SignIn,
  SignedIn,
  SignedOut,
  UserButton,
  useUser,
} from '@insforge/react';

declare const __KILN_URL__: string;

const client = createClient({ baseUrl: __KILN_URL__ });

function Welcome() {
  const { user } = useUser();
  return <h1>Signed in as {user?.email}</h1>;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <InsforgeProvider client={client} afterSignInUrl="/">
      <SignedOut>
        <SignIn />
      </SignedOut>
      <SignedIn>
        <Welcome />
        <UserButton />
      </SignedIn>
    </InsforgeProvider>
  </StrictMode>,
);
