// Test helpers that read Ollama's formats back: a Modelfile parser with Ollama's quoting rules
// (parser/parser.go as ollama-api.md §4 describes it) and a renderer for the subset of Go's
// text/template our chat templates use (range/if/else if/else/end, eq/not/and/or, variables with
// := and =, fields, string literals, {{- -}} trimming). Enough to see the exact prompt text a template
// produces for a conversation.

// ------------------------------------------------------------------------------------------------
// Modelfile

export interface ParsedModelfile {
  from: string[];
  template: string | null;
  system: string | null;
  parameters: Array<[string, string]>;
}

function unquote(s: string): { ok: boolean; value: string } {
  if (s.startsWith('"""')) {
    if (s.length >= 6 && s.endsWith('"""')) return { ok: true, value: s.slice(3, -3) };
    return { ok: false, value: '' };
  }
  if (s.startsWith('"')) {
    if (s.length >= 2 && s.endsWith('"')) return { ok: true, value: s.slice(1, -1) };
    return { ok: false, value: '' };
  }
  return { ok: true, value: s };
}

export function parseModelfile(text: string): ParsedModelfile {
  const out: ParsedModelfile = { from: [], template: null, system: null, parameters: [] };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z]+)[ \t](.*)$/.exec(line);
    if (!m) throw new Error(`(line ${i + 1}): not a command: ${line}`);
    let value = m[2]!;
    // A value continues over newlines until its quotes are balanced.
    while (!unquote(value.trim()).ok) {
      i++;
      if (i >= lines.length) throw new Error('unexpected EOF');
      value += `\n${lines[i]}`;
    }
    const v = unquote(value.trim()).value;
    const cmd = m[1]!.toLowerCase();
    if (cmd === 'from') out.from.push(v);
    else if (cmd === 'template') out.template = v;
    else if (cmd === 'system') out.system = v;
    else if (cmd === 'parameter') {
      const p = /^(\w+)\s+([\s\S]*)$/.exec(v);
      if (!p) throw new Error(`bad PARAMETER: ${v}`);
      out.parameters.push([p[1]!, unquote(p[2]!.trim()).value]);
    } else throw new Error(`unknown command ${cmd}`);
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Go template subset

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'out'; expr: string }
  | { kind: 'assign'; name: string; expr: string; declare: boolean }
  | { kind: 'if'; branches: Array<{ cond: string | null; body: Node[] }> }
  | { kind: 'range'; vars: string[]; expr: string; body: Node[] };

interface Token {
  kind: 'text' | 'action';
  text: string;
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      tokens.push({ kind: 'text', text: src.slice(i) });
      break;
    }
    tokens.push({ kind: 'text', text: src.slice(i, open) });
    const close = src.indexOf('}}', open);
    if (close < 0) throw new Error('unclosed action');
    let body = src.slice(open + 2, close);
    if (body.startsWith('- ')) {
      body = body.slice(2);
      const prev = tokens[tokens.length - 1]!;
      prev.text = prev.text.replace(/\s+$/, '');
    }
    let trimAfter = false;
    if (body.endsWith(' -')) {
      body = body.slice(0, -2);
      trimAfter = true;
    }
    tokens.push({ kind: 'action', text: body.trim() });
    i = close + 2;
    if (trimAfter) while (i < src.length && /\s/.test(src[i]!)) i++;
  }
  return tokens.filter((t) => t.kind === 'action' || t.text !== '');
}

function parse(tokens: Token[]): Node[] {
  let pos = 0;
  const block = (stopAt: string[]): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos++]!;
      if (t.kind === 'text') {
        nodes.push({ kind: 'text', text: t.text });
        continue;
      }
      const a = t.text;
      const word = a.split(/\s+/)[0]!;
      if (stopAt.includes(word)) return { nodes, stop: a };
      if (word === 'if') {
        const branches: Array<{ cond: string | null; body: Node[] }> = [];
        let cond: string | null = a.slice(2).trim();
        for (;;) {
          const r = block(['else', 'end']);
          branches.push({ cond, body: r.nodes });
          if (r.stop === 'end') break;
          const rest = r.stop.slice(4).trim();
          cond = rest.startsWith('if ') ? rest.slice(3).trim() : null;
        }
        nodes.push({ kind: 'if', branches });
      } else if (word === 'range') {
        const m = /^range\s+(?:(\$\w+)(?:\s*,\s*(\$\w+))?\s*:=\s*)?(.+)$/.exec(a)!;
        const vars = [m[1], m[2]].filter((v): v is string => v !== undefined);
        const r = block(['end']);
        nodes.push({ kind: 'range', vars, expr: m[3]!.trim(), body: r.nodes });
      } else if (/^\$\w+\s*:?=/.test(a)) {
        const m = /^(\$\w+)\s*(:?=)\s*(.+)$/.exec(a)!;
        nodes.push({ kind: 'assign', name: m[1]!, expr: m[3]!, declare: m[2] === ':=' });
      } else {
        nodes.push({ kind: 'out', expr: a });
      }
    }
    if (stopAt.length > 0) throw new Error('unexpected EOF');
    return { nodes, stop: '' };
  };
  return block([]).nodes;
}

