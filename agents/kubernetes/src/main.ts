import { KubeConfig } from '@kubernetes/client-node';
import { runAgentMain } from '@streamspace/agent-runtime';
import { createKubernetesDriver } from './kubernetes-driver';

// streamspace-agent kubernetes [--kubeconfig FILE] [--namespace NS] [--storage-class NAME]
//   [--stream-mode pod-ip|port-forward]; in a pod it uses the service account.
await runAgentMain('kubernetes', async ({ options, logger }) => {
  const flag = (name: string): string | undefined => {
    const value = options.flags[name];
    return typeof value === 'string' ? value : undefined;
  };
  const kubeConfig = new KubeConfig();
  const file = flag('kubeconfig') ?? process.env.KUBECONFIG;
  if (file !== undefined) kubeConfig.loadFromFile(file);
  else kubeConfig.loadFromDefault();
  const streamMode = flag('stream-mode') ?? process.env.STREAMSPACE_STREAM_MODE;
  if (streamMode !== undefined && streamMode !== 'pod-ip' && streamMode !== 'port-forward') {
    throw new Error('--stream-mode must be pod-ip or port-forward');
  }
  const namespace = flag('namespace') ?? process.env.STREAMSPACE_NAMESPACE;
  const storageClassName = flag('storage-class') ?? process.env.STREAMSPACE_STORAGE_CLASS;
  return createKubernetesDriver({
    kubeConfig,
    logger,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(storageClassName !== undefined ? { storageClassName } : {}),
    ...(streamMode !== undefined ? { streamMode } : {}),
  });
});
