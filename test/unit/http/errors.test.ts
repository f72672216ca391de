import { describe, expect, it } from 'vitest';
import { answerFor, HttpError } from '../../../src/http/errors.js';
import { IssuanceError } from '../../../src/issuance/index.js';
import { ScopeError } from '../../../src/registry/index.js';
import { SessionError } from '../../../src/sessions/index.js';
import { IdentityError } from '../../../src/identity/index.js';
import { StoreUnavailableError } from '../../../src/store/index.js';

describe('the code → HTTP status table', () => {
  it.each([
    [new ScopeError('x', 'bad'), 400, 'INVALID_SCOPE'],
    [new IssuanceError('unknown_service', 'no'), 400, 'UNKNOWN_SERVICE'],
    [new IssuanceError('bad_credentials', 'no'), 401, 'UNAUTHORIZED'],
    [new IssuanceError('verification_unavailable', 'later'), 503, 'UNAVAILABLE'],
    [new SessionError('reused', 'no'), 401, 'UNAUTHORIZED'],
    [new SessionError('unavailable', 'later', 2), 503, 'UNAVAILABLE'],
    [new HttpError('payload_too_large', 'big'), 413, 'PAYLOAD_TOO_LARGE'],
    [new HttpError('unsupported_media_type', 'json'), 415, 'INVALID_REQUEST'],
  ] as const)('%s → %i %s', (err, status, wire) => {
    expect(answerFor(err)).toMatchObject({ status, wire });
  });

  it('carries a rate limit\'s own Retry-After', () => {
    expect(answerFor(new SessionError('rate_limited', 'slow down', 17))).toMatchObject({ status: 429, retryAfter: 17 });
  });

  it('leaves errors that must not reach a caller unanswered (500): store and identity errors are translated before HTTP', () => {
    expect(answerFor(new StoreUnavailableError('down'))).toBeUndefined();
    expect(answerFor(new IdentityError('expired', 'old'))).toBeUndefined();
    expect(answerFor(new Error('bug'))).toBeUndefined();
  });
});
