// `berth shim`: the composition root of the CRI image shim. It alone reads the flags,
// the config file and the runtime socket paths, and handles signals: SIGTERM/SIGINT
// stop it (socket removed), SIGHUP re-reads the config.
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { DEFAULT_CONFIG_FILE, parseShimConfig, type ShimConfig } from '../../shim/config.js';
import { detectRuntimeSocket } from '../../shim/runtime-detect.js';
import { Shim, ShimStartError } from '../../shim/shim.js';
import { SocketError } from '../../shim/socket.js';
import { CliError } from '../cli-error.js';
import { createLogger } from '../logger.js';
import { BERTH_VERSION } from '../version.js';
import { readShimConfig } from './config-file.js';
import { effectiveSettings } from './settings.js';
import { ConfigWatcher, type ReloadTrigger } from './watch.js';

interface FileFlag {
  file: string;
}

async function resolveCri(config: ShimConfig): Promise<{ path: string; note: string }> {
  if (config.criSocket) return { path: config.criSocket, note: 'from the config' };
  const detected = await detectRuntimeSocket();
  if (!detected.ok) throw new CliError(detected.error);
  return { path: detected.path, note: detected.how === 'found' ? `auto-detected (${detected.runtime})` : `auto-detect found no runtime socket; using the ${detected.runtime} default` };
}

async function validate(flags: FileFlag): Promise<void> {
  const loaded = await readShimConfig(flags.file);
  for (const warning of loaded.warnings) process.stderr.write(`warning: ${warning}\n`);
  if (!loaded.ok) throw new CliError(`config ${flags.file}: ${loaded.error}`);
  let cri: string;
  if (loaded.config.criSocket) cri = loaded.config.criSocket;
  else {
    const detected = await detectRuntimeSocket();
    cri = detected.ok ? `${detected.path} (${detected.how === 'found' ? `auto-detected: ${detected.runtime}` : 'auto-detect: none found, default'})` : `auto-detect fails here: ${detected.error}`;
  }
  process.stdout.write(`# effective settings of ${flags.file} (registries in the order they are tried)\n`);
  process.stdout.write(stringify(effectiveSettings(loaded.config, cri)));
}

async function serve(flags: FileFlag): Promise<void> {
  const loaded = await readShimConfig(flags.file);
  if (!loaded.ok) throw new CliError(`config ${flags.file}: ${loaded.error}`, 'check it with: berth shim validate -f FILE');
  const log = createLogger(loaded.config.debug ? 'debug' : 'info', 'berth-shim');
  for (const warning of loaded.warnings) log.warn({ file: flags.file }, warning);
  const cri = await resolveCri(loaded.config);
  log.info({ cri: cri.path, how: cri.note, version: BERTH_VERSION, file: flags.file }, 'starting image shim');
  let shim: Shim;
  try {
    shim = await Shim.start({ config: loaded.config, criSocket: cri.path, log, userAgent: `berth-shim/${BERTH_VERSION}` });
  } catch (error) {
    if (error instanceof ShimStartError || error instanceof SocketError) throw new CliError(error.message);
    throw error;
  }

  const reload = (text: string, trigger: ReloadTrigger): void => {
    const result = parseShimConfig(text);
    for (const warning of result.warnings) log.warn({ file: flags.file }, warning);
    if (!result.ok) {
      shim.metrics.reloads.inc({ result: 'rejected' });
      log.error({ file: flags.file, trigger, error: result.error }, 'config reload rejected: keeping the running config');
      return;
    }
    for (const note of shim.applyConfig(result.config)) log.warn({ file: flags.file }, note);
    watcher.setInterval(result.config.reloadIntervalMs);
    shim.metrics.reloads.inc({ result: 'applied' });
    log.info({ file: flags.file, trigger, registries: result.config.registries.map((r) => r.id), fallback: result.config.fallback }, 'config reloaded; rewrite cache cleared');
  };
  const watcher = new ConfigWatcher(flags.file, loaded.text, loaded.config.reloadIntervalMs, reload, log);
  watcher.start();

  process.on('SIGHUP', () => {
    log.info({ file: flags.file }, 'SIGHUP: re-reading the config');
    void watcher.check('signal');
  });
  let stopping = false;
  const onStop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down the image shim');
    watcher.stop();
    shim.stop().then(
      () => {
        log.info('stopped; socket removed');
        log.flush(() => process.exit(0));
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        log.flush(() => process.exit(1));
      },
    );
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
}

export function registerShim(program: Command): void {
  const shim = program
    .command('shim')
    .description('CRI image service proxy: sends node pulls to the private registry when it has the image')
    .option('-f, --file <path>', 'config file (image-cri-shim.yaml)', DEFAULT_CONFIG_FILE)
    .version(BERTH_VERSION, '--version', 'print the version')
    .addHelpText(
      'after',
      `
Examples:
  berth shim -f /etc/image-cri-shim.yaml
  berth shim validate -f /etc/image-cri-shim.yaml
  kill -HUP <pid>      # re-read the config now (it is also re-read when the file changes)`,
    )
    .action(async (flags: FileFlag) => serve(flags));

  shim
    .command('validate')
    .description('check a config file and print the effective settings (secrets masked) without serving')
    .option('-f, --file <path>', 'config file', DEFAULT_CONFIG_FILE)
    .action(async (flags: FileFlag, command: Command) => {
      // Commander gives `-f` to the parent `shim` when both define it, wherever it stands
      // (`berth shim validate -f X` and `berth shim -f X validate` both land there).
      const own = command.getOptionValueSource('file') === 'cli';
      await validate({ file: own ? flags.file : (shim.opts<FileFlag>().file) });
    });
}
