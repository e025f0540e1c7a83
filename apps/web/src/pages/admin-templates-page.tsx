import type { CreateTemplateRequest, Template } from '@streamspace/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { templatesApi } from '../api/admin-api';
import { errorMessage } from '../api/api-error';
import { queryKeys } from '../api/query-keys';
import { Dialog } from '../components/confirm-dialog';
import { ErrorPanel, InlineError } from '../components/error-panel';
import { PageHeader } from '../components/page-header';
import { Spinner } from '../components/spinner';
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
      {templates.isPending ? <Spinner label="Loading templates" /> : null}
      {templates.error ? (
        <ErrorPanel title="Cannot load templates" message={errorMessage(templates.error)} />
      ) : null}
      <InlineError message={toggle.error ? errorMessage(toggle.error) : null} />
      {templates.data ? (
        <table className="table table-cards">
          <thead>
            <tr>
              <th scope="col">Template</th>
              <th scope="col">Image</th>
              <th scope="col">Resources</th>
              <th scope="col">Idle timeout</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {templates.data.map((template) => (
              <tr key={template.id} data-template-id={template.id}>
                <td data-label="Template" className="cell-title">
                  <div className="cell">
                    <AppIcon icon={template.icon} name={template.name} /> {template.name}
                    <span className="cell-reason mono">{template.id}</span>
                  </div>
                </td>
                <td data-label="Image" className="mono">
                  <div className="cell">{template.image}</div>
                </td>
                <td data-label="Resources">
                  <div className="cell">{formatResources(template)}</div>
                </td>
                <td data-label="Idle timeout">
                  <div className="cell">
                    {template.idleTimeoutMinutes ? `${template.idleTimeoutMinutes} min` : 'default'}
                  </div>
                </td>
                <td data-label="Status">
                  <div className="cell">
                    <span className={template.enabled ? 'badge badge-ok' : 'badge badge-muted'}>
                      {template.enabled ? 'enabled' : 'disabled'}
                    </span>
                  </div>
                </td>
                <td data-label="Actions">
                  <div className="cell">
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
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
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
