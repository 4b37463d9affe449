// The pull commands the UI offers for an image, for the host the page was loaded from.

export interface PullCommand {
  readonly tool: 'docker' | 'ctr' | 'crictl';
  readonly command: string;
}

const isDigest = (reference: string): boolean => /^[a-z0-9]+:[a-f0-9]{32,}$/.test(reference);

export function pullCommands(name: string, reference: string, user: string | null): PullCommand[] {
  const image = `${location.host}/${name}${isDigest(reference) ? '@' : ':'}${reference}`;
  // ctr speaks https unless told otherwise; the registry's own page knows which it is.
  const plain = location.protocol === 'http:' ? ' --plain-http' : '';
  const credentials = user !== null ? ` --user ${user}` : '';
  return [
    { tool: 'docker', command: `docker pull ${image}` },
    { tool: 'ctr', command: `ctr images pull${plain}${credentials} ${image}` },
    { tool: 'crictl', command: `crictl pull ${image}` },
  ];
}
