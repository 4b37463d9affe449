// Repository globs, as zot's accessControl writes them: `*` matches within one path
// component, `**` across components (any characters, `/` included), `?` one character
// other than `/`; everything else is literal. So `library/*` holds `library/nginx` but
// not `library/a/b`, `prod/**` holds everything below `prod/` (not `prod` itself), and
// `**` holds every repository.

/** Characters a glob may contain: those of repository names, and the wildcards. */
const GLOB_CHARACTERS = /^[a-z0-9._\-/*?]+$/;

export type GlobResult = { readonly ok: true; readonly glob: Glob } | { readonly ok: false; readonly reason: string };

export interface Glob {
  readonly pattern: string;
  /** The characters before the first wildcard: every repository it matches starts with them. */
  readonly prefix: string;
  /** How many wildcard characters it has (a tie-break between equally long globs). */
  readonly wildcards: number;
  readonly literal: boolean;
  matches(repository: string): boolean;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.\\+^$()[\]{}|-]/g, '\\$&');
}

export function compileGlob(pattern: string): GlobResult {
  if (pattern === '' || !GLOB_CHARACTERS.test(pattern)) {
    return { ok: false, reason: `${JSON.stringify(pattern)} is not a repository glob (lower-case names, /, *, ** and ?)` };
  }
  if (/\*{3,}/.test(pattern)) return { ok: false, reason: `${JSON.stringify(pattern)}: use * or **, not ***` };
  let source = '';
  let wildcards = 0;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === '*' && pattern[i + 1] === '*') {
      source += '.*';
      wildcards += 2;
      i++;
    } else if (char === '*') {
      source += '[^/]*';
      wildcards += 1;
    } else if (char === '?') {
      source += '[^/]';
      wildcards += 1;
    } else source += escapeRegExp(char);
  }
  const firstWildcard = pattern.search(/[*?]/);
  const prefix = firstWildcard < 0 ? pattern : pattern.slice(0, firstWildcard);
  const literal = firstWildcard < 0;
  const regex = new RegExp(`^${source}$`);
  return {
    ok: true,
    glob: {
      pattern,
      prefix,
      wildcards,
      literal,
      matches: literal ? (repository) => repository === pattern : (repository) => regex.test(repository),
    },
  };
}

/** Orders globs so that the first one matching a repository is the one that wins. */
export function compareGlobs(a: Glob, b: Glob): number {
  // The longest pattern wins; among equally long ones, the one with fewer wildcards
  // (the more literal one); then alphabetical, so the order never depends on the file.
  return b.pattern.length - a.pattern.length || a.wildcards - b.wildcards || (a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0);
}

interface TrieNode {
  readonly children: Map<string, TrieNode>;
  /** Indexes (into the sorted list) of globs whose literal prefix ends here. */
  readonly globs: number[];
}

/**
 * The globs of a policy, to find the winning one for a repository without trying every
 * glob: a trie over their literal prefixes yields the few candidates whose prefix the
 * name starts with, and of those the best ranked that matches wins.
 */
export class GlobIndex<T> {
  private readonly sorted: Array<{ readonly glob: Glob; readonly value: T }>;
  private readonly root: TrieNode = { children: new Map(), globs: [] };

  constructor(entries: ReadonlyArray<{ readonly glob: Glob; readonly value: T }>) {
    this.sorted = [...entries].sort((a, b) => compareGlobs(a.glob, b.glob));
    this.sorted.forEach(({ glob }, index) => {
      let node = this.root;
      for (const char of glob.prefix) {
        let next = node.children.get(char);
        if (!next) {
          next = { children: new Map(), globs: [] };
          node.children.set(char, next);
        }
        node = next;
      }
      node.globs.push(index);
    });
  }

  get size(): number {
    return this.sorted.length;
  }

  /** The winning entry for `repository`: the best ranked glob that matches, or undefined. */
  find(repository: string): { readonly glob: Glob; readonly value: T } | undefined {
    let best = Infinity;
    let node: TrieNode | undefined = this.root;
    for (let i = 0; node; i++) {
      for (const index of node.globs) if (index < best && this.sorted[index]!.glob.matches(repository)) best = index;
      node = i < repository.length ? node.children.get(repository[i]!) : undefined;
    }
    return best === Infinity ? undefined : this.sorted[best];
  }

  entries(): ReadonlyArray<{ readonly glob: Glob; readonly value: T }> {
    return this.sorted;
  }
}
