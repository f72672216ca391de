import { createServer } from 'node:net';

/**
 * Ask the kernel for a free TCP port on 127.0.0.1 (listen on 0, read it, close).
 * There is a small window in which another process could take the port; callers
 * that spawn servers should treat a bind failure as retryable.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: unexpected server address'));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
