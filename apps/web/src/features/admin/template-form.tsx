import { CreateTemplateRequest, type Template } from '@streamspace/protocol';
import { useState } from 'react';
import { InlineError } from '../../components/error-panel';
import { CommandLineError, formatCommandLine, parseCommandLine } from './command-line';
import { FormActions } from '../../components/confirm-dialog';

type Draft = Record<
  | 'id'
  | 'name'
  | 'description'
  | 'icon'
  | 'image'
  | 'app'
  | 'windowManager'
  | 'cpuMillis'
  | 'memoryMb'
  | 'idleTimeoutMinutes'
  | 'maxDurationMinutes'
  | 'homeIsolation',
  string
> & { enabled: boolean };

function toDraft(template: Template | null): Draft {
  return {
    id: template?.id ?? '',
    name: template?.name ?? '',
    description: template?.description ?? '',
    icon: template?.icon ?? '🖥️',
    image: template?.image ?? 'streamspace/desktop:latest',
    app: template ? formatCommandLine(template.app) : 'xterm',
    windowManager: template?.windowManager ?? 'twm',
    cpuMillis: String(template?.resources.cpuMillis ?? 1000),
    memoryMb: String(template?.resources.memoryMb ?? 1024),
    idleTimeoutMinutes: template?.idleTimeoutMinutes?.toString() ?? '',
    maxDurationMinutes: template?.maxDurationMinutes?.toString() ?? '',
    homeIsolation: template?.homeIsolation ?? 'user',
    enabled: template?.enabled ?? true,
  };
}

const optionalInt = (text: string) => (text.trim() === '' ? null : Number(text));

type DraftResult = { ok: true; value: CreateTemplateRequest } | { ok: false; message: string };

/**
 * Validated with the protocol's CreateTemplateRequest schema: the server's own rules. The app
 * command is split like a shell line so quoted arguments keep their spaces.
 */
function parseDraft(draft: Draft): DraftResult {
  let app: string[];
  try {
    app = parseCommandLine(draft.app);
  } catch (error) {
    if (error instanceof CommandLineError) return { ok: false, message: `app: ${error.message}` };
    throw error;
  }
  const parsed = CreateTemplateRequest.safeParse({
    id: draft.id.trim(),
    name: draft.name.trim(),
    description: draft.description,
    icon: draft.icon.trim(),
    image: draft.image.trim(),
    app,
    windowManager: draft.windowManager,
    resources: { cpuMillis: Number(draft.cpuMillis), memoryMb: Number(draft.memoryMb) },
    idleTimeoutMinutes: optionalInt(draft.idleTimeoutMinutes),
    maxDurationMinutes: optionalInt(draft.maxDurationMinutes),
    homeIsolation: draft.homeIsolation,
    enabled: draft.enabled,
  });
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    message: parsed.error.issues
      .map((issue) => `${issue.path.join('.') || 'form'}: ${issue.message}`)
      .join('; '),
  };
}

export function TemplateForm({
  template,
  pending,
  serverError,
  onSubmit,
  onCancel,
}: {
  template: Template | null;
  pending: boolean;
  serverError: string | null;
  onSubmit: (value: CreateTemplateRequest) => void;
  onCancel: () => void;
}) {
  const [draft, setDraft] = useState(() => toDraft(template));
  const [errors, setErrors] = useState<string | null>(null);
  const field = (name: keyof Draft, label: string, props: Record<string, unknown> = {}) => (
    <div className="field">
      <label htmlFor={`template-${name}`}>{label}</label>
      <input
        id={`template-${name}`}
        value={String(draft[name])}
        onChange={(event) => setDraft({ ...draft, [name]: event.target.value })}
        {...props}
      />
    </div>
  );

  return (
    <form
      className="form-grid"
      onSubmit={(event) => {
        event.preventDefault();
        const parsed = parseDraft(draft);
        if (!parsed.ok) return setErrors(parsed.message);
        setErrors(null);
        onSubmit(parsed.value);
      }}
    >
      {field('id', 'Id (lowercase, digits, -)', { disabled: template !== null, required: true })}
      {field('name', 'Name', { required: true })}
      {field('icon', 'Icon (an emoji)')}
      {field('image', 'Container image', { required: true })}
      <div className="field field-wide">
        <label htmlFor="template-description">Description</label>
        <textarea
          id="template-description"
          rows={2}
          value={draft.description}
          onChange={(event) => setDraft({ ...draft, description: event.target.value })}
        />
      </div>
      {field('app', 'App command (e.g. xterm -title "My notes")')}
      <div className="field">
        <label htmlFor="template-wm">Window manager</label>
        <select
          id="template-wm"
          value={draft.windowManager}
          onChange={(event) => setDraft({ ...draft, windowManager: event.target.value })}
        >
          <option value="twm">twm</option>
          <option value="openbox">openbox</option>
          <option value="none">none</option>
        </select>
      </div>
      {field('cpuMillis', 'CPU (millicores)', { type: 'number', min: 50 })}
      {field('memoryMb', 'Memory (MiB)', { type: 'number', min: 64 })}
      {field('idleTimeoutMinutes', 'Idle timeout (minutes, blank = default)', {
        type: 'number',
        min: 1,
      })}
      {field('maxDurationMinutes', 'Maximum duration (minutes, blank = default)', {
        type: 'number',
        min: 1,
      })}
      <div className="field">
        <label htmlFor="template-home">Home directory</label>
        <select
          id="template-home"
          value={draft.homeIsolation}
          onChange={(event) => setDraft({ ...draft, homeIsolation: event.target.value })}
        >
          <option value="user">Shared by the user's sessions</option>
          <option value="template">Separate for this template</option>
        </select>
      </div>
      <label className="checkbox field">
        <input
          type="checkbox"
          checked={draft.enabled}
          onChange={(event) => setDraft({ ...draft, enabled: event.target.checked })}
        />
        Enabled (shown in the catalog)
      </label>
      <div className="field-wide">
        <InlineError message={errors ?? serverError} />
      </div>
      <FormActions
        className="field-wide"
        submitLabel={template ? 'Save changes' : 'Create template'}
        pending={pending}
        onCancel={onCancel}
      />
    </form>
  );
}
