import type { Template } from '@streamspace/protocol';
import { AppIcon } from '../../components/app-icon';

export function formatResources(template: Template): string {
  const cpus = template.resources.cpuMillis / 1000;
  const memory =
    template.resources.memoryMb >= 1024
      ? `${(template.resources.memoryMb / 1024).toFixed(template.resources.memoryMb % 1024 ? 1 : 0)} GB`
      : `${template.resources.memoryMb} MB`;
  return `${cpus} CPU${cpus === 1 ? '' : 's'} · ${memory} memory`;
}

export function TemplateCard({
  template,
  onLaunch,
}: {
  template: Template;
  onLaunch: (template: Template) => void;
}) {
  return (
    <article className="card template-card" aria-labelledby={`template-${template.id}`}>
      <div className="template-card-head">
        <AppIcon icon={template.icon} name={template.name} />
        <h2 id={`template-${template.id}`}>{template.name}</h2>
      </div>
      <p className="template-description">{template.description || 'No description.'}</p>
      <p className="template-resources">{formatResources(template)}</p>
      <button
        type="button"
        className="btn btn-primary"
        onClick={() => onLaunch(template)}
        aria-label={`Launch ${template.name}`}
      >
        Launch
      </button>
    </article>
  );
}
