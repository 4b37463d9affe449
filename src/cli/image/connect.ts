// A registry client for one command, with docker's meaning of the connection flags:
// --plain-http talks http; --ca-file means TLS (also on loopback, which is otherwise
// plain http) trusting that CA; --insecure tries https without certificate checks
// first and falls back to plain http when the server does not speak TLS, as docker
// does for an insecure registry. An explicit http:// or https:// registry wins.
import type { RegistryClient } from '../../client/registry-client.js';
import { createClient, type ConnectionFlags } from '../clients.js';
import type { Credentials } from '../../client/credentials.js';

/** Failures that mean "this is not a TLS server" (as opposed to refused or unreachable). */
function notTls(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return code === 'EPROTO' || code === 'ECONNRESET' || code.startsWith('ERR_SSL_') || /wrong version number|packet length too long/.test((error as Error).message);
}

export async function connectRegistry(registry: string, flags: ConnectionFlags, credentials?: Credentials): Promise<RegistryClient> {
  const common: ConnectionFlags = {
    ...(flags.authfile ? { authfile: flags.authfile } : {}),
    ...(flags.caFile ? { caFile: flags.caFile } : {}),
  };
  if (/^https?:\/\//i.test(registry)) return createClient(registry, { ...common, ...(flags.insecure ? { insecure: true, plainHttp: false } : {}) }, credentials);
  if (flags.plainHttp) return createClient(`http://${registry}`, { ...common, plainHttp: true }, credentials);
  if (flags.insecure) {
    const tls = createClient(`https://${registry}`, { ...common, insecure: true, plainHttp: false }, credentials);
    try {
      await tls.ping();
      return tls;
    } catch (error) {
      tls.close();
      if (!notTls(error)) throw error;
      return createClient(`http://${registry}`, { ...common, plainHttp: true }, credentials);
    }
  }
  if (flags.caFile) return createClient(`https://${registry}`, common, credentials);
  return createClient(registry, common, credentials);
}
