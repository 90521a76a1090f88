/** Why a request to the chain manager failed, for the API to map to a status. */
export type ChainErrorKind = 'invalid' | 'not-found' | 'conflict' | 'unplaceable' | 'unavailable' | 'forbidden';

export class ChainError extends Error {
  constructor(
    readonly kind: ChainErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ChainError';
  }
}
