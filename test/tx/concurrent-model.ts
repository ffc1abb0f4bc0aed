/**
 * The sequential POSIX namespace that concurrent histories of namespace operations are
 * checked against (docs/transactions.md §18, item 3), written for the linearizability
 * checker: states are immutable plain objects, outputs are compared to what the
 * operation could have answered in that state.
 *
 * The rules are those of test/executor/namespace.ts (nlink of a directory = 2 + its
 * subdirectories, a directory at rmdir drops to 0, rename replaces a non-directory by a
 * non-directory and an empty directory by a directory, a directory never moves below
 * itself). Two liberties, both about what a real client may see:
 * - an error is accepted when it is ONE of the reasons the operation could fail in that
 *   state (servers check in different orders), never when no reason exists;
 * - `EBUSY` (the transaction gave up on a lock, a definite "not applied") is accepted
 *   in any state and changes nothing.
 *
 * Inode ids come from the servers. A create whose outcome is unknown gets a placeholder
 * id (`?tag`) that is bound to the first real id a later read shows at that name.
 */
import type { Model } from '../../src/testing/linearizability.ts';

export type Errno = 'ENOENT' | 'EEXIST' | 'ENOTEMPTY' | 'EWRONGTYPE' | 'EBUSY';
export type NodeKind = 'dir' | 'file';

export type NsInput =
  | { readonly op: 'create'; readonly tag: number; readonly dir: number; readonly name: string; readonly kind: NodeKind }
  | { readonly op: 'link'; readonly id: number; readonly dir: number; readonly name: string }
  | { readonly op: 'unlink' | 'rmdir'; readonly dir: number; readonly name: string }
  | { readonly op: 'rename'; readonly srcDir: number; readonly srcName: string; readonly dstDir: number; readonly dstName: string }
  | { readonly op: 'lookup'; readonly dir: number; readonly name: string }
  | { readonly op: 'readdir'; readonly dir: number }
  | { readonly op: 'stat'; readonly id: number };

export type NsOutput =
  | { readonly status: 'ok'; readonly id?: number; readonly kind?: NodeKind; readonly nlink?: number; readonly entries?: readonly (readonly [string, number])[] }
  | { readonly status: 'error'; readonly errno: Errno }
  /** A mutation whose outcome is unknown (transport failure, deadline): it may or may not have applied. */
  | { readonly status: 'unknown'; readonly detail?: string };

interface NodeState {
  readonly kind: NodeKind;
  readonly nlink: number;
}

/** Ids are strings: a real id in decimal, or `?tag` for a create of unknown outcome not yet seen. */
export interface NsState {
  readonly nodes: Readonly<Record<string, NodeState>>;
  readonly dirs: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** A directory's parent (for the cycle check); top directories have none. */
  readonly parentOf: Readonly<Record<string, string>>;
}

/** A node of the starting namespace: top directories (their parent unmodelled, never removed) and named nodes. */
export interface InitialNode {
  readonly id: number;
  readonly kind: NodeKind;
  /** Undefined: a top directory, whose own name the history never touches. */
  readonly parent?: { readonly id: number; readonly name: string };
}

/** A state under construction (copies only: states handed to the checker are never changed). */
interface MutableState {
  nodes: Record<string, NodeState>;
  dirs: Record<string, Record<string, string>>;
  parentOf: Record<string, string>;
}

/** The state holding `nodes`, listed parents first. */
export function initialState(nodes: readonly InitialNode[]): NsState {
  const state: MutableState = { nodes: {}, dirs: {}, parentOf: {} };
  for (const node of nodes) {
    const id = String(node.id);
    state.nodes[id] = { kind: node.kind, nlink: node.kind === 'dir' ? 2 : 0 };
    if (node.kind === 'dir') state.dirs[id] = {};
    if (node.parent === undefined) continue;
    const parent = String(node.parent.id);
    state.dirs[parent]![node.parent.name] = id;
    if (node.kind === 'file') state.nodes[id] = { kind: 'file', nlink: 1 };
    else {
      state.parentOf[id] = parent;
      state.nodes[parent] = { ...state.nodes[parent]!, nlink: state.nodes[parent]!.nlink + 1 };
    }
  }
  return state;
}

