/**
 * `portcullis login` and `logout` as a person runs them (child processes), on the refusals that need
 * no sign-in: each is one line on stderr and exit status 1 (2 for a wrong command line), and nothing
 * is written.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMachine, type Machine } from '../../helpers/client.js';

describe('portcullis login / logout refusals', () => {
  let machine: Machine;
  let server: Server;
  let base: string;
  let discovery: unknown = {};

  beforeAll(async () => {
    machine = await newMachine();
    server = createServer((req, res) => {
      if (req.url === '/.well-known/portcullis') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(discovery));
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await machine.cleanup();
  });

  const fails = async (args: string[], message: string | RegExp): Promise<void> => {
    const result = await machine.portcullis(args);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
    expect(existsSync(machine.loginsFile)).toBe(false);
  };

  it('refuses a plain-http broker that is not on this machine', async () => {
    await fails(['login', 'http://auth.example.com'], /^portcullis: http:\/\/auth\.example\.com: use https \(plain http is accepted only for a broker on 127\.0\.0\.1\)$/m);
  });

  it('names a server that is not a broker', async () => {
    await fails(['login', `${base}/elsewhere`], 'does not look like a Portcullis broker');
  });

  it('a broker without sign-in for people says so', async () => {
    discovery = { broker: base, token_endpoint: `${base}/token`, services: ['s'], registries: [] };
    await fails(['login', base], `${base} has no sign-in for people configured`);
  });

  it('refuses a discovery document sending credentials over plain http elsewhere', async () => {
    discovery = {
      broker: base,
      token_endpoint: `${base}/token`,
      login: { authorization_endpoint: `${base}/login/cli`, device_authorization_endpoint: `${base}/d`, token_endpoint: 'http://evil.example/token', revocation_endpoint: `${base}/r` },
    };
    await fails(['login', base, '--device'], 'refusing to send credentials there');
  });

  it('--configure with no registry to configure is refused before any sign-in', async () => {
    discovery = {
      broker: base,
      token_endpoint: `${base}/token`,
      registries: [],
      login: { authorization_endpoint: `${base}/login/cli`, device_authorization_endpoint: `${base}/d`, token_endpoint: `${base}/t`, revocation_endpoint: `${base}/r` },
    };
    await fails(['login', base, '--configure', 'docker'], 'announces no registry to configure; name it with --registry');
  });

  it('a wrong --configure value, or --device with --browser, is a usage error: exit status 2', async () => {
    const bad = await machine.portcullis(['login', base, '--configure', 'rkt']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown client "rkt" \(expected docker, podman, buildah or skopeo\)/);
    const both = await machine.portcullis(['login', base, '--device', '--browser']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/cannot be used with/);
    expect(existsSync(machine.loginsFile)).toBe(false);
  });

  it('logout when not signed in', async () => {
    await fails(['logout'], 'not signed in to any broker');
  });
});