type Value = unknown;

function splitArgs(expr: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < expr.length) {
    if (/\s/.test(expr[i]!)) {
      i++;
      continue;
    }
    if (expr[i] === '"') {
      let j = i + 1;
      while (j < expr.length && expr[j] !== '"') j += expr[j] === '\\' ? 2 : 1;
      out.push(expr.slice(i, j + 1));
      i = j + 1;
    } else if (expr[i] === '(') {
      let depth = 0;
      let j = i;
      for (; j < expr.length; j++) {
        if (expr[j] === '(') depth++;
        if (expr[j] === ')' && --depth === 0) break;
      }
      out.push(expr.slice(i, j + 1));
      i = j + 1;
    } else {
      let j = i;
      while (j < expr.length && !/\s/.test(expr[j]!)) j++;
      out.push(expr.slice(i, j));
      i = j;
    }
  }
  return out;
}

function truthy(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0;
  return v !== undefined && v !== null && v !== false && v !== '' && v !== 0;
}

class Scope {
  constructor(private readonly vars: Map<string, Value>, private readonly parent: Scope | null) {}
  get(name: string): Value {
    if (this.vars.has(name)) return this.vars.get(name);
    if (this.parent) return this.parent.get(name);
    throw new Error(`undefined variable ${name}`);
  }
  set(name: string, v: Value): void {
    if (this.vars.has(name)) this.vars.set(name, v);
    else if (this.parent) this.parent.set(name, v);
    else throw new Error(`undefined variable ${name}`);
  }
  declare(name: string, v: Value): void {
    this.vars.set(name, v);
  }
  child(): Scope {
    return new Scope(new Map(), this);
  }
}

function field(obj: Value, path: string[]): Value {
  let v = obj;
  for (const p of path) v = (v as Record<string, Value> | undefined)?.[p];
  return v;
}

function evalArg(arg: string, dot: Value, scope: Scope, root: Value): Value {
  if (arg.startsWith('"')) return JSON.parse(arg) as string;
  if (arg.startsWith('(')) return evalExpr(arg.slice(1, -1), dot, scope, root);
  if (/^-?\d+$/.test(arg)) return Number(arg);
  if (arg === '.') return dot;
  if (arg.startsWith('.')) return field(dot, arg.slice(1).split('.'));
  if (arg.startsWith('$.')) return field(root, arg.slice(2).split('.'));
  if (arg.startsWith('$')) {
    const [name, ...rest] = arg.split('.');
    return field(scope.get(name!), rest);
  }
  throw new Error(`cannot evaluate ${arg}`);
}

function evalExpr(expr: string, dot: Value, scope: Scope, root: Value): Value {
  const args = splitArgs(expr);
  const fn = args[0]!;
  const vals = () => args.slice(1).map((a) => evalArg(a, dot, scope, root));
  switch (fn) {
    case 'eq': {
      const [a, ...rest] = vals();
      return rest.some((b) => a === b);
    }
    case 'ne': {
      const [a, b] = vals();
      return a !== b;
    }
    case 'not':
      return !truthy(vals()[0]);
    case 'and':
      return vals().every(truthy);
    case 'or':
      return vals().some(truthy);
    case 'len':
      return (vals()[0] as unknown[]).length;
    default:
      if (args.length !== 1) throw new Error(`unsupported function ${fn}`);
      return evalArg(fn, dot, scope, root);
  }
}

function exec(nodes: Node[], dot: Value, scope: Scope, root: Value, out: string[]): void {
  for (const n of nodes) {
    switch (n.kind) {
      case 'text':
        out.push(n.text);
        break;
      case 'out': {
        const v = evalExpr(n.expr, dot, scope, root);
        out.push(v === undefined || v === null ? '<no value>' : String(v));
        break;
      }
      case 'assign': {
        const v = evalExpr(n.expr, dot, scope, root);
        if (n.declare) scope.declare(n.name, v);
        else scope.set(n.name, v);
        break;
      }
      case 'if': {
        for (const b of n.branches) {
          if (b.cond === null || truthy(evalExpr(b.cond, dot, scope, root))) {
            exec(b.body, dot, scope.child(), root, out);
            break;
          }
        }
        break;
      }
      case 'range': {
        const list = evalExpr(n.expr, dot, scope, root) as unknown[];
        list.forEach((item, i) => {
          const s = scope.child();
          if (n.vars.length === 1) s.declare(n.vars[0]!, item);
          if (n.vars.length === 2) {
            s.declare(n.vars[0]!, i);
            s.declare(n.vars[1]!, item);
          }
          exec(n.body, item, s, root, out);
        });
        break;
      }
    }
  }
}

export interface ChatMessage {
  Role: string;
  Content: string;
}

/** Renders a Go chat template the way Ollama feeds it: `.Messages`, `.System`, `.Prompt`. */
export function renderGoTemplate(template: string, data: { Messages: ChatMessage[]; System?: string; Prompt?: string }): string {
  const out: string[] = [];
  const root = { System: '', Prompt: '', Response: '', ...data };
  exec(parse(tokenize(template)), root, new Scope(new Map([['$', root]]), null), root, out);
  return out.join('');
}
