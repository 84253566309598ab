import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/index.js';

/** The file in the data directory that keeps the local admin token. */
export const LOCAL_TOKEN_FILE = 'api-token';

/** How a first start opens: the token made (or reused) for this machine, and the config that uses it. */
export interface LocalAccess {
  readonly config: Config;
  /** The admin token, and where it is kept; undefined when SEXTANT_API_TOKENS configures access. */
  readonly local: { readonly token: string; readonly file: string; readonly created: boolean } | undefined;
}

/**
 * A first start that opens: when no API token is configured (SEXTANT_API_TOKENS), the API gets
 * one local admin token, made once and kept in `<SEXTANT_DATA_DIR>/api-token` (readable by the
 * owner only; reused on later starts), and listens on 127.0.0.1 unless API_HOST says otherwise,
 * so the token only opens the dashboard on this machine. With tokens configured nothing changes.
 */
export async function localAccess(config: Config): Promise<LocalAccess> {
  if (config.api.tokens.length > 0) return { config, local: undefined };
  await mkdir(config.dataDir, { recursive: true });
  const file = join(config.dataDir, LOCAL_TOKEN_FILE);
  let token: string | undefined;
  let created = false;
  try {
    token = (await readFile(file, 'utf8')).trim();
    // a token others can read is no secret: it is made owner-only again
    if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`cannot read the local API token ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (!token || !/^[A-Za-z0-9_-]{16,}$/.test(token)) {
    token = randomBytes(24).toString('base64url');
    await writeFile(file, `${token}\n`, { mode: 0o600 });
    await chmod(file, 0o600); // the mode given is only for a file that did not exist
    created = true;
  }
  return {
    config: {
      ...config,
      api: { ...config.api, host: config.api.host ?? '127.0.0.1', tokens: [{ token, role: 'admin' }] },
    },
    local: { token, file, created },
  };
}

/**
 * The dashboard's address. With the local token on a terminal, the token rides in the URL's
 * fragment, which a browser never sends to the server: the page reads it, keeps it, and removes
 * it from the address bar. Not on a terminal (a log collector), the token stays in its file.
 */
export function dashboardLine(config: Config, access: LocalAccess['local'], tty: boolean): string {
  const host =
    !config.api.host || config.api.host === '0.0.0.0' || config.api.host === '::' ? 'localhost' : config.api.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${config.port}/`;
  if (!access) return `Dashboard: ${url} (sign in with a token from SEXTANT_API_TOKENS)`;
  if (tty) return `Dashboard: ${url}#token=${access.token}`;
  return `Dashboard: ${url} (the admin token is in ${access.file})`;
}
