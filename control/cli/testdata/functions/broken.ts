/** A function that throws as its module is imported (a missing
 * dependency, a bad configuration). */
throw new Error('cannot load: the config file is missing');

export default function never(): string {
  return 'unreachable';
}
