/**
 * A client's 64-byte update header checked against its job and URL, as
 * soon as those bytes are in the pool (the rest of the body is not waited
 * for when they are wrong).
 */
import { CLIENT_ID, CLIENT_ID_MAX, decodeUpdateHeader, DTYPE_FLOAT32, UPDATE_MAGIC, UPDATE_VERSION, UpdateField, type UpdateHeader } from '../../fl/wire.js';
import { badDtype, badHeader, badTensorSize } from './errors.js';

export function checkUpdateHeader(job: { name: string; paramCount: number }, bytes: Uint8Array, urlRound: number): UpdateHeader {
  const h = decodeUpdateHeader(bytes);
  const name = job.name;
  if (h.magic !== UPDATE_MAGIC) throw badHeader(name, `magic is 0x${h.magic.toString(16)}, not "FLU1" (0x${UPDATE_MAGIC.toString(16)}): is this an update at all?`);
  if (h.version !== UPDATE_VERSION) throw badHeader(name, `version ${h.version}; this node speaks ${UPDATE_VERSION}`);
  if (h.dtype !== DTYPE_FLOAT32) throw badDtype(name, h.dtype);
  const reserved = new DataView(bytes.buffer, bytes.byteOffset + UpdateField.reserved, 4).getUint32(0, true);
  if (reserved !== 0) throw badHeader(name, 'the reserved field must be 0');
  if (h.numExamples === 0) throw badHeader(name, 'num_examples is 0: an update weighs the examples it trained on (at least 1)');
  if (!CLIENT_ID.test(h.clientId)) throw badHeader(name, 'client_id must be 1..40 of [A-Za-z0-9._-], NUL padded');
  const id = bytes.subarray(UpdateField.clientId, UpdateField.clientId + CLIENT_ID_MAX);
  for (let i = h.clientId.length; i < CLIENT_ID_MAX; i++) if (id[i] !== 0) throw badHeader(name, 'client_id must be NUL padded after its last character');
  if (h.paramCount !== job.paramCount) throw badTensorSize(name, `param_count is ${h.paramCount}; this job's model has ${job.paramCount}`);
  if (h.round !== urlRound) throw badHeader(name, `the header says round ${h.round}, the URL round ${urlRound}`);
  return h;
}
