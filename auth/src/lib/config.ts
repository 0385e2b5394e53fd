import { createContext, useContext } from 'react';

/** GET /api/auth/public-config: what the pages offer and how they look. */
export interface PublicConfig {
  requireEmailVerification: boolean;
  passwordMinLength: number;
  requireNumber: boolean;
  requireLowercase: boolean;
  requireUppercase: boolean;
  requireSpecialChar: boolean;
  verifyEmailMethod: 'code' | 'link';
  resetPasswordMethod: 'code' | 'link';
  disableSignup: boolean;
  allowAnonymousSignIn: boolean;
  oAuthProviders: string[];
  customOAuthProviders: string[];
  appName: string | null;
  logoUrl: string | null;
  primaryColor: string | null;
  defaultTheme: 'system' | 'light' | 'dark';
  termsUrl: string | null;
  privacyUrl: string | null;
  allowEmailOtp: boolean;
  allowMagicLink: boolean;
  allowAccountDeletion: boolean;
}

export const ConfigContext = createContext<PublicConfig | null>(null);
export function useConfig(): PublicConfig {
  const config = useContext(ConfigContext);
  if (!config) throw new Error('public config not loaded');
  return config;
}

/** Black or white text, whichever reads better on the brand colour (WCAG relative luminance). */
export function contrastOn(hex: string): string {
  const channel = (i: number) => {
    const c = parseInt(hex.slice(1 + 2 * i, 3 + 2 * i), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
  return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? '#ffffff' : '#111111';
}

const LABELS: Record<string, string> = {
  google: 'Google',
  github: 'GitHub',
  microsoft: 'Microsoft',
  discord: 'Discord',
  linkedin: 'LinkedIn',
  x: 'X',
  apple: 'Apple',
  facebook: 'Facebook',
};
export const providerLabel = (key: string) =>
  LABELS[key] ?? key.replace(/[-_]+/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase());
