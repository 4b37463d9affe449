// The keys Bearer tokens are checked against: this registry's own token key, or an
// external issuer's, given as registry:2 gives them: a bundle of root certificates
// (`rootcertbundle`; tokens name their key by `kid` or carry a chain in `x5c`) or a
// JWKS (`jwks`, a file's content or an https URL). Pure but for the remote JWKS fetch:
// the composition root reads the files.
import { X509Certificate, createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, createLocalJWKSet, createRemoteJWKSet, exportJWK, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

export type KeySource = JWTVerifyGetKey;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * docker's libtrust key ID (what registry:2 matches `kid` against): SHA-256 of the DER
 * public key, cut to 240 bits, base32 in twelve groups of four.
 */
export function libtrustKeyId(key: KeyObject): string {
  const digest = createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest().subarray(0, 30);
  return base32(digest).match(/.{4}/g)!.join(':');
}

export async function jwkThumbprint(key: KeyObject): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(key));
}

/** The certificates of a PEM bundle; an error names what is wrong. */
export function parseCertificateBundle(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no certificate in the bundle');
  return blocks.map((block) => new X509Certificate(block));
}

function withinValidity(certificate: X509Certificate, now: number): boolean {
  return Date.parse(certificate.validFrom) <= now && now <= Date.parse(certificate.validTo);
}

/** Keys from root certificates, found by `kid` (libtrust ID or JWK thumbprint) or by an `x5c` chain. */
export async function certificateBundleKeys(pem: string): Promise<KeySource> {
  const roots = parseCertificateBundle(pem);
  const byKid = new Map<string, KeyObject>();
  for (const root of roots) {
    byKid.set(libtrustKeyId(root.publicKey), root.publicKey);
    byKid.set(await jwkThumbprint(root.publicKey), root.publicKey);
  }
  return async (header) => {
    if (Array.isArray(header.x5c) && header.x5c.length > 0) {
      const chain = header.x5c.map((der) => new X509Certificate(Buffer.from(der, 'base64')));
      const now = Date.now();
      for (let i = 0; i < chain.length; i++) {
        if (!withinValidity(chain[i]!, now)) throw new Error('a certificate of the token chain is not valid now');
        if (i + 1 < chain.length && !chain[i]!.verify(chain[i + 1]!.publicKey)) throw new Error('the token chain is broken');
      }
      const top = chain[chain.length - 1]!;
      const anchored = roots.some((root) => root.fingerprint256 === top.fingerprint256 || (top.checkIssued(root) && top.verify(root.publicKey)));
      if (!anchored) throw new Error('the token chain does not lead to a trusted root');
      return chain[0]!.publicKey;
    }
    if (typeof header.kid === 'string') {
      const key = byKid.get(header.kid);
      if (!key) throw new Error('the token names an unknown key');
      return key;
    }
    if (roots.length === 1) return roots[0]!.publicKey;
    throw new Error('the token names no key');
  };
}

/** Keys from a JWKS document. */
export function jwksKeys(document: JSONWebKeySet): KeySource {
  return createLocalJWKSet(document);
}

/** Keys from a JWKS URL, fetched and cached by jose (refetched for an unknown kid). */
export function remoteJwksKeys(url: URL): KeySource {
  return createRemoteJWKSet(url);
}

/** The public half of a PEM private key. */
export function publicKeyOf(privateKeyPem: string): KeyObject {
  return createPublicKey(privateKeyPem);
}
