/**
 * The chains this node's gateway serves, kept on disk in ferryd's state
 * directory (served-chains.json), so that a restarted ferryd knows which
 * names are coming back and answers 503 restoring for them, not 404, until
 * the control plane programs them again.
 *
 * The record is a hint, never a reason to fail: a missing, unreadable or
 * malformed one is logged and read as empty (the old 404 window), and a
 * failed write is logged, not thrown (the request in hand matters more).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';

export interface ServedEntry {
  name: string;
  chainId: number;
}

const FILE = 'served-chains.json';
const VERSION = 1;
/** More than any node serves; bounds what a corrupt file can make us hold. */
const MAX_ENTRIES = 10_000;
const MAX_NAME = 256;

export class ServedRecord {
  readonly file: string;

  constructor(
    readonly dir: string,
    private readonly node: string,
    private readonly log: Logger,
  ) {
    this.file = join(dir, FILE);
  }

  load(): ServedEntry[] {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn('cannot read the record of served chains; none are restored', { file: this.file, error: (err as Error).message });
      return [];
    }
    const entries = parse(text);
    if (typeof entries === 'string') {
      this.log.warn('ignoring a malformed record of served chains; none are restored', { file: this.file, problem: entries });
      return [];
    }
    return entries;
  }

  save(entries: ServedEntry[]): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      writeFileSync(tmp, JSON.stringify({ version: VERSION, node: this.node, chains: entries }, null, 2) + '\n', { mode: 0o600 });
      renameSync(tmp, this.file); // whole or not at all, even if ferryd dies mid-write
    } catch (err) {
      this.log.warn('cannot write the record of served chains; after a restart they answer 404 until reprogrammed', {
        file: this.file,
        error: (err as Error).message,
      });
    }
  }
}

/** The entries, or what is wrong with the text. */
function parse(text: string): ServedEntry[] | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  const chains = (doc as { version?: unknown; chains?: unknown } | null)?.chains;
  if ((doc as { version?: unknown } | null)?.version !== VERSION) return `version is not ${VERSION}`;
  if (!Array.isArray(chains) || chains.length > MAX_ENTRIES) return `"chains" is not a list of at most ${MAX_ENTRIES} entries`;
  for (const [i, c] of chains.entries()) {
    const e = c as Partial<ServedEntry> | null;
    if (typeof e?.name !== 'string' || e.name === '' || e.name.length > MAX_NAME || !Number.isInteger(e.chainId) || (e.chainId as number) < 0)
      return `chains[${i}] is not {name, chainId}`;
  }
  return (chains as ServedEntry[]).map((c) => ({ name: c.name, chainId: c.chainId }));
}
