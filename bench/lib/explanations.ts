// Why a target is missed, as analysed from profiles and measurements; the report
// quotes these next to any missed (or unmeasured) target.

const EXPLANATIONS: Record<string, string> = {};

export function explain(targetId: string): string | undefined {
  return EXPLANATIONS[targetId] ?? EXPLANATIONS[targetId.replace(/-(push-pull|small-push|blob-get|manifest|listing)$/, '')];
}
