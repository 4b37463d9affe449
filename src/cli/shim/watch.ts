// Notices edits of the config file: fs.watch on its directory (editors and config
// managers replace files by rename, which a watch on the file itself would miss) and,
// as a safety net for filesystems without inotify, a poll every `reloadInterval`.
// The content hash decides whether anything changed, so touching the file is a no-op.
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

export type ReloadTrigger = 'poll' | 'watch' | 'signal';

export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class ConfigWatcher {
  private timer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private lastHash: string;

  constructor(
    private readonly file: string,
    initialText: string,
    private intervalMs: number,
    /** Gets the new text; returns whether it was accepted (a rejected text is not retried until it changes). */
    private readonly onChange: (text: string, trigger: ReloadTrigger) => Promise<void> | void,
    private readonly log: Logger,
  ) {
    this.lastHash = contentHash(initialText);
  }

  start(): void {
    this.schedulePoll();
    try {
      const base = path.basename(this.file);
      this.watcher = watch(path.dirname(this.file), { persistent: false }, (_event, name) => {
        if (name !== null && name !== base) return;
        if (this.debounce) clearTimeout(this.debounce);
        // Writers often truncate then write: wait for the burst to settle.
        this.debounce = setTimeout(() => void this.check('watch'), 150);
      });
      this.watcher.on('error', (error) => this.log.warn({ file: this.file, err: error.message }, 'config file watch failed; relying on polling'));
    } catch (error) {
      this.log.warn({ file: this.file, err: (error as Error).message }, 'cannot watch the config directory; relying on polling');
    }
  }

  setInterval(ms: number): void {
    if (ms === this.intervalMs) return;
    this.intervalMs = ms;
    this.log.info({ reloadInterval: `${ms}ms` }, 'updated reload interval');
    this.schedulePoll();
  }

  private schedulePoll(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => void this.check('poll'), this.intervalMs);
    this.timer.unref();
  }

  /** Reads the file; calls onChange when its content differs (always, for a signal). Checks run one at a time. */
  check(trigger: ReloadTrigger): Promise<void> {
    this.running = this.running.then(async () => {
      let text: string;
      try {
        text = await readFile(this.file, 'utf8');
      } catch (error) {
        // A file being replaced can be missing for a moment; the next poll sees the new one.
        if (trigger !== 'watch') this.log.error({ file: this.file, err: (error as Error).message }, 'cannot read the config file; keeping the running config');
        return;
      }
      const hash = contentHash(text);
      if (hash === this.lastHash && trigger !== 'signal') return;
      this.lastHash = hash;
      await this.onChange(text, trigger);
    });
    return this.running;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    this.watcher?.close();
  }
}
