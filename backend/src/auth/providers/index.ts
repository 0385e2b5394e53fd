import { apple } from './apple.js';
import { discord } from './discord.js';
import { facebook } from './facebook.js';
import { github } from './github.js';
import { google } from './google.js';
import { linkedin } from './linkedin.js';
import { microsoft } from './microsoft.js';
import type { BuiltInProvider } from './types.js';
import { x } from './x.js';

export const BUILT_IN_PROVIDERS: Record<string, BuiltInProvider> = Object.fromEntries(
  [google, github, microsoft, discord, linkedin, x, apple, facebook].map((p) => [p.name, p]),
);
export type { BuiltInProvider, ProviderIdentity } from './types.js';
