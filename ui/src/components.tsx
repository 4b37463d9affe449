// Small building blocks shared by the pages. Everything from the registry is rendered as
// text nodes or attribute values through Preact, never as markup.
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Result } from './api';
import { exactBytes, exactTime, formatBytes, relativeTime, shortDigest } from './format';
import { navigate } from './router';

/** A link that stays in the app (plain clicks), and behaves like any link otherwise. */
export function Link({ href, children, ...rest }: { href: string; children: ComponentChildren } & Omit<JSX.AnchorHTMLAttributes<HTMLAnchorElement>, 'href'>) {
  const onClick = (event: MouseEvent): void => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return (
    <a href={href} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}

export function RelativeTime({ iso }: { iso: string | null | undefined }) {
  // Re-render now and then so "a minute ago" does not go stale on an open page.
  const [, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((tick) => tick + 1), 30_000);
    return () => clearInterval(timer);
  }, []);
  if (!iso) return <span class="muted">–</span>;
  return (
    <time dateTime={iso} title={exactTime(iso)}>
      {relativeTime(iso)}
    </time>
  );
}

export function Bytes({ value }: { value: number }) {
  return (
    <span class="bytes" title={exactBytes(value)} data-bytes={value}>
      {formatBytes(value)}
    </span>
  );
}

export function Digest({ value }: { value: string }) {
  return (
    <code class="digest" title={value}>
      {shortDigest(value)}
    </code>
  );
}

/** Copies with the Clipboard API where the page may use it, else through a selection. */
async function copyText(text: string): Promise<boolean> {
  try {
    if (window.isSecureContext && navigator.clipboard) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Fall through to the selection copy.
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  let copied: boolean;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}

export function CopyButton({ text, label, description }: { text: string; label: string; description: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return undefined;
    const timer = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(timer);
  }, [state]);
  const onClick = async (): Promise<void> => setState((await copyText(text)) ? 'copied' : 'failed');
  return (
    <button type="button" class="copy" title={text} aria-label={description} data-copy={text} onClick={() => void onClick()}>
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : label}
      <span class="visually-hidden" aria-live="polite">
        {state === 'copied' ? 'Copied to the clipboard' : ''}
      </span>
    </button>
  );
}

export function Loading({ label, rows = 6 }: { label: string; rows?: number }) {
  return (
    <div class="loading" role="status" aria-live="polite" aria-busy="true">
      <span class="visually-hidden">{label}</span>
      {Array.from({ length: rows }, (_, index) => (
        <div class="skeleton" key={index} />
      ))}
    </div>
  );
}

export function ErrorState({ title, message, onRetry }: { title: string; message: string; onRetry?: () => void }) {
  return (
    <div class="state state-error" role="alert">
      <h2>{title}</h2>
      <p>{message}</p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="state state-empty">
      <h2>{title}</h2>
      {children}
    </div>
  );
}

export type Loaded<T> = { readonly kind: 'loading' } | { readonly kind: 'ok'; readonly value: T } | { readonly kind: 'error'; readonly status: number; readonly message: string };

/** Runs `load` when `key` changes; `reload` runs it again (keeping the shown data until the answer). */
export function useLoad<T>(key: string, load: () => Promise<Result<T>>): [Loaded<T>, () => void] {
  const [state, setState] = useState<Loaded<T>>({ kind: 'loading' });
  const [generation, setGeneration] = useState(0);
  const loader = useRef(load);
  loader.current = load;
  useEffect(() => {
    let live = true;
    setState((previous) => (generation > 0 && previous.kind === 'ok' ? previous : { kind: 'loading' }));
    void loader.current().then((result) => {
      if (!live) return;
      setState(result.ok ? { kind: 'ok', value: result.value } : { kind: 'error', status: result.status, message: result.message });
    });
    return () => {
      live = false;
    };
  }, [key, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return [state, reload];
}

/** A modal confirmation on the native <dialog> (focus trapped, Escape cancels). */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  onConfirm,
  onClose,
}: {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  /** Resolves to an error message, or null when done. */
  onConfirm: () => Promise<string | null>;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  const confirm = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    const failure = await onConfirm();
    setBusy(false);
    if (failure === null) onClose();
    else setError(failure);
  };
  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby="dialog-title"
      onCancel={(event) => {
        event.preventDefault();
        if (!busy) onClose();
      }}
    >
      <h2 id="dialog-title">{title}</h2>
      <div class="dialog-body">{children}</div>
      {error !== null && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <div class="dialog-actions">
        <button type="button" onClick={onClose} disabled={busy}>
          Cancel
        </button>
        <button type="button" class="danger" onClick={() => void confirm()} disabled={busy} autoFocus={false}>
          {busy ? 'Working…' : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

export function Pager({ offset, limit, total, hrefFor, noun }: { offset: number; limit: number; total: number; hrefFor: (pageNumber: number) => string; noun: string }) {
  const pageNumber = Math.floor(offset / limit) + 1;
  const pages = Math.max(1, Math.ceil(total / limit));
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(total, offset + limit);
  return (
    <nav class="pager" aria-label={`${noun} pages`}>
      <span class="pager-range">
        {first}–{last} of {total.toLocaleString('en-US')}
      </span>
      <span class="pager-buttons">
        {pageNumber > 1 ? <Link href={hrefFor(pageNumber - 1)} rel="prev">← Previous</Link> : <span class="disabled" aria-disabled="true">← Previous</span>}
        <span class="pager-page">
          Page {pageNumber} of {pages}
        </span>
        {pageNumber < pages ? <Link href={hrefFor(pageNumber + 1)} rel="next">Next →</Link> : <span class="disabled" aria-disabled="true">Next →</span>}
      </span>
    </nav>
  );
}

export function KeyValueTable({ entries, caption, empty }: { entries: ReadonlyArray<readonly [string, string]>; caption: string; empty: string }) {
  if (entries.length === 0) return <p class="muted">{empty}</p>;
  return (
    <table class="kv">
      <caption class="visually-hidden">{caption}</caption>
      <tbody>
        {entries.map(([key, value]) => (
          <tr key={key}>
            <th scope="row">{key}</th>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
