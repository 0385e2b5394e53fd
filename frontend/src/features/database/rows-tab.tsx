/** The table editor's Rows tab (work in progress). */
import type { TableTabProps } from './types';

export function RowsTab({ schema, table }: TableTabProps) {
  return (
    <p className="text-sm text-muted">
      Rows of {schema}.{table}
    </p>
  );
}

export default RowsTab;
