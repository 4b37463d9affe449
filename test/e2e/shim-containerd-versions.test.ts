// The shim's routing cases (support/shim-routing-cases.ts) against the containerd
// versions current nodes run, built by scripts/go-tools.sh: 1.7 (config `version = 2`,
// like Debian's 1.6, which shim-routing covers) and 2.x (config `version = 3`, CRI image
// settings under plugins."io.containerd.cri.v1.images"). One containerd per version,
// shared by its cases; each writes its own config format and its hosts.toml files under
// config_path (support/containerd.ts, support/shim-lab.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerdVersion } from '../support/containerd.js';
import { stopAll } from '../support/process.js';
import { ShimLab } from '../support/shim-lab.js';
import { SANDBOX, absentFromPrivate, digestPinned, podThroughShim, presentInPrivate, privateRegistryDown } from '../support/shim-routing-cases.js';
import { removeScratchDirs } from '../support/tmp.js';

const VERSIONS: ReadonlyArray<{ version: ContainerdVersion; expected: RegExp }> = [
  { version: '1.7', expected: /^1\.7\.\d+/ },
  { version: '2', expected: /^2\.\d+\.\d+/ },
];

after(async () => {
  await stopAll();
  await removeScratchDirs();
});

for (const { version, expected } of VERSIONS) {
  describe(`containerd ${version}`, () => {
    let lab: ShimLab;

    before(async () => {
      lab = await ShimLab.create({ containerd: { sandboxImage: SANDBOX, version } });
      await lab.startShim();
    });

    after(async () => {
      await lab?.stop();
    });

    test('the daemon under test is the version built', () => {
      assert.match(lab.containerd.serverVersion, expected);
      process.stdout.write(`# containerd ${lab.containerd.serverVersion} (${lab.containerd.snapshotter})\n`);
    });

    test('present in the private registry: pulled from there with its own credentials', () => presentInPrivate(lab));

    test('absent from the private registry: pulled from the public one with the caller\'s credentials', () => absentFromPrivate(lab));

    test('a digest reference is pulled by exactly that digest, or fails', () => digestPinned(lab));

    test('a host-network pod runs a container whose image came through the shim', () => podThroughShim(lab));

    test('private registry stopped: the pull falls back to the public registry', () => privateRegistryDown(lab));
  });
}
