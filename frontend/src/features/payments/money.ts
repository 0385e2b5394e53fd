/** Amounts arrive in the currency's smallest unit (cents, paise; yen have none). */
export function formatMoney(amount: number | null, currency: string): string {
  if (amount === null) return '—';
  const code = currency.toUpperCase();
  try {
    const format = new Intl.NumberFormat('en-US', { style: 'currency', currency: code });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(amount / 10 ** digits);
  } catch {
    return `${amount} ${code}`;
  }
}

/** "12.50" in `currency` → 1250 (its smallest unit); NaN when it is not an amount. */
export function toMinorUnits(text: string, currency: string): number {
  if (!/^\d+(\.\d+)?$/.test(text.trim())) return NaN;
  let digits = 2;
  try {
    digits =
      new Intl.NumberFormat('en-US', {
        style: 'currency',
        currency: currency.toUpperCase(),
      }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    /* an unknown code: the API says so */
  }
  return Math.round(Number(text) * 10 ** digits);
}
