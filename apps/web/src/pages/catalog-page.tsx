import type { Template } from '@streamspace/protocol';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { templatesApi } from '../api/admin-api';
import { queryKeys } from '../api/query-keys';
import { PageHeader } from '../components/page-header';
import { QueryStatus } from '../components/query-status';
import { LaunchDialog } from '../features/catalog/launch-dialog';
import { TemplateCard } from '../features/catalog/template-card';

export function CatalogPage() {
  const templates = useQuery({ queryKey: queryKeys.templates, queryFn: templatesApi.list });
  const [launching, setLaunching] = useState<Template | null>(null);
  const enabled = (templates.data ?? []).filter((template) => template.enabled);

  return (
    <>
      <PageHeader title="Apps" />
      <QueryStatus query={templates} loading="Loading apps" errorTitle="Cannot load the apps" />
      {templates.data && enabled.length === 0 ? (
        <p className="empty">No apps are available yet. An administrator can add templates.</p>
      ) : null}
      <div className="card-grid">
        {enabled.map((template) => (
          <TemplateCard key={template.id} template={template} onLaunch={setLaunching} />
        ))}
      </div>
      {launching ? <LaunchDialog template={launching} onClose={() => setLaunching(null)} /> : null}
    </>
  );
}
