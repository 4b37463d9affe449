// Credentials a client presents to one registry.

export interface Credentials {
  readonly username?: string;
  readonly password?: string;
  /** A bearer token to send as is (CRI's `registry_token`). */
  readonly registryToken?: string;
}

export type CredentialSource = () => Promise<Credentials | undefined> | Credentials | undefined;

export function basicHeader(credentials: Credentials): string | undefined {
  if (credentials.username === undefined && credentials.password === undefined) return undefined;
  return `Basic ${Buffer.from(`${credentials.username ?? ''}:${credentials.password ?? ''}`).toString('base64')}`;
}
