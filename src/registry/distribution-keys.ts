// What Berth does with each key of registry:2's config.yml. A drop-in must never quietly
// serve from somewhere else, or let in someone else, because it skipped a key it does not
// implement: such keys are refused at start-up, with one line naming the key. Keys that
// change neither (caches, reporting, log formatting) are accepted with a warning that
// says they have no effect. Pure: the composition root reads the file.

type Rule =
  /** Berth reads it (its value is checked where it is used). */
  | 'used'
  /** Berth does not need it; the warning says why. */
  | { readonly ignore: string }
  /** Berth refuses to start with it. */
  | { readonly refuse: string };

const ignore = (why: string): Rule => ({ ignore: why });
const refuse = (why: string): Rule => ({ refuse: why });

const RULES: Record<string, Rule> = {
  version: 'used',
  log: 'used',
  'log.level': 'used',
  'log.formatter': ignore('Berth writes JSON log lines'),
  'log.fields': ignore('Berth writes its own fields'),
  'log.hooks': ignore('log hooks (mail) are not implemented'),
  'log.accesslog': ignore('Berth logs one line per request at info level'),
  'log.reportcaller': ignore('not needed'),
  loglevel: ignore('deprecated; use log.level'),

  storage: 'used',
  'storage.filesystem': 'used',
  'storage.filesystem.rootdirectory': 'used',
  'storage.filesystem.maxthreads': ignore('Berth has no thread pool limit to set'),
  'storage.s3': 'used',
  'storage.delete': 'used',
  'storage.delete.enabled': 'used',
  'storage.redirect': 'used',
  'storage.redirect.disable': 'used',
  'storage.cache': ignore('Berth keeps its own in-memory caches'),
  'storage.maintenance': 'used',
  'storage.maintenance.uploadpurging': 'used',
  'storage.maintenance.uploadpurging.enabled': 'used',
  'storage.maintenance.uploadpurging.age': 'used',
  'storage.maintenance.uploadpurging.interval': 'used',
  'storage.maintenance.uploadpurging.dryrun': 'used',
  'storage.maintenance.readonly': 'used',
  'storage.maintenance.readonly.enabled': 'used',
  'storage.tag': ignore('tag lookup concurrency is not a setting in Berth'),

  'storage.s3.accesskey': 'used',
  'storage.s3.secretkey': 'used',
  'storage.s3.sessiontoken': 'used',
  'storage.s3.region': 'used',
  'storage.s3.regionendpoint': 'used',
  'storage.s3.forcepathstyle': 'used',
  'storage.s3.bucket': 'used',
  'storage.s3.secure': 'used',
  'storage.s3.skipverify': 'used',
  'storage.s3.v4auth': 'used',
  'storage.s3.chunksize': 'used',
  'storage.s3.rootdirectory': 'used',
  'storage.s3.multipartcopythresholdsize': 'used',
  'storage.s3.encrypt': 'used',
  'storage.s3.keyid': 'used',
  'storage.s3.storageclass': 'used',
  'storage.s3.objectacl': 'used',
  'storage.s3.usedualstack': 'used',
  'storage.s3.accelerate': 'used',
  'storage.s3.multipartcopychunksize': ignore('Berth picks its own multipart copy part size'),
  'storage.s3.multipartcopymaxconcurrency': ignore('Berth picks its own multipart copy concurrency'),
  'storage.s3.loglevel': ignore('S3 requests are logged with the registry log level'),
  'storage.s3.useragent': ignore('not needed'),

  auth: 'used',
  'auth.htpasswd': 'used',
  'auth.htpasswd.realm': 'used',
  'auth.htpasswd.path': 'used',
  'auth.token': 'used',
  'auth.token.realm': 'used',
  'auth.token.service': 'used',
  'auth.token.issuer': 'used',
  'auth.token.rootcertbundle': 'used',
  'auth.token.jwks': 'used',
  'auth.token.autoredirect': 'used',
  'auth.token.autoredirectpath': 'used',
  'auth.token.signingalgorithms': 'used',
  // Berth's own key in a registry:2 config: who may do what (checked whole by its schema).
  accessControl: 'used',
  'auth.silly': refuse('auth.silly lets anyone in with any credentials; use auth.htpasswd'),

  http: 'used',
  'http.addr': 'used',
  'http.net': 'used',
  'http.prefix': 'used',
  'http.host': ignore('Berth answers with relative URLs'),
  'http.relativeurls': ignore('Berth always answers with relative URLs'),
  'http.secret': 'used',
  'http.draintimeout': 'used',
  'http.headers': 'used',
  'http.http2': ignore('HTTP/2 is not served; clients use HTTP/1.1'),
  'http.tls': 'used',
  'http.tls.certificate': 'used',
  'http.tls.key': 'used',
  'http.tls.clientcas': 'used',
  'http.tls.minimumtls': 'used',
  'http.tls.ciphersuites': refuse('http.tls.ciphersuites is not implemented; Node.js picks secure defaults'),
  'http.tls.letsencrypt': refuse('http.tls.letsencrypt is not implemented; give http.tls.certificate and key'),
  'http.debug': 'used',
  'http.debug.addr': 'used',
  'http.debug.prometheus': 'used',
  'http.debug.prometheus.enabled': 'used',
  'http.debug.prometheus.path': 'used',

  proxy: 'used',
  'proxy.remoteurl': 'used',
  'proxy.username': 'used',
  'proxy.password': 'used',
  'proxy.ttl': 'used',
  'proxy.exec': refuse('proxy.exec (a credential helper) is not implemented; give proxy.username and proxy.password'),
  notifications: refuse('notifications are not implemented: events would not be sent'),
  middleware: refuse('middleware (such as a CDN redirect) is not implemented'),
  redis: ignore('Berth does not use redis'),
  reporting: ignore('error reporting services are not implemented'),
  health: ignore('storage health is checked on /readyz'),
  compatibility: ignore('schema1 manifests are not accepted'),
  validation: ignore('manifest URL validation is not implemented; manifests are checked against the OCI spec'),
  policy: ignore('repository classes are not checked'),
};

