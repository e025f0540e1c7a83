import type { KubeObject } from './kube-object';
import { invalid, type KubeStatusCause } from './kube-status';
import type { ResourceType } from './resource-types';

// k8s.io/apimachinery/pkg/util/validation: IsDNS1123Subdomain, IsDNS1123Label, IsDNS1035Label.
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function required(field: string): KubeStatusCause {
  return { reason: 'FieldValueRequired', message: 'Required value', field };
}

function badValue(field: string, value: unknown, message: string): KubeStatusCause {
  return {
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${JSON.stringify(value)}: ${message}`,
    field,
  };
}

function checkName(type: ResourceType, name: string, causes: KubeStatusCause[]): void {
  if (type.kind === 'Service') {
    if (name.length > 63 || !DNS1035_LABEL.test(name)) {
      causes.push(
        badValue(
          'metadata.name',
          name,
          "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        ),
      );
    }
  } else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    causes.push(
      badValue(
        'metadata.name',
        name,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
      ),
    );
  }
}

type Spec = Record<string, unknown>;

function validatePod(object: KubeObject, causes: KubeStatusCause[]): void {
  const spec = (object.spec ?? {}) as Spec;
  const containers = spec.containers as { name?: string; image?: string }[] | undefined;
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push(required('spec.containers'));
  } else {
    containers.forEach((container, index) => {
      if (typeof container.name !== 'string' || container.name === '') {
        causes.push(required(`spec.containers[${index}].name`));
      } else if (!DNS1123_LABEL.test(container.name)) {
        causes.push(
          badValue(`spec.containers[${index}].name`, container.name, 'must be a DNS-1123 label'),
        );
      }
      if (typeof container.image !== 'string' || container.image === '') {
        causes.push(required(`spec.containers[${index}].image`));
      }
    });
  }
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.schedulerName ??= 'default-scheduler';
  object.spec = spec;
  object.status = { phase: 'Pending', qosClass: 'Burstable' };
}

function validateClaim(object: KubeObject, causes: KubeStatusCause[]): void {
  const spec = (object.spec ?? {}) as Spec;
  const accessModes = spec.accessModes as unknown[] | undefined;
  if (!Array.isArray(accessModes) || accessModes.length === 0)
    causes.push(required('spec.accessModes'));
  const storage = (spec.resources as { requests?: { storage?: unknown } } | undefined)?.requests
    ?.storage;
  if (storage === undefined) causes.push(required('spec.resources[storage]'));
  spec.volumeMode ??= 'Filesystem';
  object.spec = spec;
  object.status = { phase: 'Pending' };
}

function validateSecret(object: KubeObject, causes: KubeStatusCause[]): void {
  const data = { ...((object.data ?? {}) as Record<string, string>) };
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== 'string' || !BASE64.test(value))
      causes.push(badValue(`data[${key}]`, '', 'illegal base64 data'));
  }
  for (const [key, value] of Object.entries((object.stringData ?? {}) as Record<string, string>)) {
    data[key] = Buffer.from(String(value), 'utf8').toString('base64');
  }
  delete object.stringData;
  object.data = data;
  object.type ??= 'Opaque';
}

let nextClusterIp = 10;

function validateService(object: KubeObject, causes: KubeStatusCause[]): void {
  const spec = (object.spec ?? {}) as Spec;
  if (!Array.isArray(spec.ports) || spec.ports.length === 0) causes.push(required('spec.ports'));
  spec.type ??= 'ClusterIP';
  // A bookkeeping value only: nothing routes to it.
  spec.clusterIP ??= `10.96.0.${nextClusterIp++ % 250}`;
  object.spec = spec;
  object.status = { loadBalancer: {} };
}

function validateNetworkPolicy(object: KubeObject, causes: KubeStatusCause[]): void {
  const spec = object.spec as Spec | undefined;
  if (spec === undefined || typeof spec.podSelector !== 'object' || spec.podSelector === null) {
    causes.push(required('spec.podSelector'));
  }
}

/**
 * Checks a new object as the apiserver's validation would for the fields this server uses,
 * applies the defaults clients rely on, and throws 422 Invalid with one cause per problem.
 */
export function validateNew(type: ResourceType, object: KubeObject): void {
  const causes: KubeStatusCause[] = [];
  const name = object.metadata.name;
  if (typeof name !== 'string' || name === '') causes.push(required('metadata.name'));
  else checkName(type, name, causes);
  switch (type.kind) {
    case 'Pod':
      validatePod(object, causes);
      break;
    case 'PersistentVolumeClaim':
      validateClaim(object, causes);
      break;
    case 'Secret':
      validateSecret(object, causes);
      break;
    case 'Service':
      validateService(object, causes);
      break;
    case 'NetworkPolicy':
      validateNetworkPolicy(object, causes);
      break;
    case 'Namespace':
      object.status = { phase: 'Active' };
      break;
  }
  if (causes.length > 0) throw invalid(type.kind, type.group, name ?? '', causes);
}

/** Re-applies the kind's normalisation on update (secrets' stringData). */
export function normaliseUpdate(type: ResourceType, object: KubeObject): void {
  if (type.kind === 'Secret') {
    const causes: KubeStatusCause[] = [];
    validateSecret(object, causes);
    if (causes.length > 0) throw invalid(type.kind, type.group, object.metadata.name, causes);
  }
}
