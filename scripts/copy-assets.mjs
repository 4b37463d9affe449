// Copies non-TypeScript assets (the CRI .proto files) next to the compiled code and
// marks the CLI entry point executable.
import { chmodSync, cpSync, existsSync } from 'node:fs';

if (existsSync('src/shim/proto')) cpSync('src/shim/proto', 'dist/src/shim/proto', { recursive: true });
if (existsSync('dist/src/cli/main.js')) chmodSync('dist/src/cli/main.js', 0o755);
