/**
 * The commands' child processes (a training per core, a benchmark worker, the PyTorch reference):
 * one way to start one, watch its output and learn how it ended.
 */
import { type ChildProcess, spawn } from 'node:child_process';

/** How a child process ended, and all it printed. */
export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runChild}. */
export interface ChildOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Each piece of output as it arrives (to echo or relay it). */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** Holds the child while it runs (to stop it on Ctrl-C). */
  running?: Set<ChildProcess>;
}

/** Run `command args` to its end; rejects only when it cannot start. */
export function runChild(command: string, args: string[], o: ChildOptions = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env, cwd: o.cwd });
    o.running?.add(child);
    const out = { stdout: '', stderr: '' };
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream].on('data', (d: Buffer) => {
        out[stream] += d.toString();
        o.onOutput?.(d.toString(), stream);
      });
    }
    child.on('error', (e) => {
      o.running?.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      o.running?.delete(child);
      resolve({ code, signal, ...out });
    });
  });
}

/** The JSON of the `RESULT <json>` lines a measuring process printed, one per measurement. */
export function resultLines<T>(stdout: string): T[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('RESULT '))
    .map((l) => JSON.parse(l.slice(7)) as T);
}
