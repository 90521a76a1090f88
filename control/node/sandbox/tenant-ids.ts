/**
 * A uid (and gid of the same number) per tenant, with no /etc/passwd entry:
 * base + a hash of the tenant's name within a range, so a tenant keeps its
 * uid across ferryd restarts (files it left in its /tmp stay its own). Two
 * tenants whose names hash alike get different uids here: the later one
 * takes the next free number. A tenant's instances share its uid, so they
 * can see each other; other tenants' cannot.
 */

export const DEFAULT_UID_BASE = 200_000;
/** 200000..265535: above the usual subuid ranges of rootless containers
 * (100000 + 65536), below the nobody/overflow ids. */
export const DEFAULT_UID_RANGE = 65_536;

export interface Ids {
  uid: number;
  gid: number;
}

/** FNV-1a, 32 bits: stable and well spread for short names. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(s, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export class TenantIds {
  private readonly byTenant = new Map<string, number>();
  private readonly byUid = new Map<number, string>();

  constructor(
    readonly base = DEFAULT_UID_BASE,
    readonly range = DEFAULT_UID_RANGE,
  ) {
    if (!Number.isInteger(base) || base < 1000 || !Number.isInteger(range) || range < 1 || base + range > 0x7fffffff)
      throw new Error(`uid range ${base}+${range} must be whole numbers from 1000 up, within 2^31`);
  }

  ids(tenant: string): Ids {
    let uid = this.byTenant.get(tenant);
    if (uid === undefined) {
      const start = fnv1a(tenant) % this.range;
      for (let i = 0; i < this.range; i++) {
        const candidate = this.base + ((start + i) % this.range);
        if (!this.byUid.has(candidate)) {
          uid = candidate;
          break;
        }
      }
      if (uid === undefined) throw new Error(`no free uid left in ${this.base}..${this.base + this.range - 1} for tenant "${tenant}"`);
      this.byTenant.set(tenant, uid);
      this.byUid.set(uid, tenant);
    }
    return { uid, gid: uid };
  }
}
