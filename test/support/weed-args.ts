// The `weed mini` command line for an engine on 127.0.0.1 with every port given (its gRPC
// ports too, so nothing falls back to a default that another engine holds), shared by the
// test harness (seaweedfs.ts) and the benchmark (bench/lib/seaweedfs.ts). No side effects.

/** The ten ports an engine listens on. */
export type WeedPorts = readonly [s3: number, s3Grpc: number, master: number, masterGrpc: number, volume: number, volumeGrpc: number, filer: number, filerGrpc: number, admin: number, adminGrpc: number];

export function weedMiniArgs(dataDir: string, ports: WeedPorts): string[] {
  const [s3, s3Grpc, master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, admin, adminGrpc] = ports;
  return [
    'mini',
    `-dir=${dataDir}`,
    '-ip=127.0.0.1',
    '-ip.bind=127.0.0.1',
    `-s3.port=${s3}`,
    `-s3.port.grpc=${s3Grpc}`,
    `-master.port=${master}`,
    `-master.port.grpc=${masterGrpc}`,
    `-volume.port=${volume}`,
    `-volume.port.grpc=${volumeGrpc}`,
    `-filer.port=${filer}`,
    `-filer.port.grpc=${filerGrpc}`,
    `-admin.port=${admin}`,
    `-admin.port.grpc=${adminGrpc}`,
    '-admin.port.legacy=0',
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    '-webdav=false',
    '-admin.ui=false',
  ];
}

/** Ten distinct free ports from `freePort`. */
export async function weedPorts(freePort: () => Promise<number>): Promise<WeedPorts> {
  const chosen = new Set<number>();
  while (chosen.size < 10) chosen.add(await freePort());
  return [...chosen] as unknown as WeedPorts;
}
