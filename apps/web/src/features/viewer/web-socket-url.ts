/** ws(s):// URL for the path the connect endpoint returned, on this page's origin. */
export function webSocketUrl(
  path: string,
  location: Pick<Location, 'protocol' | 'host'> = window.location,
): string {
  const base = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`;
  return new URL(path, base).toString();
}
