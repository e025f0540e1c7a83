import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

/**
 * A renderer for the subset of Helm's Go templates the StreamSpace chart uses, because `helm`
 * cannot be installed here: actions with `{{-`/`-}}` trimming, fields (.Values.a.b, $.x),
 * variables, pipelines, if/else if/else, with, range over lists and maps, define/include, and
 * the Sprig functions listed in FUNCTIONS. Anything else is an error, so a template that uses
 * more than this fails the render check instead of rendering wrongly.
 */

type Value = unknown;
type Scope = { dot: Value; root: Value; vars: Map<string, Value> };
type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; expr: string }
  | { kind: 'if'; branches: { cond: string; body: Node[] }[]; otherwise: Node[] }
  | { kind: 'with'; expr: string; body: Node[]; otherwise: Node[] }
  | { kind: 'range'; expr: string; key?: string; value?: string; body: Node[] };

const defines = new Map<string, Node[]>();

function tokenizeTemplate(source: string): ({ text: string } | { action: string })[] {
  const parts: ({ text: string } | { action: string })[] = [];
  const pattern = /\{\{(-?)(\s*[\s\S]*?\s*)(-?)\}\}/g;
  let last = 0;
  let trimNext = false;
  for (const match of source.matchAll(pattern)) {
    let text = source.slice(last, match.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (match[1] === '-') text = text.replace(/\s+$/, '');
    parts.push({ text });
    const action = match[2]!.trim();
    if (!action.startsWith('/*')) parts.push({ action });
    trimNext = match[3] === '-';
    last = match.index + match[0].length;
  }
  let tail = source.slice(last);
  if (trimNext) tail = tail.replace(/^\s+/, '');
  parts.push({ text: tail });
  return parts;
}

function parseNodes(
  parts: ReturnType<typeof tokenizeTemplate>,
  at: { i: number },
  stops: string[],
): { nodes: Node[]; stop: string } {
  const nodes: Node[] = [];
  while (at.i < parts.length) {
    const part = parts[at.i++]!;
    if ('text' in part) {
      if (part.text !== '') nodes.push({ kind: 'text', text: part.text });
      continue;
    }
    const action = part.action;
    const word = action.split(/\s+/)[0]!;
    if (stops.includes(word)) return { nodes, stop: action };
    if (word === 'if') {
      const branches = [{ cond: action.slice(2).trim(), body: [] as Node[] }];
      let otherwise: Node[] = [];
      for (;;) {
        const inner = parseNodes(parts, at, ['else', 'end']);
        branches[branches.length - 1]!.body = inner.nodes;
        if (inner.stop === 'end') break;
        if (inner.stop.startsWith('else if')) {
          branches.push({ cond: inner.stop.slice('else if'.length).trim(), body: [] });
          continue;
        }
        otherwise = parseNodes(parts, at, ['end']).nodes;
        break;
      }
      nodes.push({ kind: 'if', branches, otherwise });
    } else if (word === 'with') {
      const inner = parseNodes(parts, at, ['else', 'end']);
      const otherwise = inner.stop === 'end' ? [] : parseNodes(parts, at, ['end']).nodes;
      nodes.push({ kind: 'with', expr: action.slice(4).trim(), body: inner.nodes, otherwise });
    } else if (word === 'range') {
      const spec = action.slice(5).trim();
      const assign = /^(\$\w+)\s*(?:,\s*(\$\w+))?\s*:=\s*(.+)$/.exec(spec);
      const body = parseNodes(parts, at, ['end']).nodes;
      if (assign === null) nodes.push({ kind: 'range', expr: spec, body });
      else if (assign[2] === undefined)
        nodes.push({ kind: 'range', expr: assign[3]!, value: assign[1]!, body });
      else nodes.push({ kind: 'range', expr: assign[3]!, key: assign[1]!, value: assign[2], body });
    } else if (word === 'define') {
      const name = JSON.parse(action.slice(6).trim()) as string;
      defines.set(name, parseNodes(parts, at, ['end']).nodes);
    } else {
      nodes.push({ kind: 'action', expr: action });
    }
  }
  return { nodes, stop: '' };
}

function isEmpty(value: Value): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '')
    return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

function indent(spaces: number, text: string): string {
  const pad = ' '.repeat(spaces);
  return String(text)
    .split('\n')
    .map((line) => (line === '' ? line : pad + line))
    .join('\n');
}

