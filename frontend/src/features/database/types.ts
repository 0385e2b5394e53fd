/** Props every tab of the table editor receives (features/database/*-tab.tsx). */
export interface TableTabProps {
  schema: string;
  table: string;
}
