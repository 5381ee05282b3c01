/**
 * `residual data download [--dir data/cifar10] [--from FILE|URL] [--md5 HEX] [--force]`:
 * fetch CIFAR-10 (binary version), check it, and put it in place whole.
 * `residual data info [--dir data/cifar10]`: count the images and show the channel statistics.
 */
import { UsageError } from '../../util/errors';
import { parseFlags } from './args';
import { channelStats, loadCifar10 } from '../../data/cifar10';
import { CIFAR10_DEFAULT_DIR, CIFAR10_URL, downloadCifar10 } from '../../data/download';

const USAGE = `usage: residual data download [--dir DIR] [--from FILE|URL] [--md5 HEX] [--force]
       residual data info [--dir DIR]

  download   fetch CIFAR-10 (binary version, 170 MB) from ${CIFAR10_URL}
             (or --from a mirror URL or a .tar.gz already downloaded), check its md5,
             and extract it into DIR (default ${CIFAR10_DEFAULT_DIR}); nothing partial is left on failure
  info       load DIR and print image counts and per-channel mean/std`;

function parse(argv: string[]) {
  return parseFlags(
    argv,
    {
      dir: { type: 'string', default: CIFAR10_DEFAULT_DIR },
      from: { type: 'string' },
      md5: { type: 'string' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    USAGE,
  );
}

/** Entry point of `residual data`. */
export async function main(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    if (sub === undefined) throw new UsageError(`missing subcommand\n\n${USAGE}`);
    console.log(USAGE);
    return;
  }
  const args = parse(rest);
  if (args.help) {
    console.log(USAGE);
    return;
  }
  if (sub === 'download') {
    if (args.md5 !== undefined && !/^[0-9a-fA-F]{32}$/.test(args.md5)) {
      throw new UsageError(`--md5 must be 32 hexadecimal digits, got '${args.md5}'`);
    }
    // Ctrl-C or a kill (SIGTERM) aborts the download, which removes its temporary folder.
    const controller = new AbortController();
    const onInt = (): void => controller.abort();
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onInt);
    try {
      const r = await downloadCifar10({
        dir: args.dir,
        from: args.from,
        md5: args.md5,
        force: args.force,
        progress: process.stderr,
        signal: controller.signal,
      });
      if (r.alreadyPresent) console.log(`CIFAR-10 is already in ${r.dir} (pass --force to download it again)`);
      else console.log(`CIFAR-10 is in ${r.dir} (${r.files.length} files; archive ${r.bytes} bytes, md5 ${r.md5})`);
    } finally {
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onInt);
    }
    return;
  }
  if (sub === 'info') {
    const data = await loadCifar10(args.dir);
    const s = channelStats(data.train);
    const f = (v: number[]): string => `[${v.map((x) => x.toFixed(4)).join(', ')}]`;
    console.log(`${data.dir}: ${data.train.n} training images, ${data.test.n} test images`);
    console.log(`classes: ${data.classNames.join(', ')}`);
    console.log(`training set per-channel mean ${f(s.mean)}, std ${f(s.std)} (RGB, [0, 1] scale)`);
    return;
  }
  throw new UsageError(`unknown subcommand '${sub}'\n\n${USAGE}`);
}
