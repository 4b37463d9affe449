// Registers the registry administration commands under `berth registry`: one module per
// command (status, images/image, rmi, gc, save, sync/copy, passwd, robot, mirror).
import type { Command } from 'commander';
import { registerGc } from './gc.js';
import { registerImages } from './images.js';
import { registerMirror } from './mirror.js';
import { registerPasswd } from './passwd.js';
import { registerRmi } from './rmi.js';
import { registerRobot } from './robot.js';
import { registerSave } from './save.js';
import { registerStatus } from './status.js';
import { registerSync } from './sync.js';

export function registerRegistryAdmin(registry: Command): void {
  registerStatus(registry);
  registerImages(registry);
  registerRmi(registry);
  registerGc(registry);
  registerSave(registry);
  registerSync(registry);
  registerPasswd(registry);
  registerRobot(registry);
  registerMirror(registry);
}