const FUNCTIONS: Record<string, (...args: Value[]) => Value> = {
  quote: (value) => JSON.stringify(value === undefined || value === null ? '' : String(value)),
  squote: (value) => `'${String(value ?? '')}'`,
  default: (fallback, value) => (isEmpty(value) ? fallback : value),
  empty: (value) => isEmpty(value),
  toYaml: (value) =>
    isEmpty(value) && typeof value === 'object'
      ? Array.isArray(value)
        ? '[]'
        : '{}'
      : stringify(value).trimEnd(),
  nindent: (spaces, text) => `\n${indent(Number(spaces), String(text))}`,
  indent: (spaces, text) => indent(Number(spaces), String(text)),
  b64enc: (text) => Buffer.from(String(text)).toString('base64'),
  required: (message, value) => {
    if (isEmpty(value)) throw new Error(`required: ${String(message)}`);
    return value;
  },
  not: (value) => isEmpty(value),
  and: (...values) => values.find((value) => isEmpty(value)) ?? values[values.length - 1],
  or: (...values) => values.find((value) => !isEmpty(value)) ?? values[values.length - 1],
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  trunc: (length, text) => String(text).slice(0, Number(length)),
  trimSuffix: (suffix, text) =>
    String(text).endsWith(String(suffix))
      ? String(text).slice(0, -String(suffix).length)
      : String(text),
  lower: (text) => String(text).toLowerCase(),
  toString: (value: Value) => String(value),
  int: (value) => Math.trunc(Number(value)),
  hasKey: (map, key) => typeof map === 'object' && map !== null && String(key) in map,
  printf: (format, ...args) => {
    let index = 0;
    return String(format).replace(/%[sdv]/g, () => String(args[index++]));
  },
  dict: (...pairs) => {
    const map: Record<string, Value> = {};
    for (let i = 0; i + 1 < pairs.length; i += 2) map[String(pairs[i])] = pairs[i + 1];
    return map;
  },
  index: (collection, key) => lookupPath(collection, [String(key)]),
  randAlphaNum: (length) =>
    randomBytes(Number(length))
      .toString('base64url')
      .replace(/[-_]/g, 'x')
      .slice(0, Number(length)),
  // `helm template` has no cluster to ask: lookup returns an empty map there too.
  lookup: () => ({}),
};

function tokenizeExpr(expr: string): string[] {
  const tokens: string[] = [];
  const pattern = /\s*("(?:[^"\\]|\\.)*"|\(|\)|\||:=|[^\s()|]+)/gy;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(expr)) !== null && match[1] !== undefined) tokens.push(match[1]);
  return tokens;
}

function lookupPath(base: Value, path: string[]): Value {
  let current = base;
  for (const key of path) {
    if (current === undefined || current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, Value>)[key];
  }
  return current;
}

function evalOperand(token: string, scope: Scope): Value {
  if (token.startsWith('"')) return JSON.parse(token) as string;
  if (/^-?\d+(\.\d+)?$/.test(token)) return Number(token);
  if (token === 'true' || token === 'false') return token === 'true';
  if (token === 'nil') return undefined;
  if (token === '.') return scope.dot;
  if (token.startsWith('.')) return lookupPath(scope.dot, token.slice(1).split('.'));
  if (token.startsWith('$')) {
    const [name, ...path] = token.split('.');
    const base = name === '$' ? scope.root : scope.vars.get(name!);
    if (name !== '$' && !scope.vars.has(name!)) throw new Error(`undefined variable ${name}`);
    return lookupPath(base, path);
  }
  throw new Error(`unsupported operand ${token}`);
}

