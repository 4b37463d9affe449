// Reading the shim's config file (composition root: the only place that touches it).
import { readFile } from 'node:fs/promises';
import { parseShimConfig, type ConfigParseResult } from '../../shim/config.js';

export type LoadedConfig = ConfigParseResult & { readonly text: string };

export async function readShimConfig(file: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : (error as Error).message;
    return { ok: false, error: `cannot read ${file}: ${why}`, warnings: [], text: '' };
  }
  return { ...parseShimConfig(text), text };
}
