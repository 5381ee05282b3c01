/** The benchmark's measuring processes: each prints one `RESULT <json>` line per measurement. */
import { spawn } from 'node:child_process';

/** What a measuring process printed and how it ended. */
export interface ChildResults<T> {
  code: number | null;
  results: T[];
  stderr: string;
}

/** Run `command args` to its end and collect the JSON of its `RESULT ` lines; rejects when it cannot start. */
export function runForResults<T>(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildResults<T>> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const results = out
        .split('\n')
        .filter((l) => l.startsWith('RESULT '))
        .map((l) => JSON.parse(l.slice(7)) as T);
      resolve({ code, results, stderr });
    });
  });
}
