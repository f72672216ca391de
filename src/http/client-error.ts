import type { Duplex } from 'node:stream';

/** How long, at most, a refused connection is drained before it is closed. */
const DRAIN_MS = 5_000;
/** …and how many further bytes are read and dropped meanwhile. */
const DRAIN_BYTES = 1024 * 1024;

/**
 * The http server's 'clientError' handler: requests Node refuses before Koa sees
 * them (a head over maxHeaderSize, a malformed request line or header) get a
 * registry-format JSON answer. Node's default writes a bare 431/400 and destroys the
 * socket while the client may still be sending its head, which clients see as a
 * connection reset. Here the answer is written, the sending side closed, and what the
 * client still sends is read and dropped (bounded in time and bytes), so the client
 * reads the answer.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex, maxHeaderBytes: number): void {
  // A response already under way on this connection (pipelining) cannot be followed by ours.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const [status, reason, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', `request head larger than ${maxHeaderBytes} bytes`]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'request not received in time']
        : [400, 'Bad Request', 'malformed HTTP request'];
  const body = JSON.stringify({ errors: [{ code: status === 431 ? 'PAYLOAD_TOO_LARGE' : 'INVALID_REQUEST', message }] });
  // Node's parser still listens on the socket; what follows is not HTTP to us any more.
  socket.removeAllListeners('data');
  let drained = 0;
  socket.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_BYTES) socket.destroy();
  });
  socket.on('error', () => socket.destroy());
  const timer = setTimeout(() => socket.destroy(), DRAIN_MS);
  timer.unref();
  socket.on('close', () => clearTimeout(timer));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
  socket.resume();
}
