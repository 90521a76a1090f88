/** A test function that cannot load: it throws as its module is imported,
 * the way a handler with a missing dependency or configuration does. */
throw new Error('cannot load: the database is gone');

export default function never(): string {
  return 'unreachable';
}
