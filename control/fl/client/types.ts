/** What an FL client does with a job, whichever door it uses. */

export interface JobRef {
  job: string;
  /** Absent: the default tenant (/jobs/J, not /tenants/T/jobs/J). */
  tenant?: string;
}

export interface RoundModel {
  round: number;
  params: Float32Array;
}

export interface Update {
  clientId: string;
  /** Examples the delta was trained on: its weight under num-examples. */
  numExamples: number;
  /** Local weights minus round R's model. */
  delta: Float32Array;
}

/** The server's answer once a leaf folded the update in. */
export interface UploadResult {
  round: number;
  staleness: number;
  weight: number;
}

export interface ModelOptions {
  /** Wait up to this long (ms, at most 60000) for a round not sealed yet. */
  waitMs?: number;
  signal?: AbortSignal;
}

export interface FlClient {
  /** Round R's global model; FlError roundNotReady if not sealed after waitMs. */
  model(round: number, opts?: ModelOptions): Promise<RoundModel>;
  /** Send an update trained from round R's model. */
  submit(round: number, update: Update, opts?: { signal?: AbortSignal }): Promise<UploadResult>;
  close(): void;
}

/** The longest wait the server takes (DESIGN.md). */
export const MAX_WAIT_MS = 60_000;