function evalPipeline(tokens: string[], scope: Scope): Value {
  const commands: string[][] = [[]];
  let depth = 0;
  for (const token of tokens) {
    if (token === '(') depth++;
    if (token === ')') depth--;
    if (token === '|' && depth === 0) commands.push([]);
    else commands[commands.length - 1]!.push(token);
  }
  let piped: Value;
  let first = true;
  for (const command of commands) {
    const args: Value[] = [];
    let head: string | undefined;
    for (let i = 0; i < command.length; i++) {
      const token = command[i]!;
      if (token === '(') {
        let level = 1;
        let j = i + 1;
        for (; j < command.length && level > 0; j++) {
          if (command[j] === '(') level++;
          if (command[j] === ')') level--;
        }
        args.push(evalPipeline(command.slice(i + 1, j - 1), scope));
        i = j - 1;
      } else if (
        i === 0 &&
        /^[a-zA-Z]\w*$/.test(token) &&
        !['true', 'false', 'nil'].includes(token)
      ) {
        head = token;
      } else {
        args.push(evalOperand(token, scope));
      }
    }
    if (!first) args.push(piped);
    first = false;
    if (head === undefined) {
      if (args.length !== 1) throw new Error(`cannot evaluate ${command.join(' ')}`);
      piped = args[0];
    } else if (head === 'include') {
      const body = defines.get(String(args[0]));
      if (body === undefined) throw new Error(`no template ${String(args[0])}`);
      piped = renderNodes(body, { dot: args[1], root: scope.root, vars: new Map() });
    } else {
      const fn = FUNCTIONS[head];
      if (fn === undefined) throw new Error(`unsupported function ${head}`);
      piped = fn(...args);
    }
  }
  return piped;
}

function evaluate(expr: string, scope: Scope): Value {
  const tokens = tokenizeExpr(expr);
  if (tokens[1] === ':=' || tokens[1] === '=') {
    scope.vars.set(tokens[0]!, evalPipeline(tokens.slice(2), scope));
    return '';
  }
  return evalPipeline(tokens, scope);
}

function print(value: Value): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return stringify(value).trimEnd();
  return String(value);
}

function renderNodes(nodes: Node[], scope: Scope): string {
  let out = '';
  for (const node of nodes) {
    if (node.kind === 'text') out += node.text;
    else if (node.kind === 'action') out += print(evaluate(node.expr, scope));
    else if (node.kind === 'if') {
      const branch = node.branches.find((candidate) => !isEmpty(evaluate(candidate.cond, scope)));
      out += renderNodes(branch?.body ?? node.otherwise, scope);
    } else if (node.kind === 'with') {
      const value = evaluate(node.expr, scope);
      out += isEmpty(value)
        ? renderNodes(node.otherwise, scope)
        : renderNodes(node.body, { ...scope, dot: value });
    } else {
      const collection = evaluate(node.expr, scope);
      const entries: [Value, Value][] = Array.isArray(collection)
        ? collection.map((item, index) => [index, item])
        : Object.entries((collection ?? {}) as Record<string, Value>).sort(([a], [b]) =>
            a.localeCompare(b),
          );
      for (const [key, value] of entries) {
        const vars = new Map(scope.vars);
        if (node.key !== undefined) vars.set(node.key, key);
        if (node.value !== undefined) vars.set(node.value, value);
        out += renderNodes(node.body, { ...scope, dot: value, vars });
      }
    }
  }
  return out;
}

function deepMerge(base: Value, override: Value): Value {
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return override;
  if (typeof override !== 'object' || override === null || Array.isArray(override)) return override;
  const merged: Record<string, Value> = { ...(base as Record<string, Value>) };
  for (const [key, value] of Object.entries(override)) merged[key] = deepMerge(merged[key], value);
  return merged;
}

/** Renders every template of the chart with its values.yaml merged with each overrides file. */
export async function renderChart(
  chartDir: string,
  overrideFiles: string[] = [],
  release = { name: 'streamspace', namespace: 'streamspace' },
): Promise<Map<string, string>> {
  defines.clear();
  const chart = parse(await readFile(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<
    string,
    string
  >;
  let values = parse(await readFile(join(chartDir, 'values.yaml'), 'utf8')) as Value;
  for (const file of overrideFiles) values = deepMerge(values, parse(await readFile(file, 'utf8')));
  const root = {
    Values: values,
    Release: { Name: release.name, Namespace: release.namespace, Service: 'Helm', IsInstall: true },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
  };
  const files = (await readdir(join(chartDir, 'templates'))).sort();
  const parsed = new Map<string, Node[]>();
  for (const file of files) {
    const source = await readFile(join(chartDir, 'templates', file), 'utf8');
    parsed.set(file, parseNodes(tokenizeTemplate(source), { i: 0 }, []).nodes);
  }
  const rendered = new Map<string, string>();
  for (const [file, nodes] of parsed) {
    if (file.startsWith('_') || !file.endsWith('.yaml')) continue;
    rendered.set(file, renderNodes(nodes, { dot: root, root, vars: new Map() }));
  }
  return rendered;
}
