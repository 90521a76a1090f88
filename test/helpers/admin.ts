/** Shared by the Admin API tests. */
import { expect } from 'vitest';
import { AdminError } from '../../control/controlplane/admin/client.js';

/** The AdminError a call must fail with (the test fails if it succeeds). */
export async function rejection(p: Promise<unknown>): Promise<AdminError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AdminError);
    return err as AdminError;
  }
  throw new Error('expected the call to fail');
}
