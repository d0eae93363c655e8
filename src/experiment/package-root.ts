/** The installed package's root folder (configs, package.json), from src/ under tsx or dist/src/ after a build. */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { diffiqaVersion } from '../util/format-version.js';

export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', ...(import.meta.url.includes('/dist/') ? ['..'] : []));

/** The version in the package's package.json (the one every written file records, src/util/format-version.ts). */
export const packageVersion = diffiqaVersion;
