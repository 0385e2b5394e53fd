/**
 * One catalog per language (src/i18n/<lang>.ts). The language: the `lang` query parameter, else
 * the first of the browser's languages (navigator.languages mirrors Accept-Language) that has a
 * catalog, else English. English is in the main bundle; the others load on demand.
 */
import { createContext, useContext } from 'react';
import { en, type Catalog, type MessageKey } from '../i18n/en';

export const LANGUAGES = { en: 'English', fr: 'Français' } as const;
export type Lang = keyof typeof LANGUAGES;

const loaders: Record<Lang, () => Promise<Catalog>> = {
  en: async () => en,
  fr: async () => (await import('../i18n/fr')).fr,
};

export function pickLanguage(param: string | null, preferred: readonly string[]): Lang {
  for (const candidate of [param, ...preferred]) {
    const base = candidate?.toLowerCase().split('-')[0];
    if (base && base in LANGUAGES) return base as Lang;
  }
  return 'en';
}

export const loadCatalog = (lang: Lang) => loaders[lang]();

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export function translator(catalog: Catalog): Translate {
  return (key, params) => {
    const text = catalog[key] ?? en[key];
    return params ? text.replace(/\{(\w+)\}/g, (m, k: string) => String(params[k] ?? m)) : text;
  };
}

export const I18nContext = createContext<{ t: Translate; lang: Lang }>({
  t: translator(en),
  lang: 'en',
});
export const useI18n = () => useContext(I18nContext);
