import type { RoundTrip } from './driver.js';

/** One transport as the Node pinger drives it. */
export interface PingClient {
  /** Prepare a case of size-byte payloads; returns its round trip. */
  begin(size: number): RoundTrip;
  /** After the case: did every reply check out? Releases the case's buffers. */
  end(): { verified: boolean; note: string };
  close(): void;
}
