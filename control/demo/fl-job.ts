/** The demo's job document: chains/fl-digits/job.yaml fitted to a run. */
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import type { Layer } from '../fl/model.js';
import { repoRoot } from '../paths.js';

export const JOB_FILE_PATH = join(repoRoot, 'chains/fl-digits/job.yaml');

/**
 * The example job with this run's rounds, clients and model: the file's
 * comments and every other field kept; quorum scaled with the clients.
 */
export function jobYaml(text: string, o: { rounds: number; clients: number; layers: Layer[] }): { yaml: string; name: string } {
  const doc = parseDocument(text);
  const fileClients = Number(doc.getIn(['spec', 'clients']));
  const fileQuorum = doc.getIn(['spec', 'quorum']);
  doc.setIn(['spec', 'rounds'], o.rounds);
  doc.setIn(['spec', 'clients'], o.clients);
  if (typeof fileQuorum === 'number' && fileClients > 0) doc.setIn(['spec', 'quorum'], Math.max(1, Math.min(o.clients, Math.ceil((fileQuorum / fileClients) * o.clients))));
  doc.setIn(['spec', 'model', 'layers'], doc.createNode(o.layers.map((l) => ({ name: l.name, shape: l.shape })), { flow: false }));
  return { yaml: doc.toString(), name: String(doc.getIn(['metadata', 'name'])) };
}