/** Why an operation would fail in `state` (empty: it succeeds). */
function refusals(state: NsState, input: NsInput): Errno[] {
  const reasons: Errno[] = [];
  const entries = (dir: number) => state.dirs[String(dir)];
  switch (input.op) {
    case 'create': {
      const dir = entries(input.dir);
      if (dir === undefined) return ['ENOENT'];
      if (dir[input.name] !== undefined) reasons.push('EEXIST');
      return reasons;
    }
    case 'link': {
      const node = state.nodes[String(input.id)];
      if (node === undefined || node.nlink === 0) reasons.push('ENOENT');
      // A removed directory is still a directory to a client that checks the type first.
      if (node?.kind === 'dir') reasons.push('EWRONGTYPE');
      const dir = entries(input.dir);
      if (dir === undefined) reasons.push('ENOENT');
      else if (dir[input.name] !== undefined) reasons.push('EEXIST');
      return reasons;
    }
    case 'unlink':
    case 'rmdir': {
      const target = entries(input.dir)?.[input.name];
      if (target === undefined) return ['ENOENT'];
      const isDir = state.nodes[target]!.kind === 'dir';
      if (isDir !== (input.op === 'rmdir')) reasons.push('EWRONGTYPE');
      if (isDir && Object.keys(state.dirs[target] ?? {}).length > 0) reasons.push('ENOTEMPTY');
      return reasons;
    }
    case 'rename': {
      const source = entries(input.srcDir)?.[input.srcName];
      if (source === undefined) return ['ENOENT'];
      if (input.srcDir === input.dstDir && input.srcName === input.dstName) return [];
      const dstDir = entries(input.dstDir);
      if (dstDir === undefined) return ['ENOENT'];
      const target = dstDir[input.dstName];
      if (target === source) return [];
      const sourceIsDir = state.nodes[source]!.kind === 'dir';
      if (target !== undefined) {
        const targetIsDir = state.nodes[target]!.kind === 'dir';
        if (sourceIsDir !== targetIsDir) reasons.push('EWRONGTYPE');
        else if (targetIsDir && Object.keys(state.dirs[target] ?? {}).length > 0) reasons.push('ENOTEMPTY');
      }
      if (sourceIsDir) {
        for (let at: string | undefined = String(input.dstDir); at !== undefined; at = state.parentOf[at]) {
          if (at === source) {
            reasons.push('EWRONGTYPE');
            break;
          }
        }
      }
      return reasons;
    }
    default:
      return [];
  }
}

function cloneState(state: NsState): MutableState {
  return {
    nodes: { ...state.nodes },
    dirs: Object.fromEntries(Object.entries(state.dirs).map(([id, names]) => [id, { ...names }])),
    parentOf: { ...state.parentOf },
  };
}

/** Removes `dir/name` from `s` (mutable copy) with its link-count effects. */
function removeName(s: MutableState, dir: string, name: string): void {
  const id = s.dirs[dir]![name]!;
  delete s.dirs[dir]![name];
  const node = s.nodes[id]!;
  if (node.kind === 'dir') {
    s.nodes[id] = { ...node, nlink: 0 };
    delete s.dirs[id];
    delete s.parentOf[id];
    const parent = s.nodes[dir]!;
    s.nodes[dir] = { ...parent, nlink: parent.nlink - 1 };
  } else {
    s.nodes[id] = { ...node, nlink: node.nlink - 1 };
  }
}

