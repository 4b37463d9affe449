// What a runtime's PullImage error says about where the pull went wrong. The CRI gives a
// status code and a message, and the code is the same (UNKNOWN, NOT_FOUND) whether the
// registry went away or the runtime tripped over its own state, so the message decides:
// - unreachable: the registry could not be reached or dropped the connection (refused,
//   reset, timeout, 5xx, a body cut off); it counts against the registry's breaker, and
//   the pull goes on to the next registry of its plan;
// - runtime: the runtime's own content or snapshots failed it. containerd 1.6 collects
//   what a failed attempt left behind (a layer unpacked, a blob fetched) while the next
//   attempt of the same image already relies on it ("parent snapshot ... does not exist",
//   "failed to get reader from content store"); the same registry is worth one more try;
// - other: the registry answered and said no (a blob it lacks, a refused credential).
export type PullFailureKind = 'unreachable' | 'runtime' | 'other';

const UNREACHABLE =
  /connection refused|no route to host|i\/o timeout|network is unreachable|connection reset|unexpected EOF|dial tcp|server misbehaving|\b50[234]\b|service unavailable|bad gateway/i;

const RUNTIME = /snapshot|content store/i;

export function classifyPullFailure(message: string): PullFailureKind {
  if (UNREACHABLE.test(message)) return 'unreachable';
  return RUNTIME.test(message) ? 'runtime' : 'other';
}