/** What an unknown key under each section means: under these, it may change where data lives or who gets in. */
const UNKNOWN_CHILD: Record<string, (key: string) => Rule> = {
  storage: (key) => refuse(`the ${key.slice('storage.'.length)} storage driver is not implemented (Berth has filesystem and s3)`),
  'storage.s3': (key) => refuse(`${key} is not implemented`),
  auth: (key) => refuse(`${key} is not an authentication method Berth implements (auth.htpasswd, auth.token)`),
  'auth.token': (key) => refuse(`${key} is not implemented`),
  proxy: (key) => refuse(`${key} is not implemented`),
};

export interface KeyReport {
  /** The first key that stops Berth from starting, with why. */
  readonly refused: string | undefined;
  /** Keys accepted without effect, each with why. */
  readonly ignored: readonly string[];
}

function ruleFor(key: string): Rule {
  const known = RULES[key];
  if (known) return known;
  const parent = key.slice(0, key.lastIndexOf('.'));
  const unknown = UNKNOWN_CHILD[parent];
  return unknown ? unknown(key) : ignore('not a key Berth knows');
}

/** Classifies every key of a registry:2 config document. */
export function checkDistributionKeys(document: object): KeyReport {
  const ignored: string[] = [];
  let refused: string | undefined;
  const visit = (node: unknown, prefix: string): void => {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return;
    for (const [name, value] of Object.entries(node)) {
      const key = prefix === '' ? name : `${prefix}.${name}`;
      const rule = ruleFor(key);
      if (rule === 'used') {
        // Maps of free-form names (http.headers) have no rules below them, and
        // accessControl is checked by its own strict schema.
        if (key !== 'http.headers' && key !== 'accessControl') visit(value, key);
      } else if ('refuse' in rule) {
        refused ??= `${key}: ${rule.refuse}`;
      } else {
        ignored.push(`${key} (${rule.ignore})`);
      }
    }
  };
  visit(document, '');
  return { refused, ignored };
}
