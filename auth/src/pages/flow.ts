import { adoptSession, type SignInResult } from '../lib/api';
import { finishSignIn, href, navigate } from '../lib/nav';

/** After a first factor: the second factor's page, or done. */
export async function afterFirstFactor(result: SignInResult | null | undefined): Promise<void> {
  if (result && result.requireMfa) {
    navigate(href('mfa'), { mfaToken: result.mfaToken });
    return;
  }
  if (result?.accessToken) adoptSession(result.accessToken);
  await finishSignIn();
}

/** Cooldown of a resend button, in seconds left (ticks once a second). */
export const RESEND_COOLDOWN_S = 60;
