// Questions on the terminal (`login`, `registry passwd`): visible input, and hidden input
// (nothing echoed) for passwords. Keystrokes arrive in raw mode, possibly several lines
// in one chunk (a paste), so unread input is kept for the next question.
import { CliError } from './cli-error.js';

let pending = '';

export function haveTerminal(): boolean {
  return process.stdin.isTTY === true;
}

/** Reads one line from the terminal; with `hidden`, typed characters are not echoed. */
export async function ask(question: string, options: { hidden?: boolean } = {}): Promise<string> {
  if (!haveTerminal()) throw new CliError('no terminal to ask on (stdin is not a TTY)', 'give the values as flags (-u USER --password-stdin)');
  const stdin = process.stdin;
  // Echo goes off before the question shows, so nothing typed after it is ever echoed.
  stdin.setRawMode(true);
  process.stderr.write(question);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let line = '';
      const consume = (): boolean => {
        while (pending.length > 0) {
          const char = pending[0]!;
          pending = pending.slice(1);
          if (char === '\r' || char === '\n') {
            if (char === '\r' && pending[0] === '\n') pending = pending.slice(1);
            process.stderr.write('\n');
            resolve(line);
            return true;
          }
          if (char === '\u0003' || (char === '\u0004' && line === '')) {
            process.stderr.write('\n');
            reject(new CliError('cancelled', undefined, 130));
            return true;
          }
          if (char === '\u007f' || char === '\b') {
            if (line.length > 0) {
              line = line.slice(0, -1);
              if (!options.hidden) process.stderr.write('\b \b');
            }
            continue;
          }
          if (char < ' ') continue; // other control keys
          line += char;
          if (!options.hidden) process.stderr.write(char);
        }
        return false;
      };
      const onData = (chunk: Buffer): void => {
        pending += chunk.toString('utf8');
        if (consume()) stdin.off('data', onData);
      };
      if (!consume()) stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

/** All of stdin (for --password-stdin), without its final line break. */
export async function readStdin(limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    total += (chunk as Buffer).length;
    if (total > limit) throw new CliError('stdin is too long for a password');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
