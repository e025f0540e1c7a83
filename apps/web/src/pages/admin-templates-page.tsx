import type { CreateTemplateRequest, Template } from '@streamspace/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { templatesApi } from '../api/admin-api';
import { errorMessage } from '../api/api-error';
import { queryKeys } from '../api/query-keys';
import { Dialog } from '../components/confirm-dialog';
import { CardTable, Cell } from '../components/card-table';
import { InlineError } from '../components/error-panel';
import { PageHeader } from '../components/page-header';
import { QueryStatus } from '../components/query-status';
import { TemplateForm } from '../features/admin/template-form';
import { formatResources } from '../features/catalog/template-card';
import { AppIcon } from '../components/app-icon';

export function AdminTemplatesPage() {
  const queryClient = useQueryClient();
  const templates = useQuery({ queryKey: queryKeys.templates, queryFn: templatesApi.list });
  const [editing, setEditing] = useState<Template | 'new' | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: queryKeys.templates });
  const save = useMutation({
    mutationFn: ({ id, ...rest }: CreateTemplateRequest) =>
      editing === 'new' ? templatesApi.create({ id, ...rest }) : templatesApi.update(id, rest),
    onSuccess: async () => {
      await refresh();
      setEditing(null);
    },
  });
  const toggle = useMutation({
    mutationFn: (template: Template) =>
      templatesApi.update(template.id, { enabled: !template.enabled }),
    onSuccess: refresh,
  });

  return (
    <>
      <PageHeader title="Templates">
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => {
            save.reset();
            setEditing('new');
          }}
        >
          New template
        </button>
      </PageHeader>
      <QueryStatus
        query={templates}
        loading="Loading templates"
        errorTitle="Cannot load templates"
      />
      <InlineError message={toggle.error ? errorMessage(toggle.error) : null} />
      {templates.data ? (
        <CardTable columns={['Template', 'Image', 'Resources', 'Idle timeout', 'Status']}>
          {templates.data.map((template) => (
            <tr key={template.id} data-template-id={template.id}>
              <Cell label="Template" className="cell-title">
                <AppIcon icon={template.icon} name={template.name} /> {template.name}
                <span className="cell-reason mono">{template.id}</span>
              </Cell>
              <Cell label="Image" className="mono">
                {template.image}
              </Cell>
              <Cell label="Resources">{formatResources(template)}</Cell>
              <Cell label="Idle timeout">
                {template.idleTimeoutMinutes ? `${template.idleTimeoutMinutes} min` : 'default'}
              </Cell>
              <Cell label="Status">
                <span className={template.enabled ? 'badge badge-ok' : 'badge badge-muted'}>
                  {template.enabled ? 'enabled' : 'disabled'}
                </span>
              </Cell>
              <Cell label="Actions">
                <div className="actions">
                  <button
                    type="button"
                    className="btn btn-small"
                    onClick={() => {
                      save.reset();
                      setEditing(template);
                    }}
                    aria-label={`Edit ${template.name}`}
                  >
                    Edit
                  </button>
                  <button
                    type="button"
                    className="btn btn-small"
                    onClick={() => toggle.mutate(template)}
                    aria-label={`${template.enabled ? 'Disable' : 'Enable'} ${template.name}`}
                  >
                    {template.enabled ? 'Disable' : 'Enable'}
                  </button>
                </div>
              </Cell>
            </tr>
          ))}
        </CardTable>
      ) : null}
      <Dialog
        open={editing !== null}
        title={editing === 'new' ? 'New template' : `Edit ${editing?.name ?? ''}`}
        onClose={() => setEditing(null)}
      >
        {editing !== null ? (
          <TemplateForm
            key={editing === 'new' ? 'new' : editing.id}
            template={editing === 'new' ? null : editing}
            pending={save.isPending}
            serverError={save.error ? errorMessage(save.error) : null}
            onSubmit={(value) => save.mutate(value)}
            onCancel={() => setEditing(null)}
          />
        ) : null}
      </Dialog>
    </>
  );
}
