/**
 * PLACEHOLDER: the table editor's policies tab, rendered by ./table-page.tsx (lazily, with
 * React.lazy on the default export) for /database/tables/$table?tab=policies. Replaced by the helper
 * building it; keep both exports and the props.
 */
import { ComingSoon } from './coming-soon';
import type { TableTabProps } from './types';

export function PoliciesTab({ schema, table }: TableTabProps) {
  return (
    <ComingSoon description={`The policies of ${schema}.${table} will be shown and edited here.`} />
  );
}

export default PoliciesTab;
