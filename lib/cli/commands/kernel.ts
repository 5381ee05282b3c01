/**
 * `residual kernel install`: register the tslab kernel with Jupyter for this user (what a clone's
 * `npm install` does; installing the package as a dependency writes nothing in the home folder).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { UsageError } from '../../util/errors';
import { PACKAGE_ROOT } from '../../util/package-root';

const USAGE = `usage: residual kernel install

  install    register the TypeScript (tslab) kernel with Jupyter for this user, so that the
             course's notebooks (and yours) run in Jupyter`;

/** The package's root folder (dist/commands/ → ../..). */

/** Entry point of `residual kernel`. */
export async function main(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    console.log(USAGE);
    return;
  }
  if (sub !== 'install' || rest.length > 0)
    throw new UsageError(`${sub === undefined ? 'missing subcommand' : `unknown arguments '${argv.join(' ')}'`}\n\n${USAGE}`);
  const r = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'scripts', 'kernel.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) throw new UsageError('the kernel was not registered (see the message above)');
}
