import { PortcullisError } from '../lib/index.js';

export type ClientErrorCode =
  /** The person's input (a URL, an option) cannot be used. */
  | 'invalid_input'
  /** The broker or the CI identity endpoint could not be reached. */
  | 'unreachable'
  /** The broker answered with something the client cannot use. */
  | 'bad_answer'
  /** The broker (or the person in the browser) refused. */
  | 'refused'
  /** No stored session fits. */
  | 'not_signed_in'
  /** A local file (logins, docker or containers config, helper.yaml, token file) cannot be used. */
  | 'bad_file';

/** A failure the person can act on: the CLI prints its message as one line, without a stack trace. */
export class ClientError extends PortcullisError<ClientErrorCode> {
  override readonly name = 'ClientError';
  constructor(code: ClientErrorCode, message: string) {
    super(code, message);
  }
}
