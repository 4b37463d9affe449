// The bcrypt hash to check a Basic login against: a robot's (`robot$NAME`) from its
// record in the storage (or, for a robot created with --htpasswd, from the htpasswd file,
// but only while its record exists), anyone else's from the htpasswd file. An htpasswd
// line named `robot$...` without a robot record never logs in: it would be a robot
// without bounds.
import type { RobotDirectory } from '../../storage/types.js';
import { ROBOT_PREFIX, isRobotName } from '../access/identity.js';
import type { PasswordLookup } from './basic-auth.js';

export class AccountPasswords implements PasswordLookup {
  constructor(
    private readonly htpasswd: PasswordLookup | undefined,
    private readonly robots: RobotDirectory | undefined,
  ) {}

  async lookup(user: string): Promise<string | undefined> {
    if (!isRobotName(user)) return this.htpasswd?.lookup(user);
    const record = await this.robots?.lookup(user.slice(ROBOT_PREFIX.length));
    if (!record) return undefined;
    return record.secretHash ?? this.htpasswd?.lookup(user);
  }
}
