// Where the machine-wide files about reaching registries are, from the environment
// (kept apart from their parsing so the error hints can name them without loading a
// TOML parser into the daemons).
import path from 'node:path';

export interface ConfigFiles {
  readonly registriesConf: string;
  readonly registriesConfDir: string;
  readonly daemonJson: string;
  readonly hostsFile: string | undefined;
}

/**
 * $CONTAINERS_REGISTRIES_CONF (default /etc/containers/registries.conf) and the
 * registries.conf.d directory next to it; $BERTH_DOCKER_DAEMON_JSON (default
 * /etc/docker/daemon.json); $BERTH_HOSTS_FILE (none by default).
 */
export function configFiles(): ConfigFiles {
  const registriesConf = process.env['CONTAINERS_REGISTRIES_CONF'] || '/etc/containers/registries.conf';
  return {
    registriesConf,
    registriesConfDir: path.join(path.dirname(registriesConf), 'registries.conf.d'),
    daemonJson: process.env['BERTH_DOCKER_DAEMON_JSON'] || '/etc/docker/daemon.json',
    hostsFile: process.env['BERTH_HOSTS_FILE'] || undefined,
  };
}

/** What to do about a registry that does not speak TLS, naming the files Berth reads. */
export function insecureFilesHint(): string {
  const files = configFiles();
  return `list it as insecure in ${files.registriesConf} (or ${files.registriesConfDir}/*.conf: [[registry]] location = "HOST:PORT", insecure = true) or in ${files.daemonJson} ("insecure-registries"), or pass --insecure or --plain-http`;
}
