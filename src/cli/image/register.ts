// The local-image commands: pull, push, tag, images, rmi, inspect, save, load.
import type { Command } from 'commander';
import { registerImages } from './images.js';
import { registerInspect } from './inspect.js';
import { registerLoad } from './load.js';
import { registerPull } from './pull.js';
import { registerPush } from './push.js';
import { registerRmi } from './rmi.js';
import { registerSave } from './save.js';
import { registerTag } from './tag.js';

export function registerImageCommands(program: Command): void {
  registerPull(program);
  registerPush(program);
  registerTag(program);
  registerImages(program);
  registerRmi(program);
  registerInspect(program);
  registerSave(program);
  registerLoad(program);
}
