import { useState } from 'react';
import { ApiError, type Field } from './api';
import { useI18n } from './i18n';

/** A form's busy flag and its errors by field, from the API's answer. */
export function useSubmit() {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setErrors({});
    try {
      await work();
    } catch (err) {
      if (err instanceof ApiError) setErrors({ [err.field]: err.message });
      else setErrors({ form: t('common.unexpected') });
    } finally {
      setBusy(false);
    }
  };
  return { busy, errors, setErrors, run };
}
