// Platforms (`os/arch[/variant]`) and choosing one entry of an index, with the variant
// defaults containerd uses (arm64 means arm64/v8, arm means arm/v7).
import type { Descriptor, Platform } from './manifest.js';

export interface PlatformSpec {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

const NODE_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** The platform of this machine, for Node's process.platform/arch values. */
export function platformOf(nodePlatform: string, nodeArch: string): PlatformSpec {
  return normalisePlatform({ os: nodePlatform === 'win32' ? 'windows' : nodePlatform, architecture: NODE_ARCH[nodeArch] ?? nodeArch });
}

export function normalisePlatform(platform: PlatformSpec): PlatformSpec {
  const architecture = platform.architecture === 'aarch64' ? 'arm64' : platform.architecture === 'x86_64' ? 'amd64' : platform.architecture;
  let variant = platform.variant;
  if (architecture === 'arm64' && (variant === undefined || variant === '8')) variant = 'v8';
  if (architecture === 'arm' && variant === undefined) variant = 'v7';
  if (architecture === 'arm' && variant !== undefined && /^\d$/.test(variant)) variant = `v${variant}`;
  return { os: platform.os, architecture, ...(variant !== undefined ? { variant } : {}) };
}

/** Parses `os/arch[/variant]`. */
export function parsePlatform(text: string): PlatformSpec | undefined {
  const parts = text.trim().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '' || !/^[a-z0-9._-]+$/i.test(p))) return undefined;
  return normalisePlatform({ os: parts[0]!.toLowerCase(), architecture: parts[1]!.toLowerCase(), ...(parts[2] ? { variant: parts[2].toLowerCase() } : {}) });
}

export function formatPlatform(platform: PlatformSpec): string {
  return `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}`;
}

export function platformMatches(candidate: Platform | undefined, wanted: PlatformSpec): boolean {
  if (!candidate) return false;
  const have = normalisePlatform(candidate);
  const want = normalisePlatform(wanted);
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  return want.variant === undefined || have.variant === want.variant;
}

/** The index entry for `wanted`; attestation manifests (`unknown/unknown`) never match. */
export function selectPlatform(manifests: readonly Descriptor[], wanted: PlatformSpec): Descriptor | undefined {
  return manifests.find((descriptor) => platformMatches(descriptor.platform, wanted));
}
