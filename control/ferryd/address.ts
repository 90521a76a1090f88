/** host:port as ferryd's flags and options take it ("[::1]:7070" for IPv6). */

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(s: string, what: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new Error(`${what}: "${s}" is not host:port (e.g. 127.0.0.1:7070, [::1]:7070; port 0 picks a free one)`);
  return { host: (m[1] ?? m[2])!, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
