#!/usr/bin/env node
/**
 * The `residual` command line. Each subcommand lives in `lib/cli/commands/<name>.ts`
 * and exports `main(argv)`; this file only dispatches and prints errors.
 */
import { UsageError } from './util/errors';

type Command = { summary: string; load: () => Promise<{ main(argv: string[]): Promise<void> }> };

const commands: Record<string, Command> = {
  train: { summary: 'train a CIFAR net (§4.2 recipe) with checkpoints and --resume', load: () => import('./cli/commands/train.js') },
  evaluate: { summary: 'test accuracy and loss of a saved model or run (--json)', load: () => import('./cli/commands/evaluate.js') },
  bench: {
    summary: 'training/inference images per second of ResNet-20/56 on each backend (--vs-pytorch)',
    load: () => import('./cli/commands/bench.js'),
  },
  data: { summary: 'download CIFAR-10 (data download), or describe it (data info)', load: () => import('./cli/commands/data.js') },
  kernel: {
    summary: 'register the TypeScript (tslab) kernel with Jupyter (kernel install)',
    load: () => import('./cli/commands/kernel.js'),
  },
  experiments: {
    summary: "train the depth experiments' runs (chapters 2 and 3) side by side, one per core",
    load: () => import('./cli/commands/experiments.js'),
  },
  parity: {
    summary: 'ResNet-20 trained here and by the PyTorch reference on the same data: results/parity.csv',
    load: () => import('./cli/commands/parity.js'),
  },
  course: {
    summary: 'copy the course notebooks into a folder (default ./residual-course) and open Jupyter',
    load: () => import('./cli/commands/course.js'),
  },
};

/** File-system failures a user can meet (a full disk, a folder without write permission, …). */
const FS_CODES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'is a folder, not a file',
  EMFILE: 'too many open files',
};

/**
 * The one line a failure the user can act on is printed as (exit 2), or undefined for a bug (a
 * stack trace): the library's usage errors, and file-system errors named with their path.
 */
function oneLine(err: unknown): string | undefined {
  if (err instanceof UsageError) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && FS_CODES[e.code] !== undefined) {
    return `${e.path !== undefined ? `${e.path}: ` : ''}${FS_CODES[e.code]} (${e.syscall ?? 'file operation'} failed; files written before are kept)`;
  }
  return undefined;
}

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return ['usage: residual <command> [options]', '', 'commands:', ...rows].join('\n');
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (command === undefined) {
    console.error(`residual: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  try {
    await (await command.load()).main(rest);
    return 0;
  } catch (err) {
    const line = oneLine(err);
    if (line !== undefined) {
      console.error(`residual ${name}: ${line}`);
      return 2;
    }
    throw err;
  }
}

run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
