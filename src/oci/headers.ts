// Response headers Berth adds to the Distribution API, shared by its server and client.

/** On a manifest a pull-through mirror serves: the registry it keeps it for (`docker.io`). */
export const MIRRORED_FROM_HEADER = 'Berth-Mirrored-From';
