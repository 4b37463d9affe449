// The process logger: JSON lines on stdout (journald keeps them), ISO timestamps,
// level names, and redaction of anything that could carry a secret.
import { pino, type Logger } from 'pino';
import type { LogLevel } from '../registry/config.js';

export function createLogger(level: LogLevel, name: string): Logger {
  return pino(
    {
      name,
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      base: { pid: process.pid },
      redact: {
        paths: ['password', '*.password', 'auth', '*.auth', 'authorization', '*.authorization', 'headers.authorization', 'token', '*.token'],
        censor: '[redacted]',
      },
    },
    // Asynchronous writes keep logging off the request path; flushed at shutdown.
    pino.destination({ dest: 1, sync: false }),
  );
}
