// Test PKI made with the real openssl: a CA, a server certificate for 127.0.0.1 and a
// client certificate, in a directory laid out the way containers' cert dirs expect.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './process.js';
import { tool } from './tools.js';

export interface TestPki {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await run(tool('openssl'), args, { cwd });
}

/** Creates `<dir>/{ca.crt,server.crt,server.key,client.cert,client.key}`; `name` varies the CA subject. */
export async function makePki(dir: string, name = 'berth-test'): Promise<TestPki> {
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name} CA`, '-keyout', 'ca.key', '-out', 'ca.crt'], dir);
  await writeFile(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr'], dir);
  await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.crt'], dir);
  await writeFile(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name} client`, '-keyout', 'client.key', '-out', 'client.csr'], dir);
  await openssl(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'client.ext', '-out', 'client.cert'], dir);
  return {
    dir,
    caCert: path.join(dir, 'ca.crt'),
    serverCert: path.join(dir, 'server.crt'),
    serverKey: path.join(dir, 'server.key'),
    clientCert: path.join(dir, 'client.cert'),
    clientKey: path.join(dir, 'client.key'),
  };
}
