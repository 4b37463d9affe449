// One image: the manifest or index (per platform), its layers, its config (entrypoint,
// env, labels, history), the referrers tree (signatures, SBOMs, attestations by
// artifactType) and the raw JSON. Manifests and referrers come from the /v2 API.
import type { ComponentChildren } from 'preact';
import { api, currentSession, fetchManifest, fetchReferrers, type FetchedManifest } from '../api';
import { Bytes, CopyButton, Digest, EmptyState, ErrorState, KeyValueTable, Link, Loading, RelativeTime, useLoad } from '../components';
import { shortDigest } from '../format';
import { mediaTypeLabel, platformName, readConfig, type Descriptor, type Manifest } from '../oci';
import { pullCommands } from '../pull';
import { links } from '../router';

/** Referrers of referrers are shown this deep (a signature of an SBOM of an image). */
const MAX_REFERRER_DEPTH = 3;

function Section({ title, id, children }: { title: string; id: string; children: ComponentChildren }) {
  return (
    <section class="section" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

function RawJson({ label, text }: { label: string; text: string }) {
  let pretty = text;
  try {
    pretty = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // Show it as it came.
  }
  return (
    <details class="raw">
      <summary>{label}</summary>
      <pre tabIndex={0}>{pretty}</pre>
    </details>
  );
}

function manifestSize(fetched: FetchedManifest): number {
  const m = fetched.manifest;
  const parts = m.kind === 'image' ? [m.config, ...m.layers] : [];
  return parts.reduce((sum, d) => sum + d.size, new TextEncoder().encode(fetched.raw).length);
}

export function ImagePage({ name, reference, platform }: { name: string; reference: string; platform: string | null }) {
  const [state, reload] = useLoad(`${name}\u0000${reference}`, () => fetchManifest(name, reference));
  const session = currentSession();
  const user = session && !session.anonymous ? session.user : null;
  const separator = reference.includes(':') ? '@' : ':';
  return (
    <main id="main">
      <nav class="breadcrumb" aria-label="Breadcrumb">
        <Link href={links.repositories()}>Repositories</Link> <span aria-hidden="true">/</span> <Link href={links.repository(name)}>{name}</Link>{' '}
        <span aria-hidden="true">/</span> <span aria-current="page">{reference.includes(':') ? shortDigest(reference) : reference}</span>
      </nav>
      <h1 class="wrap">
        {name}
        <span class="muted">
          {separator}
          {reference.includes(':') ? shortDigest(reference) : reference}
        </span>
      </h1>
      {state.kind === 'loading' && <Loading label="Loading the manifest" />}
      {state.kind === 'error' && (
        <ErrorState
          title={state.status === 404 ? 'No such image' : 'The manifest could not be loaded'}
          message={state.status === 404 ? `${name} has no ${reference.includes(':') ? 'manifest' : 'tag'} ${reference}.` : state.message}
          {...(state.status === 404 ? {} : { onRetry: reload })}
        />
      )}
      {state.kind === 'ok' && <ImageView name={name} reference={reference} fetched={state.value} platform={platform} user={user} />}
    </main>
  );
}

function ImageView({ name, reference, fetched, platform, user }: { name: string; reference: string; fetched: FetchedManifest; platform: string | null; user: string | null }) {
  const m = fetched.manifest;
  const children = m.kind === 'index' ? m.manifests : [];
  const selected = m.kind === 'index' ? (children.find((child) => child.digest === platform) ?? children[0]) : undefined;
  return (
    <>
      <dl class="facts" data-testid="image-facts">
        <div>
          <dt>Digest</dt>
          <dd>
            <code class="wrap" data-testid="image-digest">
              {fetched.digest}
            </code>{' '}
            <CopyButton text={fetched.digest} label="Copy" description="Copy the digest" />
          </dd>
        </div>
        <div>
          <dt>Type</dt>
          <dd>
            {mediaTypeLabel(fetched.mediaType || m.mediaType)} <span class="muted">({fetched.mediaType || m.mediaType})</span>
          </dd>
        </div>
        {m.artifactType && (
          <div>
            <dt>Artifact type</dt>
            <dd>{m.artifactType}</dd>
          </div>
        )}
        {m.kind === 'image' ? (
          <div>
            <dt>Size</dt>
            <dd>
              <Bytes value={manifestSize(fetched)} /> <span class="muted">(manifest, config and layers, compressed)</span>
            </dd>
          </div>
        ) : (
          <div>
            <dt>Manifests</dt>
            <dd>{m.manifests.length}, one per platform below</dd>
          </div>
        )}
        {m.subject && (
          <div>
            <dt>Subject</dt>
            <dd>
              <Link href={links.image(name, m.subject.digest)}>
                <Digest value={m.subject.digest} />
              </Link>
            </dd>
          </div>
        )}
      </dl>
      <Section title="Pull" id="pull">
        <ul class="pull-commands">
          {pullCommands(name, reference, user).map((pull) => (
            <li key={pull.tool}>
              <code data-testid={`pull-${pull.tool}`}>{pull.command}</code>
              <CopyButton text={pull.command} label="Copy" description={`Copy the ${pull.tool} pull command`} />
            </li>
          ))}
        </ul>
      </Section>
      {m.kind === 'index' && (
        <Section title={`Platforms (${children.length})`} id="platforms">
          <table class="table responsive" data-testid="platforms">
            <thead>
              <tr>
                <th scope="col">Platform</th>
                <th scope="col">Digest</th>
                <th scope="col" class="num">Manifest size</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {children.map((child) => {
                const label = child.platform ? platformName(child.platform) : 'unknown';
                const current = child.digest === selected?.digest;
                return (
                  <tr key={child.digest} data-testid="platform-row" data-platform={label} class={current ? 'selected' : undefined}>
                    <th scope="row" data-label="Platform">
                      {label}
                    </th>
                    <td data-label="Digest">
                      <Digest value={child.digest} />
                    </td>
                    <td data-label="Manifest size" class="num">
                      <Bytes value={child.size} />
                    </td>
                    <td data-label="Details">
                      {current ? (
                        <span aria-current="true">Shown below</span>
                      ) : (
                        <Link href={links.image(name, reference, child.digest)} aria-label={`Show ${label}`}>
                          Show
                        </Link>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </Section>
      )}
      {m.kind === 'image' && <ImageDetails name={name} fetched={fetched} title="Image" />}
      {selected && <ChildImage name={name} descriptor={selected} />}
      <Section title="Referrers" id="referrers">
        <Referrers name={name} digest={fetched.digest} depth={1} />
      </Section>
      <Section title="Annotations" id="annotations">
        <KeyValueTable entries={Object.entries(m.annotations)} caption="Manifest annotations" empty="This manifest has no annotations." />
      </Section>
      <Section title="Raw JSON" id="raw">
        <RawJson label={m.kind === 'index' ? 'Index JSON' : 'Manifest JSON'} text={fetched.raw} />
      </Section>
    </>
  );
}

function ChildImage({ name, descriptor }: { name: string; descriptor: Descriptor }) {
  const [state, reload] = useLoad(`${name}@${descriptor.digest}`, () => fetchManifest(name, descriptor.digest));
  const label = descriptor.platform ? platformName(descriptor.platform) : shortDigest(descriptor.digest);
  if (state.kind === 'loading') return <Loading label={`Loading ${label}`} rows={3} />;
  if (state.kind === 'error') return <ErrorState title={`The ${label} manifest could not be loaded`} message={state.message} onRetry={reload} />;
  return <ImageDetails name={name} fetched={state.value} title={`Image for ${label}`} />;
}

function ImageDetails({ name, fetched, title }: { name: string; fetched: FetchedManifest; title: string }) {
  const m: Manifest = fetched.manifest;
  if (m.kind !== 'image') return <p class="muted">A nested index: open it to see its images.</p>;
  const total = m.layers.reduce((sum, layer) => sum + layer.size, 0);
  return (
    <section class="section image-details" aria-labelledby="image-details" data-testid="image-details" data-digest={fetched.digest}>
      <h2 id="image-details">{title}</h2>
      <h3>Layers ({m.layers.length})</h3>
      {m.layers.length === 0 ? (
        <p class="muted">No layers.</p>
      ) : (
        <table class="table responsive" data-testid="layers">
          <thead>
            <tr>
              <th scope="col" class="num">
                #
              </th>
              <th scope="col">Digest</th>
              <th scope="col">Media type</th>
              <th scope="col" class="num">
                Size
              </th>
            </tr>
          </thead>
          <tbody>
            {m.layers.map((layer, index) => (
              <tr key={`${layer.digest}-${index}`} data-testid="layer-row" data-digest={layer.digest}>
                <td data-label="#" class="num">
                  {index + 1}
                </td>
                <td data-label="Digest">
                  <Digest value={layer.digest} />
                </td>
                <td data-label="Media type" class="wrap">
                  {layer.mediaType}
                </td>
                <td data-label="Size" class="num">
                  <Bytes value={layer.size} />
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <td colSpan={3}>Total compressed</td>
              <td class="num">
                <Bytes value={total} />
              </td>
            </tr>
          </tfoot>
        </table>
      )}
      <ConfigView name={name} descriptor={m.config} />
      <RawJson label="Manifest JSON" text={fetched.raw} />
    </section>
  );
}

function ConfigView({ name, descriptor }: { name: string; descriptor: Descriptor }) {
  const [state, reload] = useLoad(`${name}@${descriptor.digest}`, () => api.config(name, descriptor.digest));
  if (state.kind === 'loading') return <Loading label="Loading the config" rows={3} />;
  if (state.kind === 'error') return <ErrorState title="The config could not be loaded" message={state.message} onRetry={reload} />;
  const config = readConfig(state.value);
  const command = (parts: readonly string[]): string => (parts.length === 0 ? '–' : JSON.stringify(parts));
  return (
    <div data-testid="config">
      <h3>Config</h3>
      <dl class="facts">
        <div>
          <dt>Config</dt>
          <dd>
            <Digest value={descriptor.digest} /> <Bytes value={descriptor.size} />
          </dd>
        </div>
        {config.platform && (
          <div>
            <dt>Platform</dt>
            <dd>{config.platform}</dd>
          </div>
        )}
        <div>
          <dt>Created</dt>
          <dd>
            <RelativeTime iso={config.created} />
          </dd>
        </div>
        <div>
          <dt>Entrypoint</dt>
          <dd>
            <code class="wrap">{command(config.entrypoint)}</code>
          </dd>
        </div>
        <div>
          <dt>Cmd</dt>
          <dd>
            <code class="wrap">{command(config.cmd)}</code>
          </dd>
        </div>
        {config.workingDir && (
          <div>
            <dt>Working dir</dt>
            <dd>
              <code>{config.workingDir}</code>
            </dd>
          </div>
        )}
        {config.user && (
          <div>
            <dt>User</dt>
            <dd>
              <code>{config.user}</code>
            </dd>
          </div>
        )}
        {config.exposedPorts.length > 0 && (
          <div>
            <dt>Ports</dt>
            <dd>{config.exposedPorts.join(', ')}</dd>
          </div>
        )}
      </dl>
      <h3>Environment</h3>
      {config.env.length === 0 ? (
        <p class="muted">No environment variables.</p>
      ) : (
        <ul class="env">
          {config.env.map((entry, index) => (
            <li key={index}>
              <code class="wrap">{entry}</code>
            </li>
          ))}
        </ul>
      )}
      <h3>Labels</h3>
      <div data-testid="labels">
        <KeyValueTable entries={Object.entries(config.labels)} caption="Labels" empty="No labels." />
      </div>
      <h3>History ({config.history.length})</h3>
      {config.history.length === 0 ? (
        <p class="muted">No history recorded.</p>
      ) : (
        <table class="table responsive" data-testid="history">
          <thead>
            <tr>
              <th scope="col">Created</th>
              <th scope="col">Created by</th>
              <th scope="col">Layer</th>
            </tr>
          </thead>
          <tbody>
            {config.history.map((entry, index) => (
              <tr key={index}>
                <td data-label="Created">
                  <RelativeTime iso={entry.created} />
                </td>
                <td data-label="Created by" class="wrap">
                  <code>{entry.createdBy ?? entry.comment ?? '–'}</code>
                </td>
                <td data-label="Layer">{entry.emptyLayer ? 'none' : 'yes'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <details class="raw">
        <summary>Config JSON</summary>
        <pre tabIndex={0}>{JSON.stringify(state.value, null, 2)}</pre>
      </details>
    </div>
  );
}

function Referrers({ name, digest, depth }: { name: string; digest: string; depth: number }) {
  const [state, reload] = useLoad(`${name}@${digest}`, () => fetchReferrers(name, digest));
  if (state.kind === 'loading') return <Loading label="Loading referrers" rows={1} />;
  if (state.kind === 'error') return <ErrorState title="The referrers could not be loaded" message={state.message} onRetry={reload} />;
  if (state.value.length === 0) {
    return depth === 1 ? (
      <EmptyState title="No referrers">
        <p>No signature, SBOM or attestation refers to this image.</p>
      </EmptyState>
    ) : null;
  }
  const groups = new Map<string, Descriptor[]>();
  for (const referrer of state.value) {
    const type = referrer.artifactType ?? referrer.mediaType;
    groups.set(type, [...(groups.get(type) ?? []), referrer]);
  }
  return (
    <ul class="tree" data-testid={depth === 1 ? 'referrers' : undefined}>
      {[...groups].map(([type, members]) => (
        <li key={type} data-testid="artifact-type" data-artifact-type={type}>
          <span class="artifact-type">{type}</span> <span class="muted">({members.length})</span>
          <ul>
            {members.map((referrer) => {
              const created = referrer.annotations['org.opencontainers.image.created'];
              const others = Object.entries(referrer.annotations).filter(([key]) => key !== 'org.opencontainers.image.created');
              return (
                <li key={referrer.digest} data-testid="referrer" data-digest={referrer.digest} data-artifact-type={type}>
                  <Link href={links.image(name, referrer.digest)}>
                    <Digest value={referrer.digest} />
                  </Link>{' '}
                  <Bytes value={referrer.size} /> {created && <RelativeTime iso={created} />}
                  {others.length > 0 && (
                    <ul class="annotations">
                      {others.map(([key, value]) => (
                        <li key={key}>
                          <span class="muted">{key}</span> = <span>{value}</span>
                        </li>
                      ))}
                    </ul>
                  )}
                  {depth < MAX_REFERRER_DEPTH && <Referrers name={name} digest={referrer.digest} depth={depth + 1} />}
                </li>
              );
            })}
          </ul>
        </li>
      ))}
    </ul>
  );
}
