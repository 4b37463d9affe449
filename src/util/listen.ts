// Starts a server listening and reports the address it got (port 0 picks a free one).
import type { Server } from 'node:net';

export async function listenOn(server: Server, port: number, host: string): Promise<{ host: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  return { host: address.address, port: address.port };
}
