/**
 * PLACEHOLDER: the table editor's structure tab, rendered by ./table-page.tsx (lazily, with
 * React.lazy on the default export) for /database/tables/$table?tab=structure. Replaced by the helper
 * building it; keep both exports and the props.
 */
import { ComingSoon } from './coming-soon';
import type { TableTabProps } from './types';

export function StructureTab({ schema, table }: TableTabProps) {
  return (
    <ComingSoon
      description={`The structure of ${schema}.${table} will be shown and edited here.`}
    />
  );
}

export default StructureTab;
