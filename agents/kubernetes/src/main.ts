import { KubeConfig } from '@kubernetes/client-node';
import { runAgentMain } from '@streamspace/agent-runtime';
import { createKubernetesDriver, type StreamMode } from './kubernetes-driver';

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
  const env = process.env;
  const optional = <K extends string, V>(key: K, value: V | undefined) =>
    (value === undefined || value === '' ? {} : { [key]: value }) as Partial<Record<K, V>>;
  return createKubernetesDriver({
    kubeConfig,
    logger,
    ...optional('namespace', flag('namespace') ?? env.STREAMSPACE_NAMESPACE),
    ...optional('storageClassName', flag('storage-class') ?? env.STREAMSPACE_STORAGE_CLASS),
    ...optional('streamMode', streamMode as StreamMode | undefined),
    // The NetworkPolicy admits the agent's pods from this namespace to the sessions' VNC port.
    ...optional('agentNamespace', env.STREAMSPACE_AGENT_NAMESPACE),
    ...optional('homeSize', env.STREAMSPACE_HOME_SIZE),
    ...optional('homeAccessMode', env.STREAMSPACE_HOME_ACCESS_MODE),
  });
});
