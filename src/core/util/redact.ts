const SECRET_NAME = /token|secret|password|passwd|api[-_]?key|credential/i;

/** `scheme://user:pass@host` -> `scheme://user:***@host`. */
export function redactUrlCredentials(value: string): string {
  return value.replace(/\/\/([^:/@]*):([^@]*)@/g, '//$1:***@');
}

/**
 * A copy of a config (or any object) safe to log: URLs lose their passwords, anything named like
 * a secret becomes `***`. Used wherever config is printed or logged.
 */
export function redactConfig<T>(value: T): T {
  const walk = (v: unknown, name: string): unknown => {
    if (typeof v === 'string') {
      if (SECRET_NAME.test(name)) return v.length > 0 ? '***' : v;
      return /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? redactUrlCredentials(v) : v;
    }
    if (Array.isArray(v)) return v.map((x) => walk(x, name));
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    }
    return v;
  };
  return walk(value, '') as T;
}
