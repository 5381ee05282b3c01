// A clone's notebooks import the library by its package name, as a reader's own notebook does:
// node_modules/residual-learning links to the repository. npm removes that link whenever it
// installs or prunes packages (`npm install x` in the clone), so `npm install`, `npm start` and
// `npm run notebooks` each make it again when it is missing. An installed package needs none.
import { lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/** Link `root`/node_modules/residual-learning to `root` unless it exists; true when it made the link. */
export function linkPackage(root) {
  if (root.split(sep).includes('node_modules')) return false;
  const link = join(root, 'node_modules', 'residual-learning');
  try {
    lstatSync(link);
    return false;
  } catch {
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(relative(dirname(link), root) || '.', link, 'junction');
    return true;
  }
}
