// Archive failures: one line naming the archive and what is wrong with it.
import { StoreError } from '../store/errors.js';

export class ArchiveError extends StoreError {}