/** The state after a mutation that succeeds (refusals empty). */
function apply(state: NsState, input: NsInput, createdId: string): NsState {
  const s = cloneState(state);
  switch (input.op) {
    case 'create': {
      const dir = String(input.dir);
      s.dirs[dir]![input.name] = createdId;
      s.nodes[createdId] = { kind: input.kind, nlink: input.kind === 'dir' ? 2 : 1 };
      if (input.kind === 'dir') {
        s.dirs[createdId] = {};
        s.parentOf[createdId] = dir;
        const parent = s.nodes[dir]!;
        s.nodes[dir] = { ...parent, nlink: parent.nlink + 1 };
      }
      return s;
    }
    case 'link': {
      const id = String(input.id);
      s.dirs[String(input.dir)]![input.name] = id;
      s.nodes[id] = { ...s.nodes[id]!, nlink: s.nodes[id]!.nlink + 1 };
      return s;
    }
    case 'unlink':
    case 'rmdir':
      removeName(s, String(input.dir), input.name);
      return s;
    case 'rename': {
      const srcDir = String(input.srcDir);
      const dstDir = String(input.dstDir);
      const source = s.dirs[srcDir]![input.srcName]!;
      const target = s.dirs[dstDir]![input.dstName];
      if ((srcDir === dstDir && input.srcName === input.dstName) || target === source) return state;
      if (target !== undefined) removeName(s, dstDir, input.dstName);
      delete s.dirs[srcDir]![input.srcName];
      s.dirs[dstDir]![input.dstName] = source;
      if (s.nodes[source]!.kind === 'dir' && srcDir !== dstDir) {
        s.nodes[srcDir] = { ...s.nodes[srcDir]!, nlink: s.nodes[srcDir]!.nlink - 1 };
        s.nodes[dstDir] = { ...s.nodes[dstDir]!, nlink: s.nodes[dstDir]!.nlink + 1 };
        s.parentOf[source] = dstDir;
      }
      return s;
    }
    default:
      return state;
  }
}

/** Renames placeholder `from` to the real id `to` everywhere. */
function bind(state: NsState, from: string, to: string): NsState {
  const swap = (id: string) => (id === from ? to : id);
  const s = cloneState(state);
  s.nodes[to] = s.nodes[from]!;
  delete s.nodes[from];
  for (const dir of Object.keys(s.dirs)) {
    const names = s.dirs[dir]!;
    for (const name of Object.keys(names)) names[name] = swap(names[name]!);
  }
  if (s.dirs[from] !== undefined) {
    s.dirs[to] = s.dirs[from]!;
    delete s.dirs[from];
  }
  for (const child of Object.keys(s.parentOf)) s.parentOf[child] = swap(s.parentOf[child]!);
  if (s.parentOf[from] !== undefined) {
    s.parentOf[to] = s.parentOf[from]!;
    delete s.parentOf[from];
  }
  return s;
}

/** Does the model id `held` match the real id `seen`? Binds a placeholder on first sight. */
function matchId(state: NsState, held: string, seen: number): NsState | undefined {
  if (held === String(seen)) return state;
  if (held.startsWith('?') && state.nodes[String(seen)] === undefined) return bind(state, held, String(seen));
  return undefined;
}

function stepRead(state: NsState, input: NsInput, output: NsOutput): [boolean, NsState] {
  if (output.status === 'unknown') return [true, state];
  switch (input.op) {
    case 'lookup': {
      const held = state.dirs[String(input.dir)]?.[input.name];
      if (output.status === 'error') return [output.errno === 'ENOENT' && held === undefined, state];
      if (held === undefined || output.id === undefined) return [false, state];
      const next = matchId(state, held, output.id);
      return next === undefined || next.nodes[String(output.id)]!.kind !== output.kind ? [false, state] : [true, next];
    }
    case 'readdir': {
      const names = state.dirs[String(input.dir)];
      // A removed directory lists nothing (its entries are gone) or is not found.
      if (names === undefined) return [output.status === 'error' ? output.errno === 'ENOENT' : (output.entries ?? []).length === 0, state];
      if (output.status === 'error') return [false, state];
      const entries = output.entries ?? [];
      if (entries.length !== Object.keys(names).length) return [false, state];
      let next: NsState | undefined = state;
      for (const [name, id] of entries) {
        const held: string | undefined = next.dirs[String(input.dir)]![name];
        next = held === undefined ? undefined : matchId(next, held, id);
        if (next === undefined) return [false, state];
      }
      return [true, next];
    }
    case 'stat': {
      const node = state.nodes[String(input.id)];
      if (node === undefined) return [false, state];
      // An inode at nlink 0 sits in the trash until reclaimed: either answer.
      if (output.status === 'error') return [output.errno === 'ENOENT' && node.nlink === 0, state];
      return [output.nlink === node.nlink && output.kind === node.kind, state];
    }
    default:
      return [false, state];
  }
}

