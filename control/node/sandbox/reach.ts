/**
 * Can an unprivileged uid reach a file? Checked by ferryd (root) before it
 * starts an instance, so a runtime or handler the sandbox user cannot read
 * (a checkout under /root, mode 0700) fails StartInstance with a message
 * that says what to change, instead of a crash loop. The check reads the
 * mode bits of every directory on the way and of the file (the user has no
 * supplementary groups in the sandbox); ACLs are not consulted. Paths
 * under /tmp are out of reach too: an instance sees its tenant's own /tmp.
 */
import { realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, sep } from 'node:path';
import type { Ids } from './tenant-ids.js';
import type { FileNeed } from './sandbox.js';

const READ = 4;
const WRITE_BITS = 2;
const EXEC = 1;

/** The rwx bits that apply to this user: owner, else group, else other. */
function bitsFor(st: Stats, ids: Ids): number {
  if (st.uid === ids.uid) return (st.mode >> 6) & 7;
  if (st.gid === ids.gid) return (st.mode >> 3) & 7;
  return st.mode & 7;
}

const octal = (st: Stats) => (st.mode & 0o7777).toString(8).padStart(4, '0');

/** Why the file is out of reach for ids, or undefined. */
export function unreachableFor(file: FileNeed, ids: Ids, hidden: string[]): string | undefined {
  const who = `the sandbox user (uid ${ids.uid}, gid ${ids.gid})`;
  let real: string;
  try {
    real = realpathSync(file.path);
  } catch (err) {
    return `${file.path} does not exist on this node (${(err as NodeJS.ErrnoException).code})`;
  }
  const via = real === file.path ? '' : ` (${real})`;
  for (const h of hidden) {
    if (real === h || real.startsWith(h + sep))
      return `${file.path}${via} is under ${h}, which ${who} does not see (instances get a private ${h}): put it elsewhere, e.g. under /opt or /srv`;
  }
  const dirs: string[] = [];
  for (let d = dirname(real); ; d = dirname(d)) {
    dirs.unshift(d);
    if (d === dirname(d)) break;
  }
  for (const d of dirs) {
    const st = statSync(d);
    if (!(bitsFor(st, ids) & EXEC))
      return `${file.path}${via} is out of reach of ${who}: directory ${d} is mode ${octal(st)} owned by uid ${st.uid}; let others through it (chmod o+x ${d}), move ferry and the function elsewhere (e.g. /opt), or run ferryd with --sandbox off`;
  }
  const st = statSync(real);
  const want = file.need === 'exec' ? EXEC : READ;
  if (!(bitsFor(st, ids) & want)) {
    const fix = file.need === 'exec' ? `chmod o+rx ${real}` : `chmod o+r ${real}`;
    return `${file.path}${via} is not ${file.need === 'exec' ? 'executable' : 'readable'} by ${who}: it is mode ${octal(st)} owned by uid ${st.uid}; ${fix}, or run ferryd with --sandbox off`;
  }
  return undefined;
}

/** A directory only its owner and root may change (not a symlink). */
export function isPrivateDir(st: Stats, owner: number): boolean {
  return st.isDirectory() && st.uid === owner && !(st.mode & ((WRITE_BITS << 3) | WRITE_BITS));
}
