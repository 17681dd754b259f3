import readline from 'node:readline';
import { CliError } from './errors.js';

/**
 * Reads answers from the terminal, or line by line from a pipe (scripts and tests answer
 * prompts by writing lines to stdin). One reader for the whole run, so several prompts in a
 * row each get the next line.
 */
let lines: AsyncIterator<string> | undefined;
let rl: readline.Interface | undefined;

function pipedLines(): AsyncIterator<string> {
  if (!lines) {
    rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
    lines = rl[Symbol.asyncIterator]();
  }
  return lines;
}

export function closePrompts(): void {
  rl?.close();
}

async function nextLine(what: string): Promise<string> {
  const r = await pipedLines().next();
  if (r.done) throw new CliError(`no ${what} given (stdin ended)`, 'input_required');
  return r.value;
}

/**
 * Asks on stderr (stdout stays clean for output) and reads a visible answer. From a pipe the
 * question is not printed: a script answering line by line has nobody to show it to.
 */
export async function ask(question: string, what: string): Promise<string> {
  if (!process.stdin.isTTY) return (await nextLine(what)).trim();
  process.stderr.write(question);
  return (await readTty(false)).trim();
}

/** Reads a secret without echoing it. */
export async function askHidden(question: string, what: string): Promise<string> {
  if (!process.stdin.isTTY) return nextLine(what);
  process.stderr.write(question);
  return readTty(true);
}

function readTty(hidden: boolean): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const finish = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new CliError('cancelled', 'cancelled', 130));
        if (ch === '\u0004') return value ? undefined : finish(new CliError('cancelled', 'cancelled', 130));
        if (ch === '\u007f' || ch === '\b') {
          if (value) {
            value = value.slice(0, -1);
            if (!hidden) process.stderr.write('\b \b');
          }
          continue;
        }
        if (ch < ' ') continue;
        value += ch;
        if (!hidden) process.stderr.write(ch);
      }
    };
    stdin.on('data', onData);
  });
}

/** `--password-stdin`: the first line of stdin (like `docker login --password-stdin`). */
export async function readStdinSecret(what: string): Promise<string> {
  const v = await nextLine(what);
  if (!v) throw new CliError(`empty ${what} on stdin`, 'input_required');
  return v;
}
