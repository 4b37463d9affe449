// Runs a berth command on a pseudo-terminal (util-linux `script` provides it), typing each
// answer only once its prompt is on screen, as a person at the keyboard would. Used to
// prove that interactive prompts work and that hidden input is never echoed.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { BERTH_BIN, tool } from './tools.js';

/** A prompt pattern, matched against the last line on screen, and the text typed for it. */
export type TerminalAnswer = [prompt: RegExp, reply: string];

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export async function berthOnTerminal(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  answers: readonly TerminalAnswer[],
): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, BERTH_BIN, ...args].map(shellQuote).join(' ');
  const child = spawn(tool('script'), ['-qec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let next = 0;
  const onData = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    while (next < answers.length && answers[next]![0].test(output.slice(output.lastIndexOf('\n', output.length - 2) + 1))) {
      child.stdin.write(`${answers[next]![1]}\r`);
      next += 1;
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, output };
}
