/**
 * Where Kiln may send a browser back to (email links, OAuth): an http(s) URL on this API's own
 * origin, or one matching an entry of the auth config's `allowedRedirectUrls`. An entry matches
 * exactly (query and fragment aside), or as a prefix when it ends with `*`
 * (`https://app.example.com/*`). Anything else would be an open redirect.
 */
export function isAllowedRedirect(
  candidate: string,
  allowed: string[],
  apiBaseUrl: string,
): boolean {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
  if (url.username || url.password) return false;
  const bare = `${url.origin}${url.pathname}`;
  try {
    if (url.origin === new URL(apiBaseUrl).origin) return true;
  } catch {
    /* no usable API_BASE_URL */
  }
  return allowed.some((entry) => {
    if (entry.endsWith('*')) {
      const prefix = entry.slice(0, -1);
      // The prefix must fix the origin at least: "https://app.example.com/" not "https://app".
      const origin = /^https?:\/\/[^/]+\//.test(prefix);
      return origin && `${bare}`.startsWith(prefix);
    }
    try {
      const e = new URL(entry);
      return `${e.origin}${e.pathname}` === bare;
    } catch {
      return false;
    }
  });
}