function stepWrite(state: NsState, input: NsInput, output: NsOutput): [boolean, NsState] {
  const reasons = refusals(state, input);
  if (output.status === 'error') return [output.errno === 'EBUSY' || reasons.includes(output.errno), state];
  if (output.status === 'unknown') {
    if (reasons.length > 0) return [true, state];
    return [true, apply(state, input, input.op === 'create' ? `?${input.tag}` : '')];
  }
  if (reasons.length > 0) return [false, state];
  if (input.op !== 'create') return [true, apply(state, input, '')];
  // A new inode's id is fresh: never seen before in this history.
  if (output.id === undefined || state.nodes[String(output.id)] !== undefined) return [false, state];
  return [true, apply(state, input, String(output.id))];
}

function isRead(input: NsInput): boolean {
  return input.op === 'lookup' || input.op === 'readdir' || input.op === 'stat';
}

/** A canonical text of the state: equal states, equal texts. */
export function stateText(state: NsState): string {
  const sorted = <V>(record: Readonly<Record<string, V>>, show: (v: V) => string) =>
    Object.keys(record)
      .sort()
      .map((k) => `${k}:${show(record[k]!)}`)
      .join(',');
  return `N{${sorted(state.nodes, (n) => `${n.kind[0]}${n.nlink}`)}} D{${sorted(state.dirs, (d) => `[${sorted(d, (id) => id)}]`)}} P{${sorted(state.parentOf, (p) => p)}}`;
}

export function describeNsOperation(input: NsInput, output: NsOutput): string {
  const result = output.status === 'ok' ? `ok${output.id === undefined ? '' : ` id=${output.id}`}${output.kind === undefined ? '' : ` ${output.kind}`}${output.nlink === undefined ? '' : ` nlink=${output.nlink}`}${output.entries === undefined ? '' : ` [${output.entries.map(([n, id]) => `${n}:${id}`).join(' ')}]`}` : output.status === 'error' ? output.errno : `unknown${output.detail === undefined ? '' : ` (${output.detail})`}`;
  switch (input.op) {
    case 'create':
      return `${input.kind === 'dir' ? 'mkdir' : 'create'}(${input.dir}/${input.name}) -> ${result}`;
    case 'link':
      return `link(${input.id} -> ${input.dir}/${input.name}) -> ${result}`;
    case 'unlink':
    case 'rmdir':
    case 'lookup':
      return `${input.op}(${input.dir}/${input.name}) -> ${result}`;
    case 'rename':
      return `rename(${input.srcDir}/${input.srcName} -> ${input.dstDir}/${input.dstName}) -> ${result}`;
    case 'readdir':
      return `readdir(${input.dir}) -> ${result}`;
    case 'stat':
      return `stat(${input.id}) -> ${result}`;
  }
}

export function namespaceModel(initial: NsState): Model<NsState, NsInput, NsOutput> {
  return {
    init: () => initial,
    step: (state, input, output) => (isRead(input) ? stepRead(state, input, output) : stepWrite(state, input, output)),
    hash: stateText,
    equal: (a, b) => a === b || stateText(a) === stateText(b),
    describeOperation: describeNsOperation,
    describePartition: () => 'the namespace',
  };
}
