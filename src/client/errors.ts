/** A failure the person can act on: the CLI prints its message as one line, without a stack trace. */
export class ClientError extends Error {
  override readonly name = 'ClientError';
}
