import { Link } from 'react-router';
import type { ViewerSettings } from './vnc-connection';
import type { ViewerStatus } from './viewer-status';

interface ToolbarProps {
  title: string;
  status: ViewerStatus;
  settings: ViewerSettings;
  onSettings(settings: ViewerSettings): void;
  clipboardOpen: boolean;
  onToggleClipboard(): void;
  onCtrlAltDel(): void;
  fullscreen: boolean;
  onToggleFullscreen(): void;
  onDisconnect(): void;
  sessionId: string;
}

const STATUS_LABEL: Record<ViewerStatus['kind'], string> = {
  connecting: 'Connecting',
  connected: 'Connected',
  reconnecting: 'Reconnecting',
  agent_offline: 'Agent offline',
  waiting: 'Waiting',
  hibernated: 'Hibernated',
  ended: 'Ended',
  not_found: 'Not found',
  disconnected: 'Disconnected',
  error: 'Error',
};

function Toggle({
  label,
  pressed,
  onChange,
}: {
  label: string;
  pressed: boolean;
  onChange: (pressed: boolean) => void;
}) {
  return (
    <button
      type="button"
      className="btn btn-small btn-toggle"
      aria-pressed={pressed}
      onClick={() => onChange(!pressed)}
    >
      {label}
    </button>
  );
}

export function ViewerToolbar(props: ToolbarProps) {
  const { settings, onSettings, status } = props;
  const connected = status.kind === 'connected';
  return (
    <div className="viewer-toolbar" role="toolbar" aria-label="Desktop controls">
      <Link className="btn btn-small" to="/sessions" aria-label="Back to my sessions">
        ←
      </Link>
      <Link className="viewer-title" to={`/sessions/${props.sessionId}`}>
        {props.title}
      </Link>
      <span className={`pill pill-${status.kind}`} data-testid="viewer-status">
        {STATUS_LABEL[status.kind]}
      </span>
      <span className="toolbar-spacer" />
      <Toggle
        label="Scale to window"
        pressed={settings.scale}
        onChange={(scale) => onSettings({ ...settings, scale })}
      />
      <Toggle
        label="Remote resize"
        pressed={settings.remoteResize}
        onChange={(remoteResize) => onSettings({ ...settings, remoteResize })}
      />
      <Toggle
        label="View only"
        pressed={settings.viewOnly}
        onChange={(viewOnly) => onSettings({ ...settings, viewOnly })}
      />
      <button
        type="button"
        className="btn btn-small btn-toggle"
        aria-pressed={props.clipboardOpen}
        onClick={props.onToggleClipboard}
      >
        Clipboard
      </button>
      <button
        type="button"
        className="btn btn-small"
        onClick={props.onCtrlAltDel}
        disabled={!connected || settings.viewOnly}
      >
        Ctrl-Alt-Del
      </button>
      <button
        type="button"
        className="btn btn-small btn-toggle"
        aria-pressed={props.fullscreen}
        onClick={props.onToggleFullscreen}
      >
        Fullscreen
      </button>
      <button
        type="button"
        className="btn btn-small btn-danger"
        onClick={props.onDisconnect}
        disabled={!connected}
      >
        Disconnect
      </button>
    </div>
  );
}
