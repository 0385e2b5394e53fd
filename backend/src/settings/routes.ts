/**
 * The project's settings for the dashboard, mounted at /api/settings (admins only): the URL, the
 * settings that change at run time (RuntimeSettings) and the read-only ones from the environment,
 * each with where its value came from. Secret values never leave the server.
 */
import {
  settingsResponseSchema,
  updateSettingsRequestSchema,
  type SettingsResponse,
} from '@kiln/shared-schemas';
import { isSecretVariable, type Config } from '../core/config.js';
import { route, type RouteGroup } from '../core/route.js';
import { RUNTIME_SETTINGS, type RuntimeSettings } from './runtime.js';

/** A value as text; credentials written into a URL (`https://user:pass@host`) are masked. */
function shown(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const text = Array.isArray(value) ? value.join(',') : String(value);
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}

/** The environment's variables in name order, secrets masked; run-time ones are listed apart. */
export function environmentSettings(config: Config): SettingsResponse['environment'] {
  const runtimeNames = new Set<string>(Object.values(RUNTIME_SETTINGS).map((s) => s.envName));
  return Object.entries(config.variables)
    .filter(([name]) => !runtimeNames.has(name))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, { value, fromEnvironment }]) => {
      const secret = isSecretVariable(name);
      const text = shown(value);
      return {
        name,
        value: secret ? null : text,
        source: fromEnvironment ? ('environment' as const) : ('default' as const),
        secret,
        isSet: text !== null,
      };
    });
}

export function settingsRoutes(settings: RuntimeSettings, config: Config): RouteGroup {
  const answer = async (): Promise<SettingsResponse> => ({
    project: { url: config.apiBaseUrl, version: config.version },
    runtime: await settings.describe(),
    environment: environmentSettings(config),
  });
  return {
    tag: 'settings',
    access: 'admin',
    routes: [
      route({
        method: 'get',
        path: '/',
        summary: 'The project URL, the run-time settings and the environment (secrets masked)',
        responses: { 200: settingsResponseSchema },
        handler: answer,
      }),
      route({
        method: 'patch',
        path: '/',
        summary: 'Change run-time settings (null: back to the environment or the default)',
        description:
          'Applies on this instance at once and on every other instance within two seconds, ' +
          'without a restart.',
        body: updateSettingsRequestSchema,
        responses: { 200: settingsResponseSchema },
        handler: async ({ body }) => {
          await settings.update(body);
          return answer();
        },
      }),
    ],
  };
}
