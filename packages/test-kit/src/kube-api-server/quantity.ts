const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/**
 * The value of a resource.Quantity string in base units (cores for cpu, bytes for memory):
 * "500m" → 0.5, "1Gi" → 1073741824, "2" → 2. Throws on what the apiserver would reject.
 */
export function parseQuantity(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = /^([+-]?[0-9.]+)(e[+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$/.exec(value.trim());
  if (match === null) throw new Error(`quantities must match the regular expression: ${value}`);
  const number = Number(match[1]);
  const suffix = match[2] ?? '';
  if (suffix.startsWith('e')) return number * 10 ** Number(suffix.slice(1));
  return number * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}
