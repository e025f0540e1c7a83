import type { CreateTemplateRequest } from '@streamspace/protocol';

/** The image built by deploy/images (debootstrap offline or the Dockerfile). */
export const DEFAULT_DESKTOP_IMAGE = 'streamspace/desktop:latest';
export const DEFAULT_BROWSER_IMAGE = 'streamspace/desktop-browser:latest';

/** Seeded on first start; admins edit or disable them afterwards. */
export const DEFAULT_TEMPLATES: CreateTemplateRequest[] = [
  {
    id: 'terminal',
    name: 'Terminal',
    description: 'A single xterm in a minimal window manager. Quick to start, light on resources.',
    icon: '⌨️',
    image: DEFAULT_DESKTOP_IMAGE,
    app: ['xterm'],
    windowManager: 'twm',
    resources: { cpuMillis: 500, memoryMb: 512 },
    idleTimeoutMinutes: null,
    maxDurationMinutes: null,
    homeIsolation: 'user',
    enabled: true,
  },
  {
    id: 'desktop',
    name: 'Linux desktop',
    description: 'A Debian desktop with a window manager and a terminal.',
    icon: '🖥️',
    image: DEFAULT_DESKTOP_IMAGE,
    app: [],
    windowManager: 'twm',
    resources: { cpuMillis: 1000, memoryMb: 1024 },
    idleTimeoutMinutes: null,
    maxDurationMinutes: null,
    homeIsolation: 'user',
    enabled: true,
  },
  {
    id: 'browser',
    name: 'Web browser',
    description: 'Chromium on a desktop, with its profile kept in your home directory.',
    icon: '🌐',
    image: DEFAULT_BROWSER_IMAGE,
    app: ['chromium', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    windowManager: 'twm',
    resources: { cpuMillis: 2000, memoryMb: 2048 },
    idleTimeoutMinutes: null,
    maxDurationMinutes: null,
    homeIsolation: 'template',
    enabled: true,
  },
];
