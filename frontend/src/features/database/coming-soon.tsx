/** What a Database view shows until its page is built (used by the placeholder files). */
import { Construction } from 'lucide-react';
import { Card, EmptyState } from '../../ui/misc';
import { SectionHeader } from './section-header';

export function ComingSoon({ title, description }: { title?: string; description: string }) {
  return (
    <div className="flex flex-col gap-4">
      {title && <SectionHeader title={title} description={description} />}
      <Card>
        <EmptyState
          icon={Construction}
          title="Coming soon"
          description={
            title
              ? 'This view is being built. Meanwhile the same operations are available through the API (see /api/docs).'
              : description
          }
        />
      </Card>
    </div>
  );
}
