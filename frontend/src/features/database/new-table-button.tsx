/**
 * PLACEHOLDER: the table list's "New table" action (the create-table form with its SQL preview),
 * rendered in the list's header by ./tables-page.tsx. Replaced by the helper building the forms;
 * keep the export and its props. Renders nothing until then.
 */
export function NewTableButton(_props: { schema: string }) {
  return null;
}
