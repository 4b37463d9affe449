// Part of the composition root of `registry serve`: the web UI extension (/ui/), wired to
// the storage, the access-control policy (the same rights as the API), the GC and, when
// configured, the pull-through mirror's upstream health.
import type { Logger } from 'pino';
import type { MirrorStorage } from '../../mirror/mirror-storage.js';
import { everyoneMayAct, withReadOnlyUsers } from '../../registry/auth/authorize.js';
import type { RegistryConfig } from '../../registry/config.js';
import type { AuthFailureTracker } from '../../registry/limits.js';
import { UiAssets } from '../../registry/ui/assets.js';
import { UiExtension } from '../../registry/ui/extension.js';
import { collectGarbage } from '../../storage/gc.js';
import type { LayoutStorage } from '../../storage/layout-storage.js';
import { readStateRecord, writeStateRecord } from '../../storage/state-record.js';
import { blobStoreUsage } from '../../storage/usage.js';
import type { AccessSetup } from './access-setup.js';

export interface UiSetupOptions {
  readonly config: RegistryConfig;
  /** The local storage: the UI shows what is here, and never makes a mirror fetch. */
  readonly storage: LayoutStorage;
  /** undefined: authentication is off, and the UI's anonymous session may do everything. */
  readonly access: AccessSetup | undefined;
  readonly mirror: MirrorStorage | undefined;
  /** The registry's shared secret: every worker and replica accepts the others' sessions. */
  readonly sessionSecret: Buffer;
  readonly authFailures: AuthFailureTracker;
  readonly log: Logger;
}

/** The UI extension; undefined (with a warning) when its bundle is missing. */
export async function uiExtension({ config, storage, access, mirror, sessionSecret, authFailures, log }: UiSetupOptions): Promise<UiExtension | undefined> {
  const bundle = await UiAssets.load();
  if (!bundle.ok) {
    log.warn({ reason: bundle.reason }, 'the web UI is off: its bundle is missing');
    return undefined;
  }
  // One catalog walk now, so the UI's first repository page does not wait for it.
  storage.listRepositories().catch((error: unknown) => log.warn({ err: error }, 'listing the repositories failed'));
  return new UiExtension({
    assets: bundle.assets,
    storage,
    maintenance: {
      collectGarbage: (request) => collectGarbage(storage.driver, { ...request, graceMs: config.ui.gcGraceMs }),
      blobStoreUsage: () => blobStoreUsage(storage.driver),
      gcJob: { read: () => readStateRecord(storage.driver, 'ui-gc-job'), write: (job) => writeStateRecord(storage.driver, 'ui-gc-job', job) },
    },
    authenticator: access?.basic,
    rights: withReadOnlyUsers(config.ui.readOnlyUsers, access?.rights ?? everyoneMayAct),
    ...(mirror ? { mirror: () => mirror.upstreamStatus() } : {}),
    sessionSecret,
    secure: config.tls !== undefined,
    sessionTtlMs: config.ui.sessionTtlMs,
    authFailures,
    deleteEnabled: config.deleteEnabled,
    readOnly: config.readOnly,
    log,
  });
}
