#!/usr/bin/env node
/**
 * The `residual` command line. Each subcommand lives in `lib/commands/<name>.ts`
 * and exports `main(argv)`; this file only dispatches and prints errors.
 */
import { UsageError } from './errors';

type Command = { summary: string; load: () => Promise<{ main(argv: string[]): Promise<void> }> };

const commands: Record<string, Command> = {
  train: { summary: 'train a CIFAR net (§4.2 recipe) with checkpoints and --resume', load: () => import('./commands/train.js') },
  evaluate: { summary: 'test accuracy and loss of a saved model or run (--json)', load: () => import('./commands/evaluate.js') },
  bench: { summary: 'training/inference images per second of ResNet-20/56 on each backend (--vs-pytorch)', load: () => import('./commands/bench.js') },
  data: { summary: 'download CIFAR-10 (data download), or describe it (data info)', load: () => import('./commands/data.js') },
  kernel: { summary: 'register the TypeScript (tslab) kernel with Jupyter (kernel install)', load: () => import('./commands/kernel.js') },
  course: { summary: 'copy the course notebooks into a folder (default ./residual-course) and open Jupyter', load: () => import('./commands/course.js') },
};

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
    if (err instanceof UsageError) {
      console.error(`residual ${name}: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
